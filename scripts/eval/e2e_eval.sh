#!/usr/bin/env bash
# Reproduces the end-to-end evaluation numbers of issue 5 (dev tool; needs ../shared/data and chromium).
#   scripts/eval/e2e_eval.sh [WORK_DIR]     env: RERANKER (default: the random-weight fixture ce-tiny), THREADS (1)
# SciFact: BM25 k=100 + reranker, report; Cranfield: the same; SciFact sweep k=10,20,50,100 x top-n=3,5,10 with
# its report rendered to PNG by headless chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/rerank; W=${1:-/tmp/rerank-e2e}; D=../shared/data; S=$D/scifact; C=$D/cranfield
R=${RERANKER:-tests/data/encoders/models/ce-tiny}; T=${THREADS:-1}
mkdir -p "$W"
[ -d "$W/scifact" ] || $B index -c "$W/scifact" $S/corpus.jsonl.gz
[ -d "$W/cranfield" ] || $B index -c "$W/cranfield" $C/cran.all.1400
echo "== SciFact test: BM25 k=100 + $(basename "$R")"
$B eval --collection "$W/scifact" --queries $S/queries.jsonl --qrels $S/qrels/test.tsv --k 100 --reranker "$R" --threads "$T" \
  --warmup --report "$W/report-scifact" --runs-out "$W/runs-scifact"
echo "== Cranfield: BM25 k=100 + $(basename "$R")"
$B eval --collection "$W/cranfield" --queries $C/cran.qry --qrels $C/cranqrel --k 100 --reranker "$R" --threads "$T" \
  --warmup --report "$W/report-cranfield"
echo "== SciFact sweep"
$B eval --collection "$W/scifact" --queries $S/queries.jsonl --qrels $S/qrels/test.tsv --reranker "$R" --threads "$T" \
  --sweep k=10,20,50,100 top-n=3,5,10 --metrics ndcg@10,recall@10,mrr@10 --warmup --report "$W/report-sweep"
for r in scifact cranfield sweep; do
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1300,5200 \
    --screenshot="$W/report-$r.png" "file://$(realpath "$W/report-$r/report.html")" 2>/dev/null
done
echo "reports: $W/report-{scifact,cranfield,sweep}/report.html, screenshots $W/report-*.png"
