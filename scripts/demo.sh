#!/usr/bin/env bash
# The seed's example end to end: "How do I reset my password?" over its seven-document corpus, reranked by a
# cross-encoder, top 3 printed. Model: $RERANK_MODEL or --model DIR_OR_HUB_ID; otherwise the real
# cross-encoder/ms-marco-MiniLM-L-6-v2 from the Hugging Face Hub (cached after the first run, see README "Models
# from the Hub"). Only when the Hub cannot be reached (or HF_HUB_OFFLINE=1) and the cache lacks it does it fall
# back to the repository's tiny random-weight model, and says so in one line above the ranking.
# $RERANK_CLI overrides the binary (default build/rerank; the tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."
model="${RERANK_MODEL:-}"
while [ $# -gt 0 ]; do case "$1" in
  --model) model=$2; shift 2;;
  *) echo "usage: scripts/demo.sh [--model DIR_OR_HUB_ID]" >&2; exit 2;; esac; done
cli="${RERANK_CLI:-build/rerank}"
ask=(--query "How do I reset my password?" --top-k 3 examples/seed-corpus.txt)
if [ -n "$model" ]; then
  exec "$cli" rank --model "$model" "${ask[@]}"
fi
exec "$cli" rank --model cross-encoder/ms-marco-MiniLM-L-6-v2 \
  --fallback-model tests/data/encoders/models/ce-tiny \
  --fallback-note "It has RANDOM weights: the order below is meaningless. For a real ranking point the demo at a local model: RERANK_MODEL=DIR make demo (or scripts/demo.sh --model DIR)." \
  "${ask[@]}"
