#!/usr/bin/env python3
"""Writes tests/data/tokenizers/extra_golden.jsonl: reference encodings from Hugging Face `tokenizers`.

Development tool, not part of the build. Usage (outside the repo's own environment):
    python3 -m venv /tmp/venv-tok && /tmp/venv-tok/bin/pip install tokenizers
    /tmp/venv-tok/bin/python scripts/reference/tokenizer_golden.py

Each output line: {tokenizer, text, text_pair?, max_length, input_ids, token_type_ids}, where the encoding is
`Tokenizer.from_file(tests/data/tokenizers/<tokenizer>/tokenizer.json)` with
`enable_truncation(max_length, strategy="longest_first")` (max_length 0: `no_truncation()`) and `no_padding()`.
The texts are deterministic (fixed seed), so re-running gives the same file for the same `tokenizers` version.
"""
import json
import os
import random
import sys

from tokenizers import Tokenizer, __version__ as tokenizers_version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "tokenizers")
TOKENIZERS = ["ms-marco-MiniLM-L-6-v2", "all-MiniLM-L6-v2", "bge-small-en-v1.5"]

SHORT_TEXTS = [
    "", " ", "\n\n", "\t", "a", "A", "Hello, world!", "How do I reset my password?",
    "   leading and trailing   ", "multiple    spaces\tand\ttabs\nand\r\nnewlines\rcr",
    # accents and case
    "Café naïve résumé Ångström façade Œuvre", "ÀÉÎÕÜ àéîõü ÇÑ çñ", "e\u0301 vs \u00e9", "\u0301\u0301abc",
    "a\u20ddb a\u0903b", "Crème brûlée à la carte", "ÅSTRÖM, Jürgen; Øresund",
    # Greek, Turkish, German, Cyrillic
    "ΟΔΥΣΣΕΥΣ Σίσυφος ΣΑΣ", "İstanbul IĞDIR ıi İi", "STRASSE Straße ẞ groß", "Привет, МИР! Ёлка",
    "ǅemal ǈubljana ǋ", "ﬁnance ﬀ ﬃ", "ＡＢＣ１２３！？ ｈｅｌｌｏ",
    # CJK, Hangul, Japanese
    "我爱北京天安门", "日本語のテキストです。", "안녕하세요 세계", "BERT模型很好用!", "中文,English混合。",
    "\U00020000\U0002a700\U0002b820\U0002b920\uf900", "㐀㐁 䶿",
    # other scripts
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีครับ", "ሰላም", "ᚠᚢᚦ",
    # emoji
    "I love 🍕 and 🎉!", "👨\u200d👩\u200d👧 family", "🇺🇸🇫🇷", "👍🏽 ok", "😀😃😄", "🥰 🫠 x",
    # control and invisible characters
    "nul\x00byte", "bell\x07 esc\x1b[31mred\x1b[0m", "zero\u200bwidth", "\ufeffbom", "soft\u00adhyphen",
    "word\u2060joiner", "rtl\u200e\u200fmarks", "del\x7fchar", "vt\x0bff\x0cend", "nel\u0085x",
    "nbsp\u00a0x", "ideo\u3000space", "em\u2003space", "line\u2028para\u2029sep", "ogham\u1680x",
    "narrow\u202fnbsp", "\ue000private\U000f0000", "unassigned\u0378x", "x\ufffey", "repl\ufffdchar",
    "tag\U000e0041chars",
    # special tokens typed in the text
    "foo [SEP] bar", "[CLS][SEP][PAD][MASK][UNK]", "[sep] [Sep]", "[ SEP ]", "x[SEP]y", "[[SEP]]",
    "[CLS] query [SEP] document [SEP]", "[UNK]", "[MASK]ing", "[SEP", "SEP]",
    # long words
    "a" * 99, "a" * 100, "a" * 101, "supercalifragilistic" * 6, "é" * 100, "é" * 101,
    "x" * 250 + " ok", "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
    # punctuation and symbols
    "!!!???...", "¿¡«»„“”‘’—–…", "$%^&*()_+-=[]{}|\\;':\",./<>?`~", "∑∫√∞ ≠ ≤ ±", "©®™ ℃ № §¶",
    "€5 £10 ¥20 ₹30", "‰ ‱ ′ ″ ‹ › ⁂ ※ ‼", "3.14159 1,000,000 2024-01-01 +1 (555) 123-4567",
    "https://example.com/path?q=1&r=2#frag", "user.name+tag@example.co.uk", "def f(x): return x**2  # square",
    "C++ and C# and F#", "e.g. i.e. etc. U.S.A.", "don't won't can't y'all", "hyphen-ated co-operate",
    "html <b>bold</b> &amp; &lt;", "snake_case camelCase PascalCase SCREAMING_CASE", "v1.2.3-beta+build.5",
]

WORDS = (
    "the of and to in is was for on that with as by at from it an be this which or are were has have had not but "
    "protein cell gene expression analysis model learning neural network retrieval ranking query document score "
    "patients treatment clinical trial results significant p-value (n=42) 95% CI [1.2, 3.4] μg/mL IL-6 TNF-α "
    "naïve café résumé Zürich São Paulo Kraków Ελλάδα Москва 東京 北京大学 서울 😀 🚀 ✓ → ≥ ½ "
    "state-of-the-art cross-encoder bi-encoder BERT MiniLM BGE MS-MARCO e.g. i.e. et al. Fig. 3 Table 2 "
    "electroencephalography immunohistochemistry photosynthesis thermodynamics counterrevolutionary "
).split()


def long_text(rng, n_words):
    out = []
    for i in range(n_words):
        w = rng.choice(WORDS)
        if i > 0 and rng.random() < 0.08:
            w = w + rng.choice([".", ",", ";", ":", "!", "?"])
        out.append(w)
    return " ".join(out)


def build_cases():
    rng = random.Random(12345)
    cases = []  # (text, text_pair or None, max_length)
    mls = [0, 8, 9, 16, 17, 32, 64, 128, 256, 512]
    for i, t in enumerate(SHORT_TEXTS):
        cases.append((t, None, 0))
        cases.append((t, None, mls[1 + i % (len(mls) - 1)]))
    longs = [long_text(rng, n) for n in (50, 120, 300, 450, 700)]
    for t in longs:
        for ml in (8, 9, 33, 128, 512):
            cases.append((t, None, ml))
    # pairs: short query + short doc, drawn from the short texts
    for i in range(60):
        q = rng.choice(SHORT_TEXTS)
        d = rng.choice(SHORT_TEXTS)
        cases.append((q, d, rng.choice(mls)))
    # pairs where either side is the longer, at several max_lengths
    for i in range(40):
        q = long_text(rng, rng.choice([3, 8, 20, 60, 200]))
        d = long_text(rng, rng.choice([5, 30, 100, 300, 600]))
        if i % 3 == 1:
            q, d = d, q
        ml = rng.choice([8, 9, 10, 11, 16, 31, 64, 128, 256, 512])
        if ml >= 256 and len(q.split()) + len(d.split()) > 400:
            ml = rng.choice([64, 100, 128])  # keep the file small
        cases.append((q, d, ml))
    # equal-length sequences and odd budgets (the tie-break of LongestFirst)
    for ml in (8, 9, 10, 11, 12, 13):
        t = long_text(rng, 20)
        cases.append((t, t, ml))
        cases.append((t, t + " extra words", ml))
        cases.append((t + " extra words", t, ml))
    # typed special tokens inside pairs
    cases.append(("what is [SEP]?", "[SEP] is the separator token [CLS]", 0))
    cases.append(("[CLS]" * 10, "[SEP]" * 10, 13))
    return cases


def write_goldens(names, cases, out_path):
    """Encodes every case with each tokenizer in tests/data/tokenizers/<name>/; returns the number of lines."""
    n = 0
    with open(out_path, "w", encoding="utf-8") as f:
        for name in names:
            tok = Tokenizer.from_file(os.path.join(DATA, name, "tokenizer.json"))
            tok.no_padding()
            for text, pair, ml in cases:
                if ml == 0:
                    tok.no_truncation()
                else:
                    tok.enable_truncation(ml, strategy="longest_first")
                enc = tok.encode(text, pair) if pair is not None else tok.encode(text)
                rec = {"tokenizer": name, "text": text}
                if pair is not None:
                    rec["text_pair"] = pair
                rec.update(max_length=ml, input_ids=enc.ids, token_type_ids=enc.type_ids)
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    return n


def main():
    out_path = os.path.join(DATA, "extra_golden.jsonl")
    n = write_goldens(TOKENIZERS, build_cases(), out_path)
    print(f"wrote {n} cases to {out_path} (tokenizers {tokenizers_version})", file=sys.stderr)


if __name__ == "__main__":
    main()
