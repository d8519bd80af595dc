# Sourced by the server test scripts: start_serve LOG CLI ARGS... runs `CLI serve ARGS... --host 127.0.0.1 --port 0
# --quiet --drain-seconds 0` in the background, sets $serve_pid and $port once it listens, and stops it on exit
# (stop_serve: SIGTERM, no drain period).
start_serve() {
  local log=$1 cli=$2
  shift 2
  "$cli" serve "$@" --host 127.0.0.1 --port 0 --quiet --drain-seconds 0 2>"$log" &
  serve_pid=$!
  port=
  for _ in $(seq 1 600); do  # up to 60 s (a sanitizer build starts slowly)
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && return 0
    if ! kill -0 "$serve_pid" 2>/dev/null; then echo "FAIL: rerank serve exited:"; cat "$log"; exit 1; fi
    sleep 0.1
  done
  echo "FAIL: rerank serve did not start:"; cat "$log"; exit 1
}
stop_serve() {
  [ -n "${serve_pid:-}" ] || return 0
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
}
