#!/usr/bin/env bash
# A ctest test (tests/CMakeLists.txt: sdk_python, sdk_node): starts `rerank serve` with the fixture models on a
# free port and runs one of the official-SDK checks against it; fails when any check fails.
#
#   scripts/server/sdk_test.sh build/rerank build/sdk python    # cohere, langchain-cohere, openai (Python)
#   scripts/server/sdk_test.sh build/rerank build/sdk node      # cohere-ai, openai (npm)
#
# The SDKs come from `make sdk-deps` (a prerequisite of `make test`): build/sdk/venv and build/sdk/node.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 RERANK_CLI SDK_DIR python|node" >&2; exit 2; }
cli=$1 sdk=$2 kind=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
models=$root/tests/data/encoders/models
key=sdk-test-key

case $kind in
  python)
    py=$sdk/venv/bin/python
    [ -x "$py" ] || { echo "FAIL: $py not found: run 'make sdk-deps' (make test does) first"; exit 1; } ;;
  node)
    command -v node >/dev/null || { echo "FAIL: node is not installed: run 'make deps'"; exit 1; }
    [ -d "$sdk/node/node_modules/cohere-ai" ] && [ -d "$sdk/node/node_modules/openai" ] ||
      { echo "FAIL: $sdk/node has no cohere-ai/openai packages: run 'make sdk-deps' (make test does) first"; exit 1; } ;;
  *) echo "usage: $0 RERANK_CLI SDK_DIR python|node" >&2; exit 2 ;;
esac

log=$(mktemp)
. "$root/scripts/server/serve_lib.sh"
trap 'stop_serve; rm -f "$log"' EXIT
start_serve "$log" "$cli" -m "$models/ce-tiny" -m "$models/bi-tiny-mean" --threads 1 --api-key "$key"
base=http://127.0.0.1:$port
echo "rerank serve at $base ($kind SDKs)"

if [ "$kind" = python ]; then
  "$py" "$root/scripts/server/sdk_check.py" --base-url "$base" --api-key "$key" --reranker ce-tiny --embedder bi-tiny-mean
else
  SDK_DIR="$sdk/node" node "$root/scripts/server/sdk_check.mjs" "$base" "$key" ce-tiny bi-tiny-mean
fi
