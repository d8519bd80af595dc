#!/bin/bash
# Load test of `rerank serve` /v2/rerank with hey (go install github.com/rakyll/hey@latest), batching on and off.
# usage: bench/server/hey.sh MODEL_DIR [N=2000] [C=32] [extra serve flags...]
# Prints hey's summary per run and the number of forward passes (rerank_batches_total from /metrics).
set -euo pipefail
model=${1:?usage: hey.sh MODEL_DIR [N] [C] [serve flags...]}
n=${2:-2000}
c=${3:-32}
shift $(( $# < 3 ? $# : 3 ))
here=$(cd "$(dirname "$0")/../.." && pwd)
hey=$(command -v hey || echo "$HOME/go/bin/hey")
[ -x "$hey" ] || { echo "hey not found: go install github.com/rakyll/hey@latest" >&2; exit 1; }
port=18080
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/body.json" <<'PY'
import json, sys
words = ("vitamin D receptor signalling regulates calcium absorption and bone mineral density in older adults "
         "with randomized trials reporting mixed effects on fracture risk and muscle strength").split()
docs = [" ".join(words[(i * 7 + j) % len(words)] for j in range(40)) for i in range(10)]
json.dump({"query": "What role does vitamin D play in bone density?", "documents": docs, "top_n": 3},
          open(sys.argv[1], "w"))
PY
for mode in on off; do
  flags=("$@")
  [ "$mode" = off ] && flags+=(--no-batching)
  "$here/build/rerank" serve -m "$model" --port $port --quiet "${flags[@]}" 2>"$work/serve.log" &
  pid=$!
  for _ in $(seq 1 200); do curl -sf localhost:$port/health >/dev/null && break; sleep 0.1; done
  "$hey" -n "$n" -c "$c" -m POST -T application/json -D "$work/body.json" http://127.0.0.1:$port/v2/rerank >"$work/hey.txt"
  passes=$(curl -s localhost:$port/metrics | awk '/^rerank_batches_total/ {print $2}')
  kill -TERM $pid
  wait $pid
  echo "== batching $mode: forward passes $passes"
  grep -E "Requests/sec|50%|99%|\[[0-9]{3}\][[:space:]]+[0-9]+ responses|Error" "$work/hey.txt"
done
