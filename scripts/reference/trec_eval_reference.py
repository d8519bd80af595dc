#!/usr/bin/env python3
"""Reference metrics from pytrec_eval (trec_eval 9.0.8 compiled in) for rerank's evaluation tests.

Development tool, not a test dependency: the tests read only the files it writes under tests/data/eval/.

  P=/work/venv-eval/bin/python
  $P scripts/reference/trec_eval_reference.py bm25-scifact --scifact /work/shared/data/scifact --out tests/data/eval
  $P scripts/reference/trec_eval_reference.py reference --qrels Q --run R --output OUT.json
  $P scripts/reference/trec_eval_reference.py ttest --output OUT.json          # scipy paired t-test values
  $P scripts/reference/trec_eval_reference.py classic-counts --shared /work/shared/data

Metric mapping (rerank name -> trec_eval measure):
  ndcg@K -> ndcg_cut.K, map@K -> map_cut.K, map -> map, p@K -> P.K, recall@K -> recall.K, rprec -> Rprec,
  hit@K -> success.K, ndcg -> ndcg, mrr@K -> recip_rank on the run cut to its top K documents in trec_eval's
  order (score descending, then document id descending), since trec_eval has no recip_rank cutoff.
"""
import argparse
import gzip
import json
import math
import re
import sys

import pytrec_eval

METRICS = ["ndcg@10", "map@100", "mrr@10", "p@5", "recall@100", "map", "rprec", "hit@10", "ndcg", "ndcg@3",
           "p@1", "recall@3", "mrr", "map@3", "hit@1"]


def read_qrels(path):
    qrels = {}
    with open(path) as f:
        lines = [l.rstrip("\r\n") for l in f if l.strip()]
    if lines and lines[0].lower().startswith("query-id"):
        for l in lines[1:]:
            q, d, s = l.split("\t")
            qrels.setdefault(q, {})[d] = int(s)
    else:
        for l in lines:
            q, _, d, s = l.split()
            qrels.setdefault(q, {})[d] = int(s)
    return qrels


def read_run(path):
    run = {}
    with open(path) as f:
        for l in f:
            if not l.strip():
                continue
            q, _, d, _, s, _ = l.split()
            assert d not in run.get(q, {}), f"duplicate {q} {d}"
            run.setdefault(q, {})[d] = float(s)
    return run


def trec_order(docs):
    """trec_eval's order: score descending, then document id descending."""
    return sorted(docs.items(), key=lambda x: (x[1], x[0]), reverse=True)


def measure_of(name):
    base, _, k = name.partition("@")
    return {"ndcg": "ndcg_cut" if k else "ndcg", "map": "map_cut" if k else "map", "p": "P", "recall": "recall",
            "rprec": "Rprec", "hit": "success", "mrr": "recip_rank"}[base], k


def reference(qrels, run, metrics=METRICS):
    out = {}
    for name in metrics:
        meas, k = measure_of(name)
        if meas == "recip_rank":
            r = {q: dict(trec_order(docs)[: int(k)] if k else trec_order(docs)) for q, docs in run.items()}
            key, req = "recip_rank", "recip_rank"
        else:
            r = run
            key = f"{meas}_{k}" if k else meas
            req = f"{meas}.{k}" if k else meas
        res = pytrec_eval.RelevanceEvaluator(qrels, {req}).evaluate(r)
        per_query = {q: v[key] for q, v in sorted(res.items())}
        out[name] = {"mean": sum(per_query.values()) / len(per_query) if per_query else 0.0, "per_query": per_query}
    return out


STOP = set("a an and are as at be by for from has have in is it its of on or that the to was were with this these "
           "those which not no can than into".split())


def tokens(text):
    return [t for t in re.findall(r"\w+", text.lower()) if t not in STOP]


def bm25_scifact(args):
    from rank_bm25 import BM25Okapi
    docs = []
    with gzip.open(f"{args.scifact}/corpus.jsonl.gz", "rt") as f:
        for l in f:
            j = json.loads(l)
            docs.append((j["_id"], (j.get("title", "") + " " + j["text"]).strip()))
    queries = {}
    with open(f"{args.scifact}/queries.jsonl") as f:
        for l in f:
            j = json.loads(l)
            queries[j["_id"]] = j["text"]
    qrels_path = f"{args.scifact}/qrels/test.tsv"
    qrels = read_qrels(qrels_path)
    bm25 = BM25Okapi([tokens(t) for _, t in docs])
    run_path = f"{args.out}/scifact_bm25.trec"
    with open(run_path, "w") as out:
        for q in sorted(qrels, key=int):
            scores = bm25.get_scores(tokens(queries[q]))
            # 4 decimals: small file, and more ties, which the tie-breaking has to get right
            ranked = sorted(((round(float(s), 4), docs[i][0]) for i, s in enumerate(scores)), reverse=True)[: args.depth]
            for rank, (s, d) in enumerate(ranked, 1):
                out.write(f"{q} Q0 {d} {rank} {s:.4f} bm25\n")
    ref = reference(qrels, read_run(run_path))
    with open(f"{args.out}/scifact_bm25.reference.json", "w") as f:
        json.dump({"tool": "pytrec-eval-terrier " + __import__("importlib.metadata").metadata.version("pytrec-eval-terrier"),
                   "qrels": "scifact/qrels/test.tsv (tests/data/eval/scifact_test.qrels.tsv)", "run": "scifact_bm25.trec",
                   "metrics": ref}, f, indent=1, sort_keys=True)
    for name, v in ref.items():
        print(f"{name:12s} {v['mean']:.6f}", file=sys.stderr)


def cmd_reference(args):
    ref = reference(read_qrels(args.qrels), read_run(args.run))
    with open(args.output, "w") as f:
        json.dump({"qrels": args.qrels, "run": args.run, "metrics": ref}, f, indent=1, sort_keys=True)


def cmd_ttest(args):
    from scipy import stats
    cases = [
        ([0.1, 0.4, 0.35, 0.8, 0.5, 0.9, 0.2, 0.3], [0.2, 0.5, 0.3, 0.9, 0.7, 0.95, 0.1, 0.45]),
        ([1, 2, 3, 4, 5], [1.5, 2.1, 3.9, 4.0, 6.2]),
        ([0.5, 0.5, 0.5], [0.6, 0.4, 0.7]),
    ]
    out = []
    for a, b in cases:
        r = stats.ttest_rel(b, a)
        out.append({"a": a, "b": b, "t": float(r.statistic), "p": float(r.pvalue)})
    cdf = [{"t": t, "df": df, "cdf": float(stats.t.cdf(t, df))} for t, df in [(0.5, 3), (-2.2, 7), (3.1, 29), (1.0, 1), (-0.3, 299)]]
    ib = [{"a": a, "b": b, "x": x, "I": float(stats.beta.cdf(x, a, b))} for a, b, x in [(2, 3, 0.4), (0.5, 0.5, 0.1), (10, 0.5, 0.95), (149.5, 0.5, 0.99)]]
    with open(args.output, "w") as f:
        json.dump({"tool": "scipy " + __import__("scipy").__version__, "ttest_rel": out, "t_cdf": cdf, "beta_cdf": ib}, f, indent=1)


def cmd_classic_counts(args):
    """Independent counts of the SMART classic collections' query and relevance files (tests/test_eval.cpp)."""
    d = args.shared
    def records(path):
        with open(path, newline="") as f:
            return sum(1 for l in f.read().replace("\r\n", "\n").split("\n") if re.match(r"^\.I\s+\d+\s*$", l))
    def rel(path, qcol):
        with open(path, newline="") as f:
            rows = [l.split() for l in f.read().replace("\r\n", "\n").split("\n") if l.strip()]
        return len({r[qcol] for r in rows}), len(rows), sum(1 for r in rows if r[-1] != "-1")
    for name, qry, relf in [("cranfield", "cranfield/cran.qry", "cranfield/cranqrel"), ("cisi", "cisi/CISI.QRY", "cisi/CISI.REL"),
                            ("med", "med/MED.QRY", "med/MED.REL")]:
        nq, nj, npos = rel(f"{d}/{relf}", 0)
        print(f"{name:10s} queries {records(f'{d}/{qry}'):4d}  qrels queries {nq:4d}  judgments {nj:5d}  non-negative {npos:5d}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bm25-scifact")
    b.add_argument("--scifact", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--depth", type=int, default=100)
    r = sub.add_parser("reference")
    r.add_argument("--qrels", required=True)
    r.add_argument("--run", required=True)
    r.add_argument("--output", required=True)
    t = sub.add_parser("ttest")
    t.add_argument("--output", required=True)
    c = sub.add_parser("classic-counts")
    c.add_argument("--shared", required=True, help="the shared data folder, e.g. /work/shared/data")
    args = ap.parse_args()
    {"bm25-scifact": bm25_scifact, "reference": cmd_reference, "ttest": cmd_ttest,
     "classic-counts": cmd_classic_counts}[args.cmd](args)


if __name__ == "__main__":
    main()
