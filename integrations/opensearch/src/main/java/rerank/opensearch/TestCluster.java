// A real multi-node OpenSearch cluster in one JVM, on loopback ports, for rerank's integration tests.
//
//   java -cp CLASSPATH rerank.opensearch.TestCluster --dir DIR [--nodes 2] [--ready-file FILE]
//
// Each node is an org.opensearch.node.Node with the modules a search needs as classpath plugins (Netty4 HTTP and
// transport, analysis-common for the English analyzer chain, lang-painless for the exact-vector script_score). The
// nodes discover each other over their transport ports (node-1 bootstraps the cluster), every node serves HTTP.
// When the cluster is green with all nodes joined, the launcher writes the HTTP URLs, one per line, to the ready
// file (written to FILE.tmp, then renamed) and prints "READY url1 url2 ..." on stdout. It stops (closing every node,
// data left in DIR) on SIGTERM/SIGINT or when its standard input reaches end of file, so a test script that dies
// takes the cluster with it.
package rerank.opensearch;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.opensearch.action.admin.cluster.health.ClusterHealthResponse;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.cluster.health.ClusterHealthStatus;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class TestCluster {
    /** A Node with classpath plugins (what the distribution loads from modules/). */
    static final class ClasspathNode extends Node {
        ClasspathNode(Settings settings, Collection<Class<? extends Plugin>> plugins) {
            super(InternalSettingsPreparer.prepareEnvironment(settings, Collections.emptyMap(), null, () -> settings.get("node.name")),
                plugins, true);
        }

        @Override
        protected void configureNodeAndClusterIdStateListener(ClusterService clusterService) {
            // process-wide (a SetOnce for the log pattern): the second node of this JVM must not set it again
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void usage(String why) {
        System.err.println("TestCluster: " + why);
        System.err.println("usage: TestCluster --dir DIR [--nodes N] [--ready-file FILE] [--timeout SECONDS]");
        System.exit(2);
    }

    public static void main(String[] args) throws Exception {
        Path dir = null, ready = null;
        int nodes = 2;
        long timeout = 120;
        for (int i = 0; i < args.length; ++i) {
            String a = args[i];
            if (i + 1 >= args.length) usage("missing value after " + a);
            switch (a) {
                case "--dir": dir = Paths.get(args[++i]).toAbsolutePath(); break;
                case "--nodes": nodes = Integer.parseInt(args[++i]); break;
                case "--ready-file": ready = Paths.get(args[++i]).toAbsolutePath(); break;
                case "--timeout": timeout = Long.parseLong(args[++i]); break;
                default: usage("unknown argument " + a);
            }
        }
        if (dir == null) usage("--dir is required");
        if (nodes < 1 || nodes > 9) usage("--nodes must be 1..9");
        System.setProperty("opensearch.set.netty.runtime.available.processors", "false");

        int[] http = new int[nodes], transport = new int[nodes];
        for (int i = 0; i < nodes; ++i) {
            http[i] = freePort();
            transport[i] = freePort();
        }
        List<String> seeds = new ArrayList<>();
        for (int i = 0; i < nodes; ++i) seeds.add("127.0.0.1:" + transport[i]);
        List<Class<? extends Plugin>> plugins = List.of(Netty4Plugin.class, CommonAnalysisPlugin.class,
            PainlessPlugin.class);

        List<Node> started = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch stop = new CountDownLatch(1);
        Thread closer = new Thread(() -> closeAll(started), "test-cluster-shutdown");
        Runtime.getRuntime().addShutdownHook(closer);

        for (int i = 0; i < nodes; ++i) {
            String name = "node-" + (i + 1);
            Path home = dir.resolve(name);
            Files.createDirectories(home);
            Settings s = Settings.builder()
                .put("cluster.name", "rerank-test")
                .put("node.name", name)
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("network.host", "127.0.0.1")
                .put("http.port", http[i])
                .put("transport.port", transport[i])
                .put("http.type", "netty4")
                .put("transport.type", "netty4")
                .putList("discovery.seed_hosts", seeds)
                .putList("cluster.initial_cluster_manager_nodes", "node-1")
                .put("node.processors", 1)
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .put("action.auto_create_index", false)
                .build();
            Node node = new ClasspathNode(s, plugins);
            started.add(node);
            node.start();
        }
        ClusterHealthResponse health = started.get(0).client().admin().cluster().prepareHealth()
            .setWaitForNodes(Integer.toString(nodes)).setWaitForGreenStatus()
            .setTimeout(TimeValue.timeValueSeconds(timeout)).get();
        if (health.isTimedOut() || health.getStatus() != ClusterHealthStatus.GREEN || health.getNumberOfNodes() != nodes) {
            System.err.println("TestCluster: not green with " + nodes + " nodes after " + timeout + " s: " + health);
            System.exit(1);
        }
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < nodes; ++i) urls.add("http://127.0.0.1:" + http[i]);
        if (ready != null) {
            Path tmp = ready.resolveSibling(ready.getFileName() + ".tmp");
            Files.write(tmp, urls);
            Files.move(tmp, ready, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        System.out.println("READY " + String.join(" ", urls));
        System.out.flush();

        Thread stdin = new Thread(() -> {
            try {
                InputStream in = System.in;
                byte[] buf = new byte[256];
                while (in.read(buf) >= 0) { }
            } catch (IOException e) {
                // closed: same as end of file
            }
            stop.countDown();
        }, "test-cluster-stdin");
        stdin.setDaemon(true);
        stdin.start();
        stop.await();
        System.exit(0);  // the shutdown hook closes the nodes
    }

    static void closeAll(List<Node> nodes) {
        List<Node> copy;
        synchronized (nodes) {
            copy = new ArrayList<>(nodes);
            nodes.clear();
        }
        Collections.reverse(copy);
        for (Node n : copy) {
            try {
                n.close();
            } catch (Exception e) {
                System.err.println("TestCluster: closing a node: " + e);
            }
        }
        System.err.println("TestCluster: stopped " + copy.size() + " nodes");
    }
}
