#!/usr/bin/env bash
# The seed's example end to end: "How do I reset my password?" over its seven-document corpus, reranked by a
# cross-encoder, top 3 printed. Model: $RERANK_MODEL or --model DIR; otherwise the repository's tiny
# random-weight model (the order is then meaningless).
set -euo pipefail
cd "$(dirname "$0")/.."
model="${RERANK_MODEL:-}"
while [ $# -gt 0 ]; do case "$1" in
  --model) model=$2; shift 2;;
  *) echo "usage: scripts/demo.sh [--model DIR]" >&2; exit 2;; esac; done
if [ -z "$model" ]; then
  model=tests/data/encoders/models/ce-tiny
  cat <<'MSG'
NOTE: no model given, so this demo uses the repository's tiny RANDOM-WEIGHT cross-encoder
      (tests/data/encoders/models/ce-tiny). The pipeline is real; the order below is meaningless.
      For a real ranking, point it at a Hugging Face cross-encoder directory, e.g. a local copy of
      cross-encoder/ms-marco-MiniLM-L-6-v2:   RERANK_MODEL=/path/to/ms-marco-MiniLM-L-6-v2 make demo
      (or: scripts/demo.sh --model DIR).

MSG
fi
build/rerank rank --model "$model" --query "How do I reset my password?" --top-k 3 examples/seed-corpus.txt
