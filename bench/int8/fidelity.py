#!/usr/bin/env python3
"""Scores file(s) (one logit per line, peer-bench's pair order) against peer-bench's torch-fp32 scores, judged as
peer-bench's report.py does: Spearman per query (mean, min), top-10 overlap, max |logit diff|.
Usage: fidelity.py SCORES... [--cache ~/.cache/peer-bench]"""
import json, os, sys
import numpy as np

cache = os.path.expanduser("~/.cache/peer-bench")
files = [a for a in sys.argv[1:]]
if "--cache" in files:
    i = files.index("--cache")
    cache = files[i + 1]
    del files[i:i + 2]
sizes = json.loads(open(os.path.join(cache, "work/pairs.txt")).readline())
starts = np.cumsum([0] + sizes)
ref = np.loadtxt(os.path.join(cache, "work/scores/torch-fp32.txt"))


def ranks(a):
    r = np.empty(len(a))
    r[np.argsort(a, kind="stable")] = np.arange(len(a))
    return r


for f in files:
    s = np.loadtxt(f)
    rho, top = [], []
    for q in range(len(sizes)):
        a, b = s[starts[q]:starts[q + 1]], ref[starts[q]:starts[q + 1]]
        rho.append(float(np.corrcoef(ranks(a), ranks(b))[0, 1]))
        top.append(len(set(np.argsort(-a, kind="stable")[:10]) & set(np.argsort(-b, kind="stable")[:10])) / 10)
    print(f"{f}: rho mean {np.mean(rho):.4f} min {np.min(rho):.4f} top10 {np.mean(top):.3f} "
          f"max|d| {np.max(np.abs(s - ref)):.2e} rms {np.sqrt(np.mean((s - ref) ** 2)):.2e}")
