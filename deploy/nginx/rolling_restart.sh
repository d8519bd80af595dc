#!/usr/bin/env bash
# Rolling restart of two `rerank serve` replicas behind Debian's nginx under load, with deploy/nginx/rerank.conf as
# written (only its three loopback ports changed): `hey` posts /v2/rerank through nginx for DURATION seconds while
# each replica in turn gets SIGTERM (it drains for 1 s with /ready at 503, then stops), exits 0 and is started
# again. Passes when every request answered 200 (no transport error, no other status) and both replicas served.
# Prints hey's figures and what nginx did (requests per replica, requests retried on the other one).
#
#   deploy/nginx/rolling_restart.sh build/rerank [DURATION=14]      (ctest: nginx_rolling_restart)
#
# Needs nginx and hey (Debian packages nginx, hey: `make deps`); installs nothing. nginx runs as the current user
# with everything (config, pid, logs, temp files) in a temporary directory: no root path is written.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 RERANK_CLI [DURATION_SECONDS]" >&2; exit 2; }
cli=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
duration=${2:-14}
root=$(cd "$(dirname "$0")/../.." && pwd)
model=$root/tests/data/encoders/models/ce-tiny
fail() { echo "FAIL: $*"; exit 1; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
hey=$(command -v hey || echo /usr/bin/hey)
[ -x "$nginx" ] || fail "nginx not found (Debian package nginx; \`make deps\` installs it)"
[ -x "$hey" ] || fail "hey not found (Debian package hey; \`make deps\` installs it)"
[ -x "$cli" ] || fail "no rerank CLI at $1"

work=$(mktemp -d)
chmod 755 "$work"  # nginx workers (another user when nginx runs as root) reach the temp directories below
declare -A rpid=()
nginx_pid= hey_pid=
cleanup() {
  [ -n "$hey_pid" ] && kill "$hey_pid" 2>/dev/null || true
  for i in "${!rpid[@]}"; do kill -INT "${rpid[$i]}" 2>/dev/null || true; wait "${rpid[$i]}" 2>/dev/null || true; done
  if [ -n "$nginx_pid" ]; then kill -QUIT "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Three free loopback ports: nginx, replica 1, replica 2.
read -r p_lb p1 p2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
port_of() { [ "$1" = 1 ] && echo "$p1" || echo "$p2"; }

start_replica() {  # start_replica N
  "$cli" serve -m "$model" --host 127.0.0.1 --port "$(port_of "$1")" --threads 1 --drain-seconds 1 --quiet \
    2>>"$work/replica$1.log" &
  rpid[$1]=$!
}
wait_ready() {  # wait_ready PORT PID: until GET /ready answers 200 (30 s at most)
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ready")" = 200 ] && return 0
    kill -0 "$2" 2>/dev/null || { cat "$work"/replica*.log; fail "the process on port $1 exited"; }
    sleep 0.05
  done
  fail "port $1: /ready did not answer 200 within 30 s"
}

start_replica 1
start_replica 2
wait_ready "$p1" "${rpid[1]}"
wait_ready "$p2" "${rpid[2]}"

# nginx: the recipe with this run's ports, inside a top-level config whose every path is in $work.
sed -e "s/127\.0\.0\.1:8081 /127.0.0.1:$p1 /" -e "s/127\.0\.0\.1:8082 /127.0.0.1:$p2 /" \
    -e "s/listen 127\.0\.0\.1:8080;/listen 127.0.0.1:$p_lb;/" "$root/deploy/nginx/rerank.conf" >"$work/rerank.conf"
for p in "$p1 " "$p2 " "$p_lb;"; do grep -q "127.0.0.1:$p" "$work/rerank.conf" || fail "deploy/nginx/rerank.conf: port not replaced ($p)"; done
mkdir -p "$work/tmp"
user_line=
[ "$(id -u)" = 0 ] && user_line="user root;"  # workers as the current user (nginx would switch root to nobody)
cat >"$work/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 512; }
http {
    log_format upstreams '\$status|\$upstream_status|\$upstream_addr';
    access_log $work/access.log upstreams;
    client_body_temp_path $work/tmp/client_body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    include $work/rerank.conf;
}
EOF
"$nginx" -p "$work" -c "$work/nginx.conf" -e "$work/error.log" -t 2>"$work/nginx-t.log" ||
  { cat "$work/nginx-t.log"; fail "nginx -t rejected the configuration"; }
"$nginx" -p "$work" -c "$work/nginx.conf" -e "$work/error.log" &
nginx_pid=$!
wait_ready "$p_lb" "$nginx_pid"
echo "nginx $("$nginx" -v 2>&1 | sed 's|.*/||') on 127.0.0.1:$p_lb -> replicas on $p1, $p2"

python3 - "$work/body.json" <<'PY'
import json, sys
docs = ["Click 'Forgot password' on the sign-in page and follow the link we e-mail you.",
        "Our office is open from 9 to 5 on weekdays.",
        "Passwords must have at least twelve characters.",
        "To change your e-mail address, open Settings and then Account.",
        "Reset links expire after 24 hours; ask for a new one if yours did.",
        "The cafeteria serves lunch from noon."]
json.dump({"query": "How do I reset my password?", "documents": docs, "top_n": 3}, open(sys.argv[1], "w"))
PY

"$hey" -z "${duration}s" -c 8 -m POST -T application/json -D "$work/body.json" "http://127.0.0.1:$p_lb/v2/rerank" \
  >"$work/hey.txt" 2>&1 &
hey_pid=$!
t_start=$(date +%s.%N)
restart() {  # restart N: SIGTERM, wait for exit 0, start again, wait until ready
  local n=$1 t0 rc=0
  t0=$(date +%s.%N)
  kill -TERM "${rpid[$n]}"
  wait "${rpid[$n]}" || rc=$?
  [ "$rc" = 0 ] || { cat "$work/replica$n.log"; fail "replica $n exited with status $rc after SIGTERM"; }
  local t1; t1=$(date +%s.%N)
  start_replica "$n"
  wait_ready "$(port_of "$n")" "${rpid[$n]}"
  awk -v n="$n" -v s="$t_start" -v a="$t0" -v b="$t1" -v c="$(date +%s.%N)" 'BEGIN {
    printf "replica %s: SIGTERM at %.1f s, exited 0 after %.2f s (drain 1 s), ready again %.2f s later\n", n, a - s, b - a, c - b }'
}
sleep 2
restart 1
sleep 2
restart 2
kill -0 "$hey_pid" 2>/dev/null || fail "hey ended before both restarts were done: raise DURATION ($duration s)"
hey_rc=0
wait "$hey_pid" || hey_rc=$?
hey_pid=
[ "$hey_rc" = 0 ] || { cat "$work/hey.txt"; fail "hey exited with status $hey_rc"; }

echo "== hey through nginx, ${duration} s, 8 workers, two rolling restarts:"
grep -E "Total:|Slowest:|Fastest:|Average:|Requests/sec:|  (50|95|99)% in" "$work/hey.txt" | sed 's/^ */  /'
sed -n '/^Status code distribution:/,$p' "$work/hey.txt"
total=$(awk '/responses$/ {n += $2} END {print n + 0}' "$work/hey.txt")
ok=$(awk '$1 == "[200]" {print $2}' "$work/hey.txt")
ok=${ok:-0}
errors=$(awk '/^Error distribution:/ {e = 1; next} e && /^ *\[[0-9]+\]/ {gsub(/[][]/, "", $1); n += $1} END {print n + 0}' "$work/hey.txt")
failed=$((total - ok + errors))

# What nginx did: the replica that answered (the last address tried) and the requests retried on another one.
kill -QUIT "$nginx_pid"; wait "$nginx_pid" || true; nginx_pid=
served_by() { awk -F'|' -v a="127.0.0.1:$1" '{n = split($3, t, /, /); if (t[n] == a) c++} END {print c + 0}' "$work/access.log"; }
served1=$(served_by "$p1")
served2=$(served_by "$p2")
retried=$(awk -F'|' 'index($3, ",") {c++} END {print c + 0}' "$work/access.log")
echo "== nginx: $served1 requests answered by replica 1, $served2 by replica 2, $retried retried on the other replica"
echo "== $total requests, $failed failed (non-200 or transport errors)"
[ "$total" -ge 100 ] || fail "only $total requests in ${duration} s"
[ "$failed" = 0 ] || { cat "$work/error.log"; fail "$failed requests failed during the rolling restart"; }
[ "$served1" -gt 0 ] && [ "$served2" -gt 0 ] || fail "a replica served nothing (replica 1: $served1, replica 2: $served2)"
echo "PASS"
