#!/usr/bin/env python3
"""Writes tests/data/tokenizers/bpe_unit_golden.jsonl: what Hugging Face `tokenizers` does with each option of the
byte-level BPE pipeline, case by case (the whole-tokenizer goldens are arch_golden.jsonl, make_tokenizers.py).

Development tool (needs `tokenizers`; see scripts/reference/README.md):
    HF_HUB_OFFLINE=1 /work/venv5/bin/python scripts/reference/bpe_unit_golden.py

Line kinds:
  {"kind": "split", "pre_tokenizer": {...Split...}, "text": t, "pieces": [...]}   Split.pre_tokenize_str
  {"kind": "byte_level", "pre_tokenizer": {...ByteLevel...}, "text": t, "pieces": [...]}
  {"kind": "tokenizer", "name": n, "tokenizer": {...tokenizer.json...}, "cases": [{"text": t, "ids": [...]}]}
      a small BPE (continuing_subword_prefix / end_of_word_suffix / byte_fallback / unk_token / fuse_unk /
      ignore_merges, merges as pairs or as "a b" strings) behind a WhitespaceSplit pre-tokenizer, no post-processor.
"""
import json
import os
import sys

import tokenizers
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "tokenizers", "bpe_unit_golden.jsonl")

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
QWEN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
        r"|\s+(?!\S)|\s+")
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
          r"|\s+(?!\S)|\s+")

TEXTS = [
    "Hello world, how's it going?", "I'M HERE, YOU'LL SEE 'S 'T", "  two  spaces   three\tTab\nnewline\r\n",
    "trailing spaces   ", "   ", "a", "x" * 40, "1234567 89 3.14 x2y3", "don't stop\n\n\nnew paragraph",
    "Café Ελληνικά Русский 中文字符 日本語 한국어 عربى עברית हिन्दी ไทย", "emoji 👨\u200d👩\u200d👧 🇯🇵 👍🏽!",
    "nel\u0085x nbsp\u00a0x ideo\u3000x em\u2003x line\u2028x para\u2029x vt\x0bx fs\x1cx", "ſ 'ſ K 'K",
    "e\u0301 a\u0300\u0301 \u0915\u094d\u0937", "ＡＢＣ１２３！？", "tabs\t\t\tand\u000b\u000cvt", "",
    "punct!!!...???", "a.b.c", "aaa bbb aaa", "xay xxay", "ba ab aba bab",
]

SPLITS = [
    ({"Regex": GPT2}, "Isolated", False), ({"Regex": QWEN}, "Isolated", False), ({"Regex": LLAMA3}, "Isolated", False),
    ({"Regex": r"\s+"}, "Removed", False), ({"Regex": r"\s+"}, "Isolated", False),
    ({"Regex": r"\s+"}, "MergedWithPrevious", False), ({"Regex": r"\s+"}, "MergedWithNext", False),
    ({"Regex": r"\s+"}, "Contiguous", False), ({"Regex": r"\s+"}, "Removed", True),
    ({"Regex": r"\s"}, "Contiguous", False), ({"Regex": r"\p{P}"}, "MergedWithNext", False),
    ({"Regex": r"\p{P}"}, "MergedWithPrevious", True), ({"Regex": r"a*"}, "Isolated", False),
    ({"Regex": r"a*"}, "Removed", False), ({"Regex": r"(?=a)"}, "Isolated", False), ({"Regex": r"\b"}, "Removed", False),
    ({"Regex": r"\S+"}, "Isolated", True), ({"Regex": r"[^\s]+"}, "Contiguous", True),
    ({"String": " "}, "Removed", False), ({"String": " "}, "MergedWithPrevious", False),
    ({"String": "a"}, "MergedWithNext", False), ({"String": "."}, "Isolated", False),
    ({"String": "ab"}, "Contiguous", False), ({"String": ""}, "Isolated", False),
    ({"String": "(a)"}, "Isolated", False),
]


def split_lines():
    out = []
    for pattern, behavior, invert in SPLITS:
        pat = Regex(pattern["Regex"]) if "Regex" in pattern else pattern["String"]
        pre = pre_tokenizers.Split(pat, behavior=behavior.lower().replace("mergedwith", "merged_with_"),
                                   invert=invert)
        spec = json.loads(pre.__getstate__())
        assert spec["pattern"] == pattern and spec["behavior"] == behavior, spec
        for t in TEXTS + ["(a)b(a)", "aab  a"]:
            out.append({"kind": "split", "pre_tokenizer": spec, "text": t,
                        "pieces": [p for p, _ in pre.pre_tokenize_str(t)]})
    for aps in (False, True):
        for use_regex in (False, True):
            pre = pre_tokenizers.ByteLevel(add_prefix_space=aps, use_regex=use_regex)
            spec = json.loads(pre.__getstate__())
            for t in TEXTS:
                out.append({"kind": "byte_level", "pre_tokenizer": spec, "text": t,
                            "pieces": [p for p, _ in pre.pre_tokenize_str(t)]})
    return out


CORPUS = ["low lower lowest newer newest wider widest", "the theory of the thing", "banana bandana band",
          "aaa aaaa aaaaa", "hug hugs hugging pug pugs", "xay xxay yay"] * 20


def small_bpe(name, prefix=None, suffix=None, **opts):
    affixes = {k: v for k, v in (("continuing_subword_prefix", prefix), ("end_of_word_suffix", suffix)) if v}
    trainer = trainers.BpeTrainer(vocab_size=80, special_tokens=["[UNK]"], min_frequency=2, show_progress=False,
                                  **affixes)
    tok = Tokenizer(models.BPE(unk_token="[UNK]", **affixes))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(CORPUS, trainer)
    spec = json.loads(tok.to_str())
    model = spec["model"]
    if opts.pop("byte_tokens", False):
        for b in range(256):
            model["vocab"].setdefault("<0x%02X>" % b, len(model["vocab"]))
    for extra in opts.pop("extra_vocab", []):  # whole words that merges never build (ignore_merges finds them)
        model["vocab"].setdefault(extra, len(model["vocab"]))
    if opts.pop("drop_unk", False):
        model["unk_token"] = None
    if opts.pop("legacy_merges", False):
        model["merges"] = [a + " " + b for a, b in model["merges"]]
    model.update(opts)
    return name, spec


def tokenizer_lines():
    configs = [
        small_bpe("plain"), small_bpe("prefix", prefix="##"), small_bpe("suffix", suffix="</w>"),
        small_bpe("prefix_suffix", prefix="##", suffix="</w>"), small_bpe("fuse_unk", fuse_unk=True),
        small_bpe("no_unk", drop_unk=True), small_bpe("byte_fallback", byte_tokens=True, byte_fallback=True),
        small_bpe("byte_fallback_unk", byte_fallback=True), small_bpe("byte_fallback_prefix", prefix="##",
                                                                      byte_tokens=True, byte_fallback=True),
        small_bpe("ignore_merges", ignore_merges=True, extra_vocab=["qq", "lowestnewest", "é"]),
        small_bpe("merges_only_extra", extra_vocab=["qq", "lowestnewest", "é"]), small_bpe("legacy_merges", legacy_merges=True),
        small_bpe("dropout_zero", dropout=0.0),
    ]
    texts = ["lowest newer widest", "the theory", "banana bandana", "aaaaaaaaaaaaaaaaaaaaa", "hugging pugs",
             "xay xxay yay", "lowQQer Zlow ZZZ", "é low ñ", "unknown 世界 chars", "a b c", "qq", "lowestnewest",
             "thethethe band bandanana", "hugs#hug"]
    out = []
    for name, spec in configs:
        tok = Tokenizer.from_str(json.dumps(spec))
        cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]
        out.append({"kind": "tokenizer", "name": name, "tokenizer": spec, "cases": cases})
    return out


def main():
    lines = split_lines() + tokenizer_lines()
    with open(OUT, "w", encoding="utf-8") as f:
        for rec in lines:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} lines to {OUT} (tokenizers {tokenizers.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
