#!/usr/bin/env python3
"""Writes tests/data/tokenizers/unigram_edge_golden.jsonl and unigram_variants.json: hostile-text encodings of the
Unigram reference tokenizers and of pipeline variants, by Hugging Face `tokenizers` itself.

Development tool (needs `tokenizers`; the reference tokenizers come from make_tokenizers.py):
    HF_HUB_OFFLINE=1 /work/venv5/bin/python scripts/reference/make_unigram_edge_goldens.py

unigram_variants.json: {name: {"base": tokenizer dir, "set": {top-level key: value}, "extra_added": bool}}: the
base tokenizer.json with those top-level sections replaced (and, with extra_added, `<mask>` given rstrip and
three more added tokens: single_word, normalized with lstrip+rstrip, and a raw one with spaces). The C++ test
builds the same JSON. Variants cover the normalizers (Precompiled, NFKC, NFC, Strip, Replace String/Regex,
Prepend, Lowercase, BertNormalizer), Metaspace's options (prepend_scheme, split, legacy add_prefix_space) and
WhitespaceSplit + Metaspace("first").

Golden lines: {tokenizer (a directory or a variant name), text, text_pair?, max_length 0, input_ids,
token_type_ids}. Texts: fixed edge cases (empty, spaces only, leading/trailing spaces, `<mask>` with spaces, zero
width characters) and random concatenations (fixed seed) of hostile pieces: whitespace of every kind, U+2581,
added tokens, combining marks, compatibility characters, controls, NUL, emoji ZWJ sequences, many scripts.
"""
import copy
import json
import os
import random

import tokenizers
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "tokenizers")
UNIGRAM = ["xlmr-unigram", "xlmr-unigram-t5", "unigram-bytefallback"]

POOL = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u200b", "\u200c", "\u200d", "\ufeff",
        "\u2581", "\u2581\u2581", "<mask>", "<s>", "</s>", "<pad>", "<unk>", " <mask> ", "a", "b", "ab", "xab", "ab!",
        "hello", "Hello", "WORLD", "Hé", "HÉ", "he\u0301", " x ", "x", "é", "e\u0301", "\u0301", "ﬁ", "ＡＢ", "１２",
        "ｶ", "ﾞ", "½", "①", "™", "…", "``", "''", "\"", "'", ".", ",", "!", "?", "-", "_", "¨", "中文", "日本", "한국",
        "\u1100\u1161", "Привет", "Ελλάδα", "שלום", "مرحبا", "नमस्ते", "क्ष", "สวัสดี", "👍", "👍🏽",
        "👨\u200d👩\u200d👧", "🇯🇵", "🏳️\u200d🌈", "\x00", "\x01", "\x7f", "\x85", "\u2028", "\U0001F600", "\U00010000",
        "\U000E0001", "\uFFFD", "İ", "ß", "ǅ", "123", "3.14", "\u0e01\u0e34", "\u0915\u094d", "ü", "u\u0308", "Å",
        "A\u030a", "\u1e9b\u0323", "㎏", "℃", "\u2126", "\u212b"]

FIXED = ["", " ", "  ", "   ", "\t", "\n", "\u2581", " \u2581", "<mask>", " <mask>", "<mask> ", "  <mask>  ", "a <mask>",
         "a<mask>b", "<mask><mask>", "x<mask>y <mask> z  <mask>  w", "<s>", " <s> a", "\u200b", "\u200ba", " a", "  a",
         "a ", "a  ", "\u200b a", "\ufeffa", "ab", " ab ", "\u200bhello", "``hi''", " x hello", "x hello",
         "  leading  double  spaces  "]


def variants(pc):
    ms = lambda **kw: dict({"type": "Metaspace", "replacement": "\u2581"}, **kw)  # noqa: E731
    return {
        "ms-never-nosplit": {"pre_tokenizer": ms(prepend_scheme="never", split=False)},
        "ms-legacy-aps-false": {"pre_tokenizer": ms(add_prefix_space=False, prepend_scheme="never")},
        "ms-legacy-aps-true": {"pre_tokenizer": ms(add_prefix_space=True)},
        "ws-ms-first": {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, ms(prepend_scheme="first", split=True)]}},
        "norm-mix": {"normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}, {"type": "Lowercase"}]}},
        "prepend-replace": {"normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
            "pre_tokenizer": None},
        "pc-nfc-stripleft": {"normalizer": {"type": "Sequence", "normalizers": [
            pc, {"type": "NFC"}, {"type": "Strip", "strip_left": True, "strip_right": False},
            {"type": "Replace", "pattern": {"Regex": "^\\s*x"}, "content": ""}]},
            "pre_tokenizer": ms(prepend_scheme="first", split=True)},
        "bert-norm": {"normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                     "strip_accents": None, "lowercase": True},
                      "pre_tokenizer": ms(prepend_scheme="first", split=True)},
    }


def add_extra(t):
    t["added_tokens"] = [dict(a) for a in t["added_tokens"]]
    for a in t["added_tokens"]:
        if a["content"] == "<mask>":
            a["rstrip"] = True
    n = len(t["model"]["vocab"])
    t["added_tokens"] += [
        {"id": 261, "content": "ab", "single_word": True, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
        {"id": n, "content": "Hé", "single_word": False, "lstrip": True, "rstrip": True, "normalized": True, "special": False},
        {"id": n + 1, "content": " x ", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": False}]


def build(base_json, spec):
    t = copy.deepcopy(base_json)
    t.update(spec["set"])
    if spec["extra_added"]:
        add_extra(t)
    return t


def main():
    rng = random.Random(12)
    texts = FIXED + ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 8))) for _ in range(350)]
    base = json.load(open(os.path.join(DATA, "xlmr-unigram", "tokenizer.json"), encoding="utf-8"))
    pc = base["normalizer"]["normalizers"][0]
    specs = {}
    for name, sections in variants(pc).items():
        for extra in (False, True):
            specs[name + ("+added" if extra else "")] = {"base": "xlmr-unigram", "set": sections, "extra_added": extra}
    # The Precompiled section is referenced, not repeated: the C++ test substitutes the base's own charsmap.
    with open(os.path.join(DATA, "unigram_variants.json"), "w", encoding="utf-8") as f:
        json.dump(json.loads(json.dumps(specs).replace(json.dumps(pc), '"$base_precompiled"')), f, ensure_ascii=False,
                  indent=1)
    out = os.path.join(DATA, "unigram_edge_golden.jsonl")
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        def write(name, tok, text, pair=None):
            nonlocal n
            enc = tok.encode(text, pair) if pair is not None else tok.encode(text)
            rec = {"tokenizer": name, "text": text}
            if pair is not None:
                rec["text_pair"] = pair
            rec.update(max_length=0, input_ids=enc.ids, token_type_ids=enc.type_ids)
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
        for name in UNIGRAM:
            tok = Tokenizer.from_file(os.path.join(DATA, name, "tokenizer.json"))
            for t in texts:
                write(name, tok, t)
            for t in FIXED:
                write(name, tok, t, "b <mask> c")
        for name, spec in specs.items():
            tok = Tokenizer.from_str(json.dumps(build(base, spec)))
            for t in texts[:200]:
                write(name, tok, t)
    print(f"wrote {n} cases to {out} (tokenizers {tokenizers.__version__})")


if __name__ == "__main__":
    main()
