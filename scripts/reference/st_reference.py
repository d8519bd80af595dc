#!/usr/bin/env python3
"""Reference outputs from the real sentence-transformers / transformers libraries.

Development tool only (not a test dependency): it needs the reference environment described in
scripts/reference/README.md (torch, transformers, sentence-transformers).

  st_reference.py embed   --model DIR --input IN.jsonl --output OUT.jsonl [--max-length N] [--batch-size B]
      IN lines: {"text": ...}  (optional "max_length" per line overrides --max-length)
      OUT lines: {"text", "input_ids", "embedding", "max_length", ...other input fields}
      embedding = SentenceTransformer(DIR).encode(texts, convert_to_numpy=True); normalisation is whatever the
      model's modules.json says (a Normalize module or not), nothing is added here.

  st_reference.py predict --model DIR --input IN.jsonl --output OUT.jsonl [--max-length N] [--batch-size B]
      IN lines: {"query": ..., "document": ...}  (optional "max_length" per line overrides --max-length)
      OUT lines: {"query", "document", "input_ids", "token_type_ids", "logits", "score", "max_length", ...}
      logits = raw output of the underlying Hugging Face model (CrossEncoder(DIR).model);
      score  = what CrossEncoder(DIR, max_length=N).predict returns for the pair (a float for 1 label,
               a list for more labels).

Without --max-length (and no per-line value) the library's own default applies: the tokenizer's model_max_length
capped at config.max_position_embeddings (sentence-transformers' Transformer module), or sentence_bert_config.json's
max_seq_length when the model has one. The effective value is written to each line as "max_length".
Versions of the libraries are printed to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _versions() -> dict:
    import numpy
    import safetensors
    import sentence_transformers
    import tokenizers
    import torch
    import transformers

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": numpy.__version__,
    }


def _read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _to_list(x):
    return [float(v) for v in x]


def _groups(rows: list[dict], default_max_length):
    """Yield (max_length, [indices]) in first-appearance order of each max_length value."""
    order: dict = {}
    for i, row in enumerate(rows):
        order.setdefault(row.get("max_length", default_max_length), []).append(i)
    return order.items()


def embed(args) -> list[dict]:
    import torch
    from sentence_transformers import SentenceTransformer

    rows = _read_jsonl(args.input)
    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    default_len = model.max_seq_length
    out: list[dict | None] = [None] * len(rows)
    for max_length, idx in _groups(rows, args.max_length):
        model.max_seq_length = default_len if max_length is None else int(max_length)
        texts = [rows[i]["text"] for i in idx]
        emb = model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True, show_progress_bar=False)
        for k, i in enumerate(idx):
            with torch.no_grad():
                feats = model.preprocess([rows[i]["text"]])
            rec = dict(rows[i])
            rec["max_length"] = model.max_seq_length
            rec["input_ids"] = feats["input_ids"][0].tolist()
            if "token_type_ids" in feats:
                rec["token_type_ids"] = feats["token_type_ids"][0].tolist()
            rec["embedding"] = _to_list(emb[k])
            out[i] = rec
    return out


def predict(args) -> list[dict]:
    import torch
    from sentence_transformers import CrossEncoder

    rows = _read_jsonl(args.input)
    out: list[dict | None] = [None] * len(rows)
    for max_length, idx in _groups(rows, args.max_length):
        kwargs = {} if max_length is None else {"max_length": int(max_length)}
        ce = CrossEncoder(args.model, device="cpu", **kwargs)
        ce.eval()
        print(
            f"[st_reference] {args.model}: max_length={ce.max_seq_length} num_labels={ce.num_labels} "
            f"activation_fn={ce.activation_fn!r} model dtype={ce.model.dtype}",
            file=sys.stderr,
        )
        pairs = [(rows[i]["query"], rows[i]["document"]) for i in idx]
        scores = ce.predict(pairs, batch_size=args.batch_size, convert_to_numpy=True, show_progress_bar=False)
        for k, i in enumerate(idx):
            feats = ce.preprocess([pairs[k]])
            model_inputs = {
                name: feats[name] for name in ("input_ids", "token_type_ids", "attention_mask") if name in feats
            }
            with torch.no_grad():
                logits = ce.model(**model_inputs).logits[0].float()
            rec = dict(rows[i])
            rec["max_length"] = ce.max_seq_length
            rec["input_ids"] = feats["input_ids"][0].tolist()
            rec["token_type_ids"] = feats["token_type_ids"][0].tolist()
            rec["logits"] = _to_list(logits)
            s = scores[k]
            rec["score"] = float(s) if getattr(s, "ndim", 0) == 0 else _to_list(s)
            out[i] = rec
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("embed", "predict"):
        s = sub.add_parser(name)
        s.add_argument("--model", required=True, help="model directory (local; the Hub is never contacted)")
        s.add_argument("--input", required=True)
        s.add_argument("--output", required=True)
        s.add_argument("--max-length", type=int, default=None)
        s.add_argument("--batch-size", type=int, default=16)
    args = p.parse_args(argv)

    print("[st_reference] versions: " + json.dumps(_versions()), file=sys.stderr)
    import torch

    torch.manual_seed(0)
    records = embed(args) if args.cmd == "embed" else predict(args)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"[st_reference] wrote {len(records)} lines to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
