#!/usr/bin/env bash
# A measurement, not a test: SciFact test BM25 nDCG@10 / recall@100 through OpenSearch (the 2-node test cluster,
# 2 shards x 1 replica, rerank index --to opensearch) and through our own collection (chunked as usual, and
# --no-chunking, which indexes exactly what OpenSearch indexes), then the per-query agreement of the runs.
# Our index mapping (rerank/opensearch.hpp) already uses Lucene's EnglishAnalyzer chain and BM25 k1 0.9 b 0.4;
# for contrast the same documents are loaded into an index created beforehand with other settings:
#   scifact-default: OpenSearch's defaults (the `standard` analyzer: no stemming, no stop words; BM25 k1 1.2 b 0.75)
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
echo "cluster: $(curl -sf "${urls[0]}" | python3 -c 'import json,sys; v=json.load(sys.stdin)["version"]; print("OpenSearch", v["number"], "Lucene", v["lucene_version"])')"
t=$SECONDS
"$cli" index --to opensearch --opensearch "${urls[0]}" --index scifact --shards 2 --replicas 1 --batch-size 500 --opensearch-timeout 120 "$sf/corpus.jsonl.gz"
echo "OpenSearch load: $((SECONDS - t)) s"
curl -sf "${urls[0]}/scifact/_settings?filter_path=*.settings.index.analysis,*.settings.index.similarity"; echo

# variant INDEX ANALYZER SIMILARITY_JSON K1: the scifact documents re-indexed with another analyzer / BM25
variant() {
  local name=$1 analyzer=$2 sim=$3 k1=$4 body
  body=$(python3 - "$analyzer" "$sim" "$k1" <<'PY'
import json, sys
analyzer, sim, k1 = sys.argv[1], json.loads(sys.argv[2] or "null"), float(sys.argv[3])
content = {"type": "text", "analyzer": analyzer}
settings = {"number_of_shards": 2, "number_of_replicas": 1}
if sim:
    settings["similarity"] = {"v": sim}
    content["similarity"] = "v"
print(json.dumps({"settings": {"index": settings}, "mappings": {
    "_meta": {"created_by": "rerank", "k1": k1}, "_source": {"excludes": ["content"]},
    "properties": {"content": content, "title": {"type": "text", "index": False}, "text": {"type": "text", "index": False},
                   "metadata": {"type": "object", "enabled": False}}}}))
PY
)
  curl -sf -XPUT "${urls[0]}/$name" -H 'Content-Type: application/json' -d "$body" > /dev/null || fail "creating $name"
  # the same documents through the same loader (it keeps an existing index's mapping; content = "title text")
  "$cli" index --to opensearch --opensearch "${urls[0]}" --index "$name" --batch-size 1000 --opensearch-timeout 120 \
    "$sf/corpus.jsonl.gz" > /dev/null || fail "loading $name"
}
variant scifact-default standard '' 1.2

ev=(--queries "$sf/queries.jsonl" --qrels "$sf/qrels/test.tsv" --k 100 --metrics ndcg@10,recall@100)
metrics() { grep -E "^(ndcg@10|recall@100) "; }
for ix in scifact scifact-default; do
  echo "== OpenSearch index $ix (through node 2)"
  "$cli" eval --opensearch "${urls[1]}" --index "$ix" --opensearch-timeout 120 "${ev[@]}" --runs-out "$work/runs-$ix" | metrics
done
"$cli" index -c "$work/coll" "$sf/corpus.jsonl.gz" > /dev/null
"$cli" index -c "$work/coll-whole" --no-chunking "$sf/corpus.jsonl.gz" > /dev/null
echo "== our collection (default chunking)"
"$cli" eval --collection "$work/coll" "${ev[@]}" --runs-out "$work/runs-coll" | metrics
echo "== our collection (--no-chunking)"
"$cli" eval --collection "$work/coll-whole" "${ev[@]}" --runs-out "$work/runs-whole" | metrics

# per query: same top-10 ids in the same order, and the largest score difference over the top 100 (OpenSearch
# scores are divided by k1 + 1 by our first stage, so equal BM25 means equal scores)
python3 - "$work" <<'PY'
import glob, sys
w = sys.argv[1]
def run(d):
    (f,) = glob.glob(f"{w}/{d}/*")
    r = {}
    for line in open(f):
        q, _, doc, rank, score, _ = line.split()
        r.setdefault(q, []).append((int(rank), doc, float(score)))
    return {q: sorted(v) for q, v in r.items()}
ours, os_ = run("runs-whole"), run("runs-scifact")
same10 = sum(1 for q in ours if [d for _, d, _ in ours[q][:10]] == [d for _, d, _ in os_.get(q, [])[:10]])
worst = 0.0
for q in ours:
    a = {d: s for _, d, s in ours[q]}
    worst = max([worst] + [abs(s - a[d]) for _, d, s in os_.get(q, []) if d in a])
print(f"OpenSearch (scifact) vs our --no-chunking collection: {same10}/{len(ours)} queries with the same top-10 order; "
      f"largest score difference over shared top-100 documents {worst:.2e}")
PY
