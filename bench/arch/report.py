#!/usr/bin/env python3
"""arch-bench's table: speed (pairs/s, ratio to onnxruntime fp32) and fidelity against PyTorch fp32 per row.
Fidelity: per query Spearman rank correlation (mean, min), top-10 overlap (mean), max |logit difference| over all
pairs, from SCORES_DIR/PEER.txt (one logit a line, workload order; torch-fp32.txt is the reference).

Usage: report.py ROWS.jsonl SCORES_DIR PAIRS_FILE RESULTS_OUT SHAPE THREADS BATCH LOADAVG [NOTE...]
"""
import json, math, os, sys
import numpy as np

rows_file, sdir, pairs_file, out, shape, threads, batch, load = sys.argv[1:9]
notes = sys.argv[9:]
rows = [json.loads(l) for l in open(rows_file) if l.strip()]
sizes = json.loads(open(pairs_file).readline())
starts = np.cumsum([0] + sizes)


def load_scores(peer):
    f = os.path.join(sdir, peer + ".txt")
    if not os.path.exists(f):
        return None
    v = np.array([float(x) for x in open(f).read().split()])
    return v if len(v) == starts[-1] and np.all(np.isfinite(v)) else None


def ranks(x):  # average ranks of ties
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    return float("nan") if ra.std() == 0 or rb.std() == 0 else float(np.corrcoef(ra, rb)[0, 1])


def fidelity(s, ref):
    rho, top = [], []
    for q in range(len(sizes)):
        a, b = s[starts[q]:starts[q + 1]], ref[starts[q]:starts[q + 1]]
        if len(a) < 2:
            continue
        rho.append(spearman(a, b))
        k = min(10, len(a))
        top.append(len(set(np.argsort(-a, kind="stable")[:k]) & set(np.argsort(-b, kind="stable")[:k])) / k)
    rho = [r for r in rho if not math.isnan(r)]
    return {"spearman_mean": round(float(np.mean(rho)), 6) if rho else None,
            "spearman_min": round(float(np.min(rho)), 6) if rho else None,
            "top10_overlap": round(float(np.mean(top)), 4) if top else None,
            "max_abs_diff": float(f"{np.max(np.abs(s - ref)):.3g}")}


ref = load_scores("torch-fp32")
base = next((r["pairs_per_second"] for r in rows if r["peer"] == "ort-py-fp32"), None)
for r in rows:
    s = load_scores(r["peer"])
    r.update(fidelity(s, ref) if s is not None and ref is not None else
             {"spearman_mean": None, "spearman_min": None, "top10_overlap": None, "max_abs_diff": None})
    r["vs_ort_fp32"] = round(r["pairs_per_second"] / base, 3) if base else None
    r.update({"shape": shape, "threads": int(threads), "batch": int(batch), "loadavg": load})
with open(out, "a") as f:
    f.write("".join(json.dumps(r) + "\n" for r in rows))

print(f"shape={shape} threads={threads} batch={batch} pairs={rows[0]['pairs'] if rows else 0} "
      f"tokens={rows[0].get('tokens') if rows else None} queries={len(sizes)} loadavg: {load}")
fmt = "| {:12s} | {:44s} | {:>8s} | {:>8s} | {:>6s} | {:>8s} | {:>8s} | {:>5s} | {:>7s} |"
print(fmt.format("peer", "system", "pairs/s", "seconds", "vs ORT", "rho mean", "rho min", "top10", "max|d|"))
print(fmt.format(*["---"] * 9))
g = lambda v, f: "" if v is None else format(v, f)
for r in rows:
    print(fmt.format(r["peer"], r.get("system", "?")[:44], g(r["pairs_per_second"], ".2f"), g(r["seconds"], ".2f"),
                     g(r["vs_ort_fp32"], ".2f"), g(r["spearman_mean"], ".4f"), g(r["spearman_min"], ".4f"),
                     g(r["top10_overlap"], ".2f"), g(r["max_abs_diff"], ".2g")))
for n in notes:
    print(n)
