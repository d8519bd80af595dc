#!/usr/bin/env python3
"""Ranking fidelity of the fast modes against our own fp32 (equal to PyTorch fp32 within 1e-6: the golden tests) on
many more queries than peer-bench's default 4, where one swap at rank 10 moves its top-10 figure by 0.025.

    bench/int8/fidelity_many.py --model DIR [--rerank build/rerank] [--queries 100] [--docs 25] \
        [--precisions bf16,int8] [--workload FILE] [--threads 2]

Without --workload the pairs come from peer-bench's workload.py (../shared/tools/peer-bench, SciFact claims
against SciFact abstracts). Per precision: Spearman per query (mean, min), top-10 overlap (mean, and the number of
queries with at least one swap), max |logit difference|. Pure Python (no numpy)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    for pos, i in enumerate(order):
        r[i] = float(pos)
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    return cov / (va * vb) ** 0.5 if va > 0 and vb > 0 else 1.0


def top10(v):
    return set(sorted(range(len(v)), key=lambda i: -v[i])[:10])


def scores(args, workload, precision, out):
    cmd = [args.rerank, "bench", "--model", args.model, "--workload", workload, "--threads", str(args.threads),
           "--batch-size", "32", "--max-length", "512", "--repeat", "1", "--precision", precision, "--scores-out", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"fidelity_many: {' '.join(cmd)} failed:\n{r.stderr}")
    with open(out) as f:
        return [float(line) for line in f if line.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--rerank", default="build/rerank")
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--docs", type=int, default=25)
    p.add_argument("--precisions", default="bf16,int8")
    p.add_argument("--workload")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="fidelity-")
    workload = args.workload
    if not workload:
        gen = os.path.join(HERE, "../../../shared/tools/peer-bench/workload.py")
        if not os.path.exists(gen):
            sys.exit("fidelity_many: no --workload and no ../shared/tools/peer-bench/workload.py to make one")
        workload = os.path.join(tmp, "workload.jsonl")
        subprocess.run([sys.executable, gen, str(args.queries), str(args.docs), workload], check=True)
    sizes = []
    with open(workload) as f:
        for line in f:
            if line.strip():
                sizes.append(len(json.loads(line)["documents"]))
    ref = scores(args, workload, "fp32", os.path.join(tmp, "fp32.txt"))
    if len(ref) != sum(sizes):
        sys.exit(f"fidelity_many: {len(ref)} scores for {sum(sizes)} pairs")
    print(f"{len(sizes)} queries, {sum(sizes)} pairs; reference: {args.rerank} --precision fp32")
    for prec in args.precisions.split(","):
        s = scores(args, workload, prec, os.path.join(tmp, prec + ".txt"))
        rho, top, swaps, start = [], [], 0, 0
        for n in sizes:
            a, b = s[start:start + n], ref[start:start + n]
            rho.append(spearman(a, b))
            overlap = len(top10(a) & top10(b)) / min(10, n)
            top.append(overlap)
            swaps += overlap < 1.0
            start += n
        maxd = max(abs(x - y) for x, y in zip(s, ref))
        print(f"{prec:5s} rho mean {sum(rho) / len(rho):.4f} min {min(rho):.4f}  top10 {sum(top) / len(top):.3f} "
              f"({swaps} queries with a swap)  max|d| {maxd:.2e}")


if __name__ == "__main__":
    main()
