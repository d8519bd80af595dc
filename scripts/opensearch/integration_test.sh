#!/usr/bin/env bash
# OpenSearch as the first stage, against a real 2-node cluster (ctest: opensearch_cluster).
#   integration_test.sh RERANK_CLI LAUNCHER_DIR [PY_VENV]
# Starts the cluster of integrations/opensearch (scripts/opensearch/cluster.sh), then through `rerank`:
#  1. `rerank index --to opensearch` the fixture corpus (tests/data/pipeline) with bi-encoder embeddings into an
#     index of 2 shards + 1 replica (so each node holds a copy of every document), then again: all skipped;
#  2. BM25 through node 1 and node 2 = our own collection's BM25 (same ids in the same order, scores within 1e-4);
#  3. dense (exact script_score: the k-NN plugin is not among the served modules) = the collection's exact dense;
#  4. hybrid (RRF by us) + the ce-tiny cross-encoder: the reranked lists equal the collection's;
#  5. `rerank eval` end to end through OpenSearch: nDCG@10 within 0.01 of the collection's (equal here);
#  6. errors: a missing index names the URL, HTTP 404 and index_not_found_exception; a closed port is refused;
#  7. with PY_VENV (the venv `make python` fills): the Python rerank.OpenSearchIndex against the same cluster
#     (python/tests/opensearch_live.py: BM25 via both nodes, dense, hybrid + rerank = the collection's; an index
#     loaded from Python searches as the CLI-loaded one; errors).
# The cluster stops when this script ends (its stdin is our pipe; SIGTERM as well).
set -euo pipefail
cli=$(realpath "$1")
launcher=$(realpath -m "$2")
pyvenv=${3:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
data="$root/tests/data/pipeline"
bi="$root/tests/data/encoders/models/bi-tiny-mean"
ce="$root/tests/data/encoders/models/ce-tiny"
work=$(mktemp -d /tmp/rerank-opensearch.XXXXXX)
fail() { echo "opensearch integration: FAILED: $*" >&2; [ -f "$work/cluster.log" ] && tail -n 30 "$work/cluster.log" >&2; exit 1; }
# shellcheck source=lib.sh
source "$root/scripts/opensearch/lib.sh"
trap 'stop_cluster 5 || true; rm -rf "$work"' EXIT
t0=$(date +%s.%N)
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)"; }

start_cluster "$launcher" "$work" 2
n1=${urls[0]}; n2=${urls[1]}
echo "cluster green with 2 nodes ($n1, $n2): $(elapsed) s"
nodes=$(curl -sf "$n2/_cat/nodes?h=name" | tr -d " " | sort | tr '\n' ' ')
[ "$nodes" = "node-1 node-2 " ] || fail "_cat/nodes through node 2: '$nodes'"

os=(--opensearch "$n1" --index fixture)
# fp32 embeddings, as Python's OpenSearchIndex and Collection make by default (the CLI's `--precision auto` would take
# bf16 on a CPU with native bf16: dense scores ~1e-4 apart, over the Python comparison's tolerance)
exact=(--precision fp32)
out=$("$cli" index --to opensearch "${os[@]}" --shards 2 --replicas 1 --batch-size 10 --bi-encoder "$bi" "${exact[@]}" --threads 1 "$data/corpus.jsonl")
echo "$out"
grep -q "indexed 36 new, 0 replaced, 0 already present" <<< "$out" || fail "first load: $out"
grep -q ": 36 documents" <<< "$out" || fail "count after the first load: $out"
out=$("$cli" index --to opensearch "${os[@]}" --batch-size 10 --bi-encoder "$bi" "${exact[@]}" --threads 1 "$data/corpus.jsonl")
grep -q "indexed 0 new, 0 replaced, 36 already present" <<< "$out" || fail "second load did not skip: $out"
health=$(curl -sf "$n1/_cluster/health/fixture?wait_for_status=green&timeout=60s")
grep -q '"status":"green"' <<< "$health" || fail "index not green: $health"
curl -sf "$n1/_cat/shards/fixture?h=prirep,node" | sort > "$work/shards"
[ "$(awk '{print $2}' "$work/shards" | sort -u | tr '\n' ' ')" = "node-1 node-2 " ] || fail "shards not on both nodes: $(cat "$work/shards")"
echo "indexed (2 shards x 2 copies on both nodes): $(elapsed) s"

"$cli" index -c "$work/coll" --no-chunking --bi-encoder "$bi" "${exact[@]}" --threads 1 "$data/corpus.jsonl" > /dev/null

# compare A.json B.json TOL KEY [set]: list KEY of both has the same ids in the same order with scores within TOL,
# except that items whose scores tie (within TOL) may come in either order; "set": only the same ids
compare() {
  python3 - "$@" <<'PY'
import json, sys
a, b, tol, key = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3]), sys.argv[4]
la, lb = a[key], b[key]
if not la: sys.exit(f"{key}: empty list")
if len(la) != len(lb): sys.exit(f"{key}: {len(la)} vs {len(lb)} items")
if sys.argv[5:] == ["set"]:
    if {x["id"] for x in la} != {x["id"] for x in lb}: sys.exit(f"{key}: different ids")
    sys.exit(0)
i = 0
while i < len(la):
    j = i + 1
    while j < len(la) and abs(la[j]["score"] - la[i]["score"]) <= tol: j += 1
    ga = sorted((x["id"], x["score"]) for x in la[i:j]); gb = sorted((x["id"], x["score"]) for x in lb[i:j])
    if [x[0] for x in ga] != [x[0] for x in gb]:
        sys.exit(f"{key}: ranks {i + 1}..{j} differ:\n  {ga}\n  {gb}")
    worst = max(abs(x[1] - y[1]) for x, y in zip(ga, gb))
    if worst > tol: sys.exit(f"{key}: ranks {i + 1}..{j}: scores differ by {worst} > {tol}")
    i = j
PY
}
queries=("reset password email" "refund for a returned item" "how do I log in when the page does not load")
i=0
for q in "${queries[@]}"; do
  i=$((i + 1))
  "$cli" search -c "$work/coll" --k 40 --json "$q" > "$work/local-bm25-$i.json"
  for node in "$n1" "$n2"; do
    "$cli" search --opensearch "$node" --index fixture --retriever opensearch --k 40 --json "$q" > "$work/os-bm25-$i.json"
    compare "$work/local-bm25-$i.json" "$work/os-bm25-$i.json" 1e-4 first_stage || fail "BM25 \"$q\" via $node"
  done
  "$cli" search -c "$work/coll" --retriever dense --k 40 --threads 1 --json "$q" > "$work/local-dense-$i.json"
  "$cli" search "${os[@]}" --retriever dense --k 40 --threads 1 --json "$q" > "$work/os-dense-$i.json"
  compare "$work/local-dense-$i.json" "$work/os-dense-$i.json" 1e-5 first_stage || fail "dense \"$q\""
  # k 40 > 36 documents: every document is a candidate, so the reranked lists must agree whatever the tie order
  "$cli" search -c "$work/coll" --retriever hybrid --k 40 --reranker "$ce" --top-n 5 --threads 1 --json "$q" > "$work/local-hy-$i.json"
  "$cli" search --opensearch "$n2" --index fixture --retriever hybrid --k 40 --reranker "$ce" --top-n 5 --threads 1 --json "$q" > "$work/os-hy-$i.json"
  compare "$work/local-hy-$i.json" "$work/os-hy-$i.json" 0 first_stage set || fail "hybrid \"$q\""
  compare "$work/local-hy-$i.json" "$work/os-hy-$i.json" 1e-5 reranked || fail "hybrid + rerank \"$q\""
done
echo "search: BM25 (both nodes), dense and hybrid + rerank equal to the collection's for ${#queries[@]} queries: $(elapsed) s"

ev=(--queries "$data/queries.jsonl" --qrels "$data/qrels.tsv" --k 20 --metrics ndcg@10 --json)
"$cli" eval --collection "$work/coll" "${ev[@]}" > "$work/eval-local.json"
"$cli" eval --opensearch "$n2" --index fixture "${ev[@]}" > "$work/eval-os.json"
"$cli" eval --collection "$work/coll" --retriever hybrid --reranker "$ce" --threads 1 "${ev[@]}" > "$work/eval-local-rr.json"
"$cli" eval "${os[@]}" --retriever hybrid --reranker "$ce" --threads 1 "${ev[@]}" > "$work/eval-os-rr.json"
python3 - "$work" <<'PY' || fail "eval through OpenSearch"
import json, sys
w = sys.argv[1]
def ndcg(name):
    j = json.load(open(f"{w}/{name}.json"))
    first = lambda m: next(iter(m.values()))  # the one metric asked for (nDCG@10)
    st = first(j["stages"][-1]["metrics"])
    cell = first(j["cells"][-1]["metrics"]) if j.get("cells") else None
    return st, cell, j["queries"]["run"]
lb, _, nq = ndcg("eval-local"); ob, _, nq2 = ndcg("eval-os")
_, lr, _ = ndcg("eval-local-rr"); _, orr, _ = ndcg("eval-os-rr")
print(f"eval over {nq} queries: BM25 nDCG@10 collection {lb:.4f}, OpenSearch {ob:.4f}; hybrid + ce-tiny {lr:.4f} vs {orr:.4f}")
if nq != nq2 or nq < 10: sys.exit(f"query counts {nq} / {nq2}")
if abs(lb - ob) > 0.01 or abs(lr - orr) > 0.01: sys.exit("nDCG@10 differs by more than 0.01")
PY

# errors name the URL, the status and OpenSearch's own type and reason
if "$cli" search --opensearch "$n1" --index no-such-index --k 5 "q" > /dev/null 2> "$work/err"; then fail "a missing index did not fail"; fi
for want in "$n1/no-such-index" "HTTP 404" "index_not_found_exception"; do
  grep -qF "$want" "$work/err" || fail "missing-index error lacks '$want': $(cat "$work/err")"
done
if "$cli" search --opensearch "$n1" --index fixture --per-passage --k 5 "q" > /dev/null 2> "$work/err"; then fail "--per-passage did not fail"; fi
grep -q "per-passage" "$work/err" || fail "--per-passage error: $(cat "$work/err")"
if "$cli" search --opensearch "$n1" --index Bad/Name --k 5 "q" > /dev/null 2> "$work/err"; then fail "a bad index name did not fail"; fi
grep -q "is invalid" "$work/err" || fail "bad index name error: $(cat "$work/err")"
echo "errors checked: $(elapsed) s"

if [ -n "$pyvenv" ]; then
  "$pyvenv/bin/python" -c "import rerank._rerank" || fail "the rerank package is not installed in $pyvenv: run 'make python'"
  (cd "$root" && RERANK_TEST_OPENSEARCH_URLS="$n1 $n2" RERANK_TEST_COLLECTION="$work/coll" \
    "$pyvenv/bin/python" -m pytest -p no:cacheprovider -q python/tests/opensearch_live.py) || fail "Python rerank.OpenSearchIndex against the cluster"
  echo "Python OpenSearchIndex against the cluster: $(elapsed) s"
fi

stop_cluster 30 || fail "the cluster did not stop within 30 s of stdin EOF"
grep -q "stopped 2 nodes" "$work/cluster.log" || fail "the launcher did not report closing its nodes"
echo "opensearch integration: passed in $(elapsed) s"
