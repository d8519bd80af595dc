#!/usr/bin/env python3
"""Converts the classic collections' queries and judgments to BEIR files (dev tool, standard library only).

  classic_to_beir.py cranfield|cisi|med DATA_DIR OUT_DIR   -> OUT_DIR/queries.jsonl, OUT_DIR/qrels.tsv

Cranfield: cran.qry's .I numbers are not the query numbers cranqrel uses (those are 1..225 in file order);
relevance codes 1 (most relevant) .. 4 become grades 4..1, -1 (and 5) become 0.
CISI: CISI.QRY (.I/.T/.A/.W/.B; text = .T + .W), CISI.REL "qid docid 0 0.0". MED: MED.QRY, MED.REL "qid 0 docid 1".
"""
import json, os, sys

def smart(path):
    recs, cur, field = [], None, None
    for line in open(path, encoding="latin-1"):
        line = line.rstrip("\r\n")
        if line.startswith(".I "):
            cur = {"I": line[3:].strip()}; recs.append(cur); field = None; continue
        if len(line) >= 2 and line[0] == "." and line[1].isupper() and line[2:].strip() == "":
            field = line[1]; cur[field] = ""; continue
        if cur is not None and field:
            cur[field] += (" " if cur[field] else "") + line.strip()
    return recs

def main(kind, data, out):
    os.makedirs(out, exist_ok=True)
    qrels = []
    if kind == "cranfield":
        qs = smart(os.path.join(data, "cran.qry"))
        queries = [(str(i + 1), q.get("W", "")) for i, q in enumerate(qs)]
        for line in open(os.path.join(data, "cranqrel")):
            f = line.split()
            if len(f) < 3: continue
            code = int(f[2]); grade = 5 - code if 1 <= code <= 4 else 0
            qrels.append((f[0], f[1], grade))
    elif kind == "cisi":
        qs = smart(os.path.join(data, "CISI.QRY"))
        queries = [(q["I"], (q.get("T", "") + " " + q.get("W", "")).strip()) for q in qs]
        for line in open(os.path.join(data, "CISI.REL")):
            f = line.split()
            if len(f) >= 2: qrels.append((f[0], f[1], 1))
    elif kind == "med":
        qs = smart(os.path.join(data, "MED.QRY"))
        queries = [(q["I"], q.get("W", "")) for q in qs]
        for line in open(os.path.join(data, "MED.REL")):
            f = line.split()
            if len(f) >= 4: qrels.append((f[0], f[2], int(f[3])))
    else:
        sys.exit("kind must be cranfield, cisi or med")
    with open(os.path.join(out, "queries.jsonl"), "w") as fq:
        for qid, text in queries: fq.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with open(os.path.join(out, "qrels.tsv"), "w") as fr:
        fr.write("query-id\tcorpus-id\tscore\n")
        for q, d, g in qrels: fr.write(f"{q}\t{d}\t{g}\n")
    print(f"{kind}: {len(queries)} queries, {len(qrels)} judgments, {len({q for q, _, g in qrels if g > 0})} queries with a relevant document")

main(*sys.argv[1:])
