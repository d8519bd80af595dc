#!/usr/bin/env bash
# The OpenSearch test cluster of integrations/opensearch (a 2-node OpenSearch 2.19 cluster on loopback, one JVM,
# assembled from the server modules Maven Central serves).
#   cluster.sh build OUT_DIR                 compile the launcher into OUT_DIR (Maven; its local repository is
#                                            $M2_REPO, default ~/.m2/repository, so a machine downloads once);
#                                            skipped when OUT_DIR/.stamp matches the sources
#   cluster.sh run OUT_DIR DATA_DIR READY [NODES]
#                                            run it in the foreground: READY gets the nodes' HTTP URLs, one per
#                                            line, once the cluster is green; stops on SIGTERM or stdin EOF
# Needs java 17+ and mvn (Debian: openjdk-17-jdk-headless maven; `make integration-deps`).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/integrations/opensearch"
cmd=${1:?usage: cluster.sh build OUT_DIR | run OUT_DIR DATA_DIR READY [NODES]}
out=$(realpath -m "${2:?OUT_DIR}")
for tool in java mvn; do
  command -v "$tool" > /dev/null || { echo "cluster.sh: $tool not found: install openjdk-17-jdk-headless and maven (make integration-deps)" >&2; exit 1; }
done
case "$cmd" in
  build)
    stamp=$(cat "$src/pom.xml" $(find "$src/src" -name '*.java' | sort) | sha256sum | cut -d' ' -f1)
    if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] && [ -f "$out/classpath.txt" ]; then exit 0; fi
    repo=()
    [ -n "${M2_REPO:-}" ] && repo=("-Dmaven.repo.local=$M2_REPO")
    mkdir -p "$out"
    mvn -B -q "${repo[@]}" -f "$src/pom.xml" "-Dlauncher.build=$out" compile
    echo "$stamp" > "$out/.stamp"
    ;;
  run)
    data=$(realpath -m "${3:?DATA_DIR}")
    ready=$(realpath -m "${4:?READY}")
    nodes=${5:-2}
    [ -f "$out/classpath.txt" ] || { echo "cluster.sh: $out is not built (cluster.sh build $out)" >&2; exit 1; }
    mkdir -p "$data"
    exec java -Xms256m -Xmx1g -XX:+UseSerialGC -Dlog4j2.level=warn \
      -cp "$out/classes:$(cat "$out/classpath.txt")" rerank.opensearch.TestCluster \
      --dir "$data" --ready-file "$ready" --nodes "$nodes"
    ;;
  *) echo "cluster.sh: unknown command $cmd" >&2; exit 2 ;;
esac
