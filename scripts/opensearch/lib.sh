# Sourced by the OpenSearch test scripts: start_cluster / stop_cluster around scripts/opensearch/cluster.sh.
#   start_cluster LAUNCHER_DIR WORK_DIR [NODES=2]   builds the launcher if needed, starts the cluster with its
#                                                   stdin on fd 3 of the caller (the caller dying = EOF = stop),
#                                                   waits for green ($RERANK_OPENSEARCH_START_SECONDS, 180 s;
#                                                   more on a loaded machine); sets cluster_pid and the array urls
#   stop_cluster                                    EOF on its stdin, then SIGTERM/SIGKILL if it lingers
# The caller defines fail() and should `trap stop_cluster EXIT`.
cluster_pid=
urls=()
_os_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

start_cluster() {
  local launcher=$1 work=$2 nodes=${3:-2}
  bash "$_os_root/scripts/opensearch/cluster.sh" build "$launcher" || fail "building the cluster launcher"
  rm -f "$work/ready"
  exec 3> >(exec bash "$_os_root/scripts/opensearch/cluster.sh" run "$launcher" "$work/cluster" "$work/ready" "$nodes" > "$work/cluster.log" 2>&1)
  cluster_pid=$!
  local limit=${RERANK_OPENSEARCH_START_SECONDS:-180} t0=$SECONDS
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    [ -f "$work/ready" ] && break
    kill -0 "$cluster_pid" 2>/dev/null || { tail -n 40 "$work/cluster.log" >&2; fail "the cluster exited before it was ready"; }
    sleep 0.2
  done
  [ -f "$work/ready" ] || { tail -n 40 "$work/cluster.log" >&2; fail "the cluster was not green within $limit s (RERANK_OPENSEARCH_START_SECONDS)"; }
  mapfile -t urls < "$work/ready"
  [ "${#urls[@]}" = "$nodes" ] || fail "expected $nodes node URLs, got ${#urls[@]}"
}

# stop_cluster [GRACE_SECONDS=30]: returns 1 when the cluster needed SIGTERM (did not stop on stdin EOF)
stop_cluster() {
  local grace=${1:-30} rc=0
  exec 3>&- 2>/dev/null || true
  [ -n "$cluster_pid" ] || return 0
  for _ in $(seq 1 $((grace * 5))); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$cluster_pid" 2>/dev/null; then
    rc=1
    kill -TERM "$cluster_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$cluster_pid" 2>/dev/null || true
  fi
  cluster_pid=
  return $rc
}
