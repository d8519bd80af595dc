#!/usr/bin/env python3
"""Long-input goldens for the Qwen fixtures (tests/data/qwen/golden_long.jsonl), from the models
make_qwen_models.py wrote. Development tool only:

    HF_HUB_OFFLINE=1 /work/venv5/bin/python scripts/reference/make_qwen_long.py

Kinds (all fp32, from the BF16 fixture weights):
  card-long  the Qwen3-Reranker model card's process_inputs / compute_logits with its max_length set to the
             fixture's max_position_embeddings (4096) on documents longer than that: prefix + the formatted text
             cut at its end to max_length - prefix - suffix + suffix. Positions up to the model's last one.
  st-chat    sentence-transformers 6's CrossEncoder on the CausalLM reranker given a chat_template.jinja with
             "query" / "document" roles that renders the model card's format (the way sentence-transformers 6
             integrates such rerankers): pairs become messages, the rendered text is tokenized and cut at
             max_length, then the template's suffix is written back over the last tokens (restore_suffix).
             With max_length = 160 and 4096 (its default: min(tokenizer model_max_length, max positions)).
  ce-long    CrossEncoder on plain pairs (no template) at its default max_length: LongestFirst.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
QWEN = os.path.join(REPO, "tests", "data", "qwen")
PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
          "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
# The model card's format as a chat template with sentence-transformers' pair roles
CHAT_TEMPLATE = (
    PREFIX + "<Instruct>: {{ messages | selectattr(\"role\", \"eq\", \"system\") | map(attribute=\"content\") | first"
    " | default(\"" + DEFAULT_INSTRUCTION + "\") }}\n"
    "<Query>: {{ messages | selectattr(\"role\", \"eq\", \"query\") | map(attribute=\"content\") | first }}\n"
    "<Document>: {{ messages | selectattr(\"role\", \"eq\", \"document\") | map(attribute=\"content\") | first }}"
    + SUFFIX + "\n")  # Jinja drops one trailing newline of a template: the extra one keeps SUFFIX's "\n\n"


def long_doc(n_words: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    words = ("gravity planet orbit passage answer capital river history energy light water city mass Beijing "
             "café naïve 東京 données 42 3.14 — (see below) e-mail").split()
    return " ".join(words[i] for i in rng.integers(0, len(words), n_words)) + "."


PAIRS = [("What is the capital of China?", long_doc(3000, 1)), ("Explain gravity", long_doc(900, 2))]


def last_logits(hf, ids):
    with torch.no_grad():
        out = hf(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    return out.logits[0, -1].float()


def main() -> None:
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = "qwen3-reranker"
    d = os.path.join(QWEN, "models", name)
    tok = AutoTokenizer.from_pretrained(d)
    hf = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    max_pos = hf.config.max_position_embeddings
    prefix, suffix = tok.encode(PREFIX, add_special_tokens=False), tok.encode(SUFFIX, add_special_tokens=False)
    out = []

    def case(kind, q, doc, ids, max_length, st_score=None):
        lg = last_logits(hf, ids)
        diff = float(lg[yes] - lg[no])
        score = float(1 / (1 + np.exp(-diff)))
        if st_score is not None:
            assert abs(st_score - score) < 1e-5, (kind, st_score, score)
        out.append({"model": name, "kind": kind, "query": q, "document": doc, "max_length": max_length,
                    "input_ids": ids, "logits": [diff], "scores": [score]})

    # the model card's code with max_length = the model's positions
    for q, doc in PAIRS:
        text = f"<Instruct>: {DEFAULT_INSTRUCTION}\n<Query>: {q}\n<Document>: {doc}"
        body = tok([text], padding=False, truncation="longest_first", return_attention_mask=False,
                   max_length=max_pos - len(prefix) - len(suffix))["input_ids"][0]
        ids = prefix + list(body) + suffix
        assert len(ids) <= max_pos
        case("card-long", q, doc, ids, max_pos)

    # sentence-transformers 6 with a pair-role chat template
    tmp = tempfile.mkdtemp(prefix="qwen-chat-")
    try:
        for f in os.listdir(d):
            shutil.copy(os.path.join(d, f), tmp)
        with open(os.path.join(tmp, "chat_template.jinja"), "w") as f:
            f.write(CHAT_TEMPLATE)
        for max_length in (160, None):
            ce = CrossEncoder(tmp, model_kwargs={"dtype": torch.float32}, max_length=max_length)
            feats = ce.preprocess(PAIRS) if hasattr(ce, "preprocess") else ce.tokenize(PAIRS)
            st = ce.predict(PAIRS, convert_to_numpy=True)
            mask = feats.get("attention_mask")
            for i, (q, doc) in enumerate(PAIRS):
                row = feats["input_ids"][i]
                row = row.tolist() if hasattr(row, "tolist") else list(row)
                if mask is not None:
                    m = mask[i].tolist() if hasattr(mask[i], "tolist") else list(mask[i])
                    row = [x for x, keep in zip(row, m) if keep]
                ids = [int(x) for x in row]
                assert ids[-len(suffix):] == suffix, "the suffix is restored"
                case("st-chat", q, doc, ids, max_length or ce.max_seq_length, float(np.atleast_1d(st[i])[0]))
        # plain pairs, default max_length
        ce = CrossEncoder(d, model_kwargs={"dtype": torch.float32})
        st = ce.predict(PAIRS, convert_to_numpy=True)
        for i, (q, doc) in enumerate(PAIRS):
            ids = tok(q, doc, truncation="longest_first", max_length=ce.max_seq_length)["input_ids"]
            case("ce-long", q, doc, list(ids), ce.max_seq_length, float(np.atleast_1d(st[i])[0]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(QWEN, "golden_long.jsonl"), "w") as f:
        for c in out:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    for c in out:
        print(c["kind"], c["max_length"], len(c["input_ids"]), c["scores"][0])


if __name__ == "__main__":
    main()
