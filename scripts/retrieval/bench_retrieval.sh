#!/usr/bin/env bash
# Reproduces the retrieval numbers of issue 4 (dev tool; needs ../shared/data and a venv with pytrec_eval-terrier).
#   scripts/retrieval/bench_retrieval.sh [WORK_DIR]        env: EVAL_PY (python with pytrec_eval), MINILM (model dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/rerank; W=${1:-/tmp/rerank-retrieval}; D=../shared/data; S=$D/scifact
PY=${EVAL_PY:-/work/venv-ir/bin/python}; EV="$PY scripts/retrieval/eval_run.py"
mkdir -p "$W"
echo "== SciFact BM25 (k1 0.9, b 0.4, Lucene norms, top 100)"
rm -rf "$W/scifact"; $B index -c "$W/scifact" $S/corpus.jsonl.gz
$B search -c "$W/scifact" --k 100 --queries $S/queries.jsonl --qrels $S/qrels/test.tsv --run-out "$W/bm25.trec"
$B search -c "$W/scifact" --k 100 --warmup --queries $S/queries.jsonl --qrels $S/qrels/test.tsv --run-out "$W/bm25.trec"
$EV $S/qrels/test.tsv "$W/bm25.trec"
if [ -n "${MINILM:-}" ]; then
  echo "== SciFact dense / hybrid with $MINILM"
  rm -rf "$W/scifact-dense"; $B index -c "$W/scifact-dense" --bi-encoder "$MINILM" $S/corpus.jsonl.gz
  for r in dense hybrid; do
    $B search -c "$W/scifact-dense" --retriever $r --k 100 --queries $S/queries.jsonl --qrels $S/qrels/test.tsv --run-out "$W/$r.trec"
    echo -n "$r: "; $EV $S/qrels/test.tsv "$W/$r.trec"
  done
fi
for c in cranfield:cran.all.1400 cisi:CISI.ALL med:MED.ALL; do
  n=${c%%:*}; f=${c#*:}
  echo "== $n BM25"
  python3 scripts/retrieval/classic_to_beir.py $n $D/$n "$W/$n-q"
  rm -rf "$W/$n"; $B index -c "$W/$n" $D/$n/$f
  $B search -c "$W/$n" --k 1000 --queries "$W/$n-q/queries.jsonl" --run-out "$W/$n.trec"
  $EV "$W/$n-q/qrels.tsv" "$W/$n.trec"
done
