#!/usr/bin/env python3
"""trec_eval-style scores of a TREC run with pytrec_eval (dev tool; needs `pip install pytrec_eval-terrier`).

  eval_run.py QRELS RUN            QRELS: BEIR TSV (query-id corpus-id score, header) or TREC (qid 0 docid rel)
Prints nDCG@10, MAP (trec_eval's map), Recall@100, P@10 averaged over the qrels' queries that have at least one
relevant document (a query missing from the run scores 0).
"""
import argparse, json, sys
import pytrec_eval

def read_qrels(path):
    q = {}
    for i, line in enumerate(open(path)):
        f = line.split()
        if not f or (i == 0 and not f[-1].lstrip('-').isdigit()):
            continue
        if len(f) == 3: qid, did, rel = f
        elif len(f) == 4: qid, _, did, rel = f
        else: sys.exit(f"{path} line {i+1}: expected 3 or 4 columns")
        q.setdefault(qid, {})[did] = int(rel)
    return q

def read_run(path):
    r = {}
    for line in open(path):
        qid, _, did, rank, score, *_ = line.split()
        r.setdefault(qid, {})[did] = float(score)
    return r

ap = argparse.ArgumentParser()
ap.add_argument("qrels"); ap.add_argument("run"); ap.add_argument("--json", action="store_true")
a = ap.parse_args()
qrels, run = read_qrels(a.qrels), read_run(a.run)
qrels = {q: d for q, d in qrels.items() if any(g > 0 for g in d.values())}  # judged queries with a relevant doc
ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map", "recall.100", "P.10"})
res = ev.evaluate(run)
n = len(qrels)  # average over every judged query (a query with no results scores 0)
out = {m: sum(res.get(q, {}).get(k, 0.0) for q in qrels) / n for m, k in
       [("nDCG@10", "ndcg_cut_10"), ("MAP", "map"), ("Recall@100", "recall_100"), ("P@10", "P_10")]}
out["queries"] = n
out["queries_with_results"] = sum(1 for q in qrels if q in run)
print(json.dumps(out) if a.json else "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in out.items()))
