#!/usr/bin/env bash
# A ctest test (tests/CMakeLists.txt: readme_curl): runs every `curl` of the README's "HTTP server" example, as
# written there, against `rerank serve` with the fixture models standing in for the README's models (copied under
# the README's names, so each request's "model" field resolves) and a collection of tests/data/retrieval.
# Each call must answer 200 with a body (JSON for every route but /metrics and /health).
#
#   scripts/server/readme_curl.sh build/rerank
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 RERANK_CLI" >&2; exit 2; }
cli=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
models=$root/tests/data/encoders/models
work=$(mktemp -d)
. "$root/scripts/server/serve_lib.sh"
trap 'stop_serve; rm -rf "$work"' EXIT

# The README's code block of the "## HTTP server" section, from the line that sets A= to the closing fence.
block=$(awk '/^## HTTP server/ {s=1} s && /^```sh/ {b=1; next} b && /^```/ {exit} b' "$root/README.md" | sed -n '/^A=/,$p')
[ -n "$block" ] || { echo "FAIL: no HTTP server example found in README.md"; exit 1; }

cp -r "$models/ce-tiny" "$work/ms-marco-MiniLM-L-6-v2"
cp -r "$models/bi-tiny-mean" "$work/all-MiniLM-L6-v2"
"$cli" index --collection "$work/my-coll" --bi-encoder "$work/all-MiniLM-L6-v2" "$root/tests/data/retrieval/corpus.jsonl" >/dev/null
start_serve "$work/serve.log" "$cli" -m "$work/ms-marco-MiniLM-L-6-v2" -m "$work/all-MiniLM-L6-v2" \
  --collection "$work/my-coll" --threads 1 --api-key KEY

calls=0 fails=0
curl() {  # the README's curl, with the status and the body checked
  local out code body url=
  for a in "$@"; do [[ $a == localhost:* ]] && url=$a; done
  out=$(command curl --max-time 60 -w '\n%{http_code}' "$@") || { echo "FAIL: curl $url: transport error"; fails=$((fails + 1)); return 0; }
  code=${out##*$'\n'} body=${out%$'\n'*}
  calls=$((calls + 1))
  if [ "$code" != 200 ]; then
    echo "FAIL: $url -> HTTP $code: $body"; fails=$((fails + 1)); return 0
  fi
  case $url in
    */metrics) grep -q '^rerank_http_requests_total' <<<"$body" || { echo "FAIL: $url: no rerank_http_requests_total"; fails=$((fails + 1)); return 0; } ;;
    */health) ;;
    *) python3 -c 'import json,sys; v=json.loads(sys.stdin.read()); assert v not in ({}, [], None)' <<<"$body" ||
         { echo "FAIL: $url: not a JSON answer: $body"; fails=$((fails + 1)); return 0; } ;;
  esac
  echo "ok: $url (${#body} bytes)"
}
eval "${block//localhost:8080/localhost:$port}"
echo "$calls calls, $fails failed"
[ "$calls" -ge 12 ] || { echo "FAIL: expected at least 12 curl calls in the README example"; exit 1; }
[ "$fails" -eq 0 ]
