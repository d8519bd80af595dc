#!/usr/bin/env bash
# A measurement, not a test: SciFact test BM25 nDCG@10 through OpenSearch (the 2-node test cluster, 2 shards x 1
# replica, rerank index --to opensearch) and through our own collection (chunked as usual, and --no-chunking,
# which indexes exactly what OpenSearch indexes). Both are Lucene-style BM25 k1 0.9 b 0.4.
#   scifact_compare.sh RERANK_CLI LAUNCHER_DIR SCIFACT_DIR      (SCIFACT_DIR: corpus.jsonl.gz, queries.jsonl, qrels/test.tsv)
set -euo pipefail
cli=$(realpath "$1")
launcher=$(realpath -m "$2")
sf=$(realpath "$3")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/rerank-os-scifact.XXXXXX)
fail() { echo "scifact_compare: FAILED: $*" >&2; exit 1; }
# shellcheck source=lib.sh
source "$root/scripts/opensearch/lib.sh"
trap 'stop_cluster 5 || true; rm -rf "$work"' EXIT
start_cluster "$launcher" "$work" 2
t=$SECONDS
"$cli" index --to opensearch --opensearch "${urls[0]}" --index scifact --shards 2 --replicas 1 --batch-size 500 "$sf/corpus.jsonl.gz"
echo "OpenSearch load: $((SECONDS - t)) s"
ev=(--queries "$sf/queries.jsonl" --qrels "$sf/qrels/test.tsv" --k 100 --metrics ndcg@10,recall@100)
echo "== OpenSearch (through node 2)"
"$cli" eval --opensearch "${urls[1]}" --index scifact "${ev[@]}"
"$cli" index -c "$work/coll" "$sf/corpus.jsonl.gz" > /dev/null
"$cli" index -c "$work/coll-whole" --no-chunking "$sf/corpus.jsonl.gz" > /dev/null
echo "== our collection (default chunking)"
"$cli" eval -c "$work/coll" "${ev[@]}"
echo "== our collection (--no-chunking)"
"$cli" eval -c "$work/coll-whole" "${ev[@]}"
