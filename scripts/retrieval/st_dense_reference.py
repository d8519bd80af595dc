#!/usr/bin/env python3
"""Dense retrieval reference with sentence-transformers + exact cosine search (dev tool).

  HF_HUB_OFFLINE=1 /work/venv-ref/bin/python st_dense_reference.py MODEL_DIR corpus.jsonl[.gz] queries.jsonl QRELS RUN_OUT [--k 100]

Encodes "title text" (BEIR's convention) for every document, truncated at the model's max_seq_length (no
chunking), the qrels' queries, and writes the exact cosine top-k as a TREC run.
"""
import argparse, gzip, json, time
import numpy as np
from sentence_transformers import SentenceTransformer

ap = argparse.ArgumentParser()
for a in ("model", "corpus", "queries", "qrels", "run_out"): ap.add_argument(a)
ap.add_argument("--k", type=int, default=100)
a = ap.parse_args()
op = gzip.open if a.corpus.endswith(".gz") else open
docs = [json.loads(l) for l in op(a.corpus, "rt")]
ids = [str(d["_id"]) for d in docs]
texts = [(d.get("title") or "") + " " + d["text"] if d.get("title") else d["text"] for d in docs]
want = {l.split()[0] for i, l in enumerate(open(a.qrels)) if i > 0 and l.strip()}
queries = [json.loads(l) for l in open(a.queries)]
queries = [(str(q["_id"]), q["text"]) for q in queries if str(q["_id"]) in want]
m = SentenceTransformer(a.model, device="cpu")
t = time.time()
C = m.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
Q = m.encode([q for _, q in queries], batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
print(f"encoded {len(texts)} documents + {len(queries)} queries in {time.time() - t:.1f} s (max_seq_length {m.max_seq_length})")
S = Q @ C.T
with open(a.run_out, "w") as f:
    for qi, (qid, _) in enumerate(queries):
        top = np.argsort(-S[qi], kind="stable")[: a.k]
        for r, j in enumerate(top, 1):
            f.write(f"{qid} Q0 {ids[j]} {r} {S[qi, j]:.6f} st-exact\n")
