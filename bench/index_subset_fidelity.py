# The dense-index fidelity of a fast precision against fp32 on the documents two (possibly partial, e.g. still
# running or interrupted) `rerank index --bi-encoder` collections both hold: the cosine of every passage, and dense
# retrieval (a document scores its best passage, as `rerank search --retriever dense`) written as TREC runs plus the
# qrels cut to those documents, for `rerank eval`. Queries embedded in fp32 by sentence-transformers (the reference).
#   /work/venv5/bin/python bench/index_subset_fidelity.py FP32.sqlite BF16.sqlite MODEL QUERIES.jsonl QRELS.tsv OUTDIR
#   rerank eval --qrels OUTDIR/qrels-subset.tsv --run OUTDIR/dense-fp32.trec --run OUTDIR/dense-bf16.trec --metrics ndcg@10,recall@100
import array, os, sqlite3, sys
import numpy as np

fa, fb, model, queries, qrels, out = sys.argv[1:]


def load(f):
    c = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
    rows = c.execute("select d.id, p.ord, p.embedding from passages p join documents d on d.did = p.did "
                     "where p.embedding is not null order by p.pid")
    return {(i, o): np.frombuffer(e, dtype=np.float32) for i, o, e in rows}


a, b = load(fa), load(fb)
docs_a = {k[0] for k in a}
docs_b = {k[0] for k in b}
docs = docs_a & docs_b
keys = sorted(k for k in a if k[0] in docs)
assert all(k in b for k in keys) and sum(1 for k in b if k[0] in docs) == len(keys), "different passages"
A = np.stack([a[k] for k in keys]); B = np.stack([b[k] for k in keys])
cos = np.sort((A * B).sum(1) / np.linalg.norm(A, axis=1) / np.linalg.norm(B, axis=1))
print(f"{len(docs)} documents in both, {len(keys)} passages: cosine bf16 to fp32 min {cos[0]:.6f}, "
      f"0.1% quantile {cos[len(cos) // 1000]:.6f}, mean {cos.mean():.6f}")

rel = {}
for line in open(qrels):
    q, d, s = line.rstrip("\n").split("\t")
    if q == "query-id" or d not in docs or int(s) <= 0: continue
    rel.setdefault(q, {})[d] = s
import json
qs = [json.loads(l) for l in open(queries)]
qs = [q for q in qs if q["_id"] in rel]
print(f"{len(qs)} test queries with a relevant document among them")
os.makedirs(out, exist_ok=True)
cache = os.path.join(os.path.dirname(os.path.abspath(out)), "queries-fp32.npz")  # every test query embedding, once
if not os.path.exists(cache):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    test = sorted({l.split("\t")[0] for l in open(qrels)} - {"query-id"})
    text = {q["_id"]: q["text"] for q in map(json.loads, open(queries))}
    E = SentenceTransformer(model, device="cpu").encode([text[q] for q in test], normalize_embeddings=True,
                                                        convert_to_numpy=True).astype(np.float32)
    np.savez(cache, ids=np.array(test), emb=E)
z = np.load(cache)
row = {q: i for i, q in enumerate(z["ids"])}
Q = z["emb"][[row[q["_id"]] for q in qs]]
doc_of = np.array([k[0] for k in keys])
uniq, inv = np.unique(doc_of, return_inverse=True)
os.makedirs(out, exist_ok=True)
with open(f"{out}/qrels-subset.tsv", "w") as f:
    f.write("query-id\tcorpus-id\tscore\n")
    for q in qs:
        for d, s in rel[q["_id"]].items(): f.write(f"{q['_id']}\t{d}\t{s}\n")
for name, M in (("fp32", A), ("bf16", B)):
    S = Q @ (M / np.linalg.norm(M, axis=1, keepdims=True)).T  # [queries, passages]
    best = np.full((len(qs), len(uniq)), -np.inf, dtype=np.float32)
    for j in range(S.shape[1]): best[:, inv[j]] = np.maximum(best[:, inv[j]], S[:, j])
    with open(f"{out}/dense-{name}.trec", "w") as f:
        for i, q in enumerate(qs):
            top = np.argsort(-best[i], kind="stable")[:100]
            for r, t in enumerate(top): f.write(f"{q['_id']} Q0 {uniq[t]} {r + 1} {best[i, t]:.7f} {name}\n")
print(f"runs and qrels in {out}")
