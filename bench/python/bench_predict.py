#!/usr/bin/env python3
"""Benchmark (numbers, not a test): rerank.CrossEncoder.predict against `rerank bench` on one workload, and two
Python threads (each with its own CrossEncoder, threads=1) against one.

    build/py-venv/bin/python bench/python/bench_predict.py --model DIR --workload wl.jsonl --cli build/rerank \\
        [--threads 2] [--batch-size 32] [--max-length 512] [--precision fp32] [--repeat 3] [--rounds 3]

The workload is `rerank bench`'s: JSON lines {"query": ..., "documents": [...]}; every (query, document) pair is
scored, tokenization included, model load excluded. Python and `rerank bench` take turns for --rounds rounds
(each round: --repeat timed Python passes, then one `rerank bench --repeat N` run), so load that drifts during the
run hits both sides alike; the best pass of each side counts. --make-workload CORPUS.jsonl[.gz]
QUERIES.jsonl writes one (first --queries queries x --docs documents) instead.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import threading
import time


def read_workload(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                pairs += [(o["query"], d) for d in o["documents"]]
    return pairs


def make_workload(corpus, queries, out, nq, nd):
    op = gzip.open if corpus.endswith(".gz") else open
    with op(corpus, "rt", encoding="utf-8") as f:
        docs = [json.loads(next(f)) for _ in range(nd)]
    with open(queries, encoding="utf-8") as f:
        qs = [json.loads(next(f)) for _ in range(nq)]
    with open(out, "w", encoding="utf-8") as f:
        for q in qs:
            texts = [(d.get("title", "") + " " + d["text"]).strip() for d in docs]
            f.write(json.dumps({"query": q["text"], "documents": texts}) + "\n")


def best_of(fn, repeat, warm=True):
    if warm:
        fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--workload")
    ap.add_argument("--cli", help="build/rerank, for the `rerank bench` row")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--make-workload", nargs=2, metavar=("CORPUS", "QUERIES"))
    ap.add_argument("--queries", type=int, default=4)
    ap.add_argument("--docs", type=int, default=25)
    a = ap.parse_args()
    if a.make_workload:
        make_workload(*a.make_workload, a.workload, a.queries, a.docs)
        return 0
    import rerank

    pairs = read_workload(a.workload)
    ce = rerank.CrossEncoder(a.model, threads=a.threads, precision=a.precision, max_length=a.max_length)
    predict = lambda: ce.predict(pairs, batch_size=a.batch_size)
    predict()  # warm-up
    py_best, cli_best, cli_pairs = float("inf"), float("inf"), None
    for r in range(a.rounds):
        py_best = min(py_best, best_of(predict, a.repeat, warm=False))
        if a.cli:
            out = subprocess.run([a.cli, "bench", "-m", a.model, "--workload", a.workload, "--threads", str(a.threads),
                                  "--batch-size", str(a.batch_size), "--max-length", str(a.max_length), "--precision",
                                  a.precision, "--repeat", str(a.repeat)], capture_output=True, text=True, check=True)
            cli = json.loads(out.stdout.strip().splitlines()[-1])
            cli_best, cli_pairs = min(cli_best, cli["seconds"]), cli["pairs"]
        print(f"round {r + 1}: python best so far {len(pairs) / py_best:.2f} pairs/s"
              + (f", rerank bench {cli_pairs / cli_best:.2f} pairs/s" if a.cli else ""), file=sys.stderr)
    print(f"python predict: {len(pairs)} pairs, threads {a.threads}, {a.precision}: {py_best:.3f} s, "
          f"{len(pairs) / py_best:.2f} pairs/s")
    if a.cli:
        if cli_pairs != len(pairs):
            sys.exit(f"rerank bench scored {cli_pairs} pairs, Python {len(pairs)}: not the same workload")
        print(f"rerank bench:   {cli_pairs} pairs: {cli_best:.3f} s, {cli_pairs / cli_best:.2f} pairs/s; "
              f"python/cli = {cli_best / py_best:.3f}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # two Python threads, each with its own single-threaded CrossEncoder, vs one such thread doing half the work
    half = pairs[: len(pairs) // 2]
    encoders = [rerank.CrossEncoder(a.model, threads=1, precision=a.precision, max_length=a.max_length) for _ in range(2)]
    one = best_of(lambda: encoders[0].predict(half, batch_size=a.batch_size), a.repeat)

    def both():
        ts = [threading.Thread(target=e.predict, args=(half,), kwargs={"batch_size": a.batch_size}) for e in encoders]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    two = best_of(both, a.repeat)
    print(f"threads: one thread {len(half)} pairs {one:.3f} s; two threads x {len(half)} pairs {two:.3f} s "
          f"(ratio {two / one:.2f}: 1.0 = perfect parallelism, 2.0 = serialized)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
