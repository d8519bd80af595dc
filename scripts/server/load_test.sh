#!/usr/bin/env bash
# Load test of `rerank serve` on loopback with hey (Debian package `hey`): /v2/rerank with batching on and off,
# then an overload run against a tiny queue, which must answer 429 (never time out). Development tool.
#
#   scripts/server/load_test.sh MODEL_DIR [N=2000] [C=32] [THREADS=0]
# Prints hey's summary per run (requests/s, latency percentiles, status codes, errors).
set -euo pipefail
MODEL=${1:?usage: load_test.sh MODEL_DIR [N] [C] [THREADS]}
N=${2:-2000}
C=${3:-32}
THREADS=${4:-0}
BIN=${RERANK_BIN:-build/rerank}
BODY=$(mktemp)
trap 'rm -f "$BODY"; [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true' EXIT
cat > "$BODY" <<'JSON'
{"query": "How do I reset my password?", "top_n": 3, "documents": [
 "Click 'Forgot password' on the sign-in page and follow the link we e-mail you.",
 "Our office is open from nine to five on weekdays, except on public holidays.",
 "To change your password, open Settings, then Security, and choose a new one.",
 "The cafeteria serves lunch at noon and dinner at six in the main building.",
 "Password reset links expire after 24 hours; request a new one if yours has.",
 "Contact support by phone or chat if you cannot sign in to your account.",
 "We moved to a new building in 2019 and the old address no longer receives mail.",
 "Two-factor authentication codes are sent by text message or an authenticator app."]}
JSON

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() {  # label, extra serve flags, hey args
  local label=$1 flags=$2; shift 2
  local port; port=$(free_port)
  "$BIN" serve -m "$MODEL" --port "$port" --threads "$THREADS" --quiet $flags 2>/tmp/rerank-load-serve.log &
  PID=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
  echo "== $label (serve $flags; hey $*)"
  hey "$@" -m POST -T application/json -D "$BODY" "http://127.0.0.1:$port/v2/rerank" \
    | grep -E "Requests/sec|Total:|Slowest|Fastest|Average|  (50|90|99)% in|\[[0-9]{3}\]|Error|error" || true
  curl -s "http://127.0.0.1:$port/metrics" | grep -E "^rerank_(batches_total|merged_batches_total|batch_requests_(sum|count))" || true
  kill -TERM "$PID"; wait "$PID" || echo "serve exited with $?"
  PID=
}

run "batching on" "" -n "$N" -c "$C" -t 60
run "batching off" "--no-batching" -n "$N" -c "$C" -t 60
run "overload: --max-queue 4, 4x the connections" "--max-queue 4" -n "$N" -c $((C * 4)) -t 60
