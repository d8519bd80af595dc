#!/usr/bin/env python3
"""Qwen3-Reranker speed: `rerank bench` (prefix sharing on/off, fp32/bf16/int8) vs PyTorch transformers (bf16, fp32).

    /work/venv5/bin/python bench/qwen_rerank_bench.py --cli build/rerank [--threads 2] [--queries 2]

A random-weight Qwen3ForCausalLM in the real Qwen3-Reranker-0.6B shape (hidden 1024, 28 layers, 16 heads / 8 KV
heads, head_dim 128, intermediate 3072, vocab 151669, tied lm_head; BF16 safetensors, ~1.2 GB) is written once to
--model-dir with the byte-level BPE tokenizer of tests/data/qwen (the ids it produces are a subset of the vocab).
Workload: --queries queries x 20 candidates of ~300 tokens, formatted with the Qwen3-Reranker template of the model
card. PyTorch runs the model card's code (left padding, one batch of 20 per query, logits[:, -1] of yes/no);
ours runs `rerank bench` on the same pairs. Prints pairs/s and peak resident memory of each, the load average
before and after, and each configuration's fidelity against PyTorch fp32 and against ours fp32: max |P(yes)|
difference, mean Spearman rank correlation over the queries' candidate lists and mean top-5 overlap. Random
weights: the speed is that of the real model; the scores only show that reduced precisions keep the ranking.
`--memory` instead prints the peak resident memory of `rerank bench` on one short pair per precision (the weights
as held at that precision, little activation memory).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TOK = os.path.join(REPO, "tests", "data", "qwen", "tokenizer")
PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
          "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"


def make_model(d: str) -> None:
    import shutil

    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    if os.path.exists(os.path.join(d, "config.json")):
        return
    cfg = Qwen3Config(vocab_size=151669, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                      num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                      rms_norm_eps=1e-6, tie_word_embeddings=True, pad_token_id=900,
                      rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
    cfg.architectures = ["Qwen3ForCausalLM"]
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(d)
    for f in os.listdir(TOK):
        shutil.copy(os.path.join(TOK, f), d)


def workload(n_queries: int, n_docs: int, doc_words: int) -> list[dict]:
    import random

    rng = random.Random(15)
    words = ("the of and to in is for on that with as by at from gravity planet orbit passage query answer search "
             "relevant document system energy mass light water city capital river history science data model").split()
    out = []
    for q in range(n_queries):
        query = " ".join(rng.choice(words) for _ in range(12)) + "?"
        docs = [" ".join(rng.choice(words) for _ in range(doc_words)) + "." for _ in range(n_docs)]
        out.append({"query": query, "documents": docs})
    return out


def torch_run(d: str, wl: list[dict], dtype_name: str, threads: int, repeat: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float32
    tok = AutoTokenizer.from_pretrained(d, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(d, dtype=dtype).eval()
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    prefix, suffix = tok.encode(PREFIX, add_special_tokens=False), tok.encode(SUFFIX, add_special_tokens=False)
    best, scores, tokens = 1e300, [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        scores, tokens = [], 0
        for item in wl:
            texts = [f"<Instruct>: {INSTRUCTION}\n<Query>: {item['query']}\n<Document>: {doc}" for doc in item["documents"]]
            inputs = tok(texts, padding=False, truncation="longest_first", return_attention_mask=False,
                         max_length=8192 - len(prefix) - len(suffix))
            for i, ele in enumerate(inputs["input_ids"]):
                inputs["input_ids"][i] = prefix + ele + suffix
                tokens += len(inputs["input_ids"][i])
            batch = tok.pad(inputs, padding=True, return_tensors="pt", max_length=8192)
            with torch.no_grad():
                logits = model(**batch, logits_to_keep=1).logits[:, -1, :].float()
            p = torch.nn.functional.log_softmax(torch.stack([logits[:, no], logits[:, yes]], 1), 1)[:, 1].exp()
            scores += p.tolist()
        best = min(best, time.perf_counter() - t0)
    pairs = sum(len(w["documents"]) for w in wl)
    return {"system": f"transformers {dtype_name}", "pairs": pairs, "tokens": tokens, "seconds": best,
            "pairs_per_second": pairs / best, "scores": scores,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def ours(cli: str, d: str, wl_path: str, precision: str, share: bool, threads: int, repeat: int) -> dict:
    scores = wl_path + f".{precision}.{int(share)}.scores"
    cmd = ["/usr/bin/time", "-f", "%M", cli, "bench", "-m", d, "--workload", wl_path, "--threads", str(threads),
           "--batch-size", "20", "--precision", precision, "--repeat", str(repeat), "--scores-out", scores]
    if not share:
        cmd.append("--no-prefix-sharing")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"rerank bench failed: {r.stderr}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["peak_rss_mb"] = int(r.stderr.strip().splitlines()[-1]) / 1024
    out["system"] = f"rerank {precision}" + (" + prefix sharing" if share else "")
    import math
    out["scores"] = [1 / (1 + math.exp(-float(x))) for x in open(scores)]
    return out


def fidelity(got: list[float], want: list[float], per_query: int) -> tuple[float, float, float]:
    """max |diff|, mean Spearman (ties by order) and mean top-5 overlap over consecutive lists of per_query."""
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0] * len(v)
        for k, i in enumerate(order):
            r[i] = k
        return r
    rhos, tops = [], []
    for b in range(0, len(want), per_query):
        g, w = got[b:b + per_query], want[b:b + per_query]
        n = len(w)
        rg, rw = ranks(g), ranks(w)
        rhos.append(1 - 6 * sum((x - y) ** 2 for x, y in zip(rg, rw)) / (n * (n * n - 1)) if n > 1 else 1.0)
        top = lambda v: set(sorted(range(n), key=lambda i: -v[i])[:5])
        tops.append(len(top(g) & top(w)))
    return (max(abs(a - b) for a, b in zip(got, want)), sum(rhos) / len(rhos), sum(tops) / len(tops))


def memory(args) -> None:
    wl_path = os.path.join(args.model_dir, "workload-one.jsonl")
    with open(wl_path, "w") as f:
        f.write(json.dumps({"query": "what is the capital of China?", "documents": ["Beijing is the capital."]}) + "\n")
    print(f"peak resident memory of `rerank bench` on one pair ({args.threads} threads):")
    for prec in ("fp32", "bf16", "int8"):
        r = ours(args.cli, args.model_dir, wl_path, prec, True, args.threads, 1)
        print(f"  {prec}: {r['peak_rss_mb']:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=os.path.join(REPO, "build", "rerank"))
    ap.add_argument("--model-dir", default="/tmp/rerank-qwen3-reranker-0.6b-random")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--queries", type=int, default=2)
    ap.add_argument("--docs", type=int, default=20)
    ap.add_argument("--doc-words", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--memory", action="store_true", help="only the peak RSS per precision on one short pair")
    ap.add_argument("--ours", default="bf16+share,bf16,int8+share,fp32+share,fp32",
                    help="our configurations: precision[+share], comma-separated")
    args = ap.parse_args()
    make_model(args.model_dir)
    if args.memory:
        memory(args)
        return
    load0 = os.getloadavg()
    wl = workload(args.queries, args.docs, args.doc_words)
    wl_path = os.path.join(args.model_dir, "workload.jsonl")
    with open(wl_path, "w") as f:
        for w in wl:
            f.write(json.dumps(w) + "\n")
    rows = []
    for conf in args.ours.split(","):
        prec, _, share = conf.partition("+")
        rows.append(ours(args.cli, args.model_dir, wl_path, prec, share == "share", args.threads, args.repeat))
    if not args.skip_torch:
        # each PyTorch run in its own process so its peak memory is its own
        for dt in ("bf16", "fp32"):
            r = subprocess.run([sys.executable, __file__, "--torch-only", dt, args.model_dir, wl_path, str(args.threads),
                                str(args.repeat)], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(r.stderr)
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    tokens = rows[0]["tokens"] if rows else 0
    load1 = os.getloadavg()
    print(f"Qwen3-0.6B shape, {rows[0]['pairs']} pairs ({args.queries} queries x {args.docs}), {tokens} tokens, "
          f"{args.threads} threads; load average {load0[0]:.1f} before, {load1[0]:.1f} after")
    print(f"{'system':36} {'pairs/s':>8} {'seconds':>8} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['system']:36} {r['pairs_per_second']:8.2f} {r['seconds']:8.2f} {r['peak_rss_mb']:12.0f}")
    for ref_name in ("transformers fp32", "rerank fp32 + prefix sharing"):
        ref = next((r for r in rows if r["system"] == ref_name), None)
        if not ref:
            continue
        print(f"fidelity against {ref_name}: max |P(yes) diff|, mean Spearman, mean top-5 overlap")
        for r in rows:
            if r is not ref:
                d, rho, top = fidelity(r["scores"], ref["scores"], args.docs)
                print(f"  {r['system']:36} {d:.2e}  {rho:.4f}  {top:.2f}/5")
    ref = next((r for r in rows if r["system"] == "transformers fp32"), None)
    if ref:
        for r in rows:
            print(f"speed vs transformers fp32, {r['system']}: {r['pairs_per_second'] / ref['pairs_per_second']:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-only":
        _, _, dt, d, wl_path, threads, repeat = sys.argv
        wl = [json.loads(l) for l in open(wl_path)]
        print(json.dumps(torch_run(d, wl, dt, int(threads), int(repeat))))
    else:
        main()
