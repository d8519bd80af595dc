#!/usr/bin/env python3
"""Makes the fuzz targets' seed corpora from the repository's fixtures (tests/data): seed.py OUT_DIR.

Writes OUT_DIR/<target>/<name> for every target of tests/fuzz, in the input layout each target's header comment
describes (a selector byte, then the file). Big fixtures are shrunk (tokenizer.json vocabularies cut to their
first entries, files to 64 KiB) so that the fuzzers run fast. Hand-made seeds and the regression inputs of
crashes found are checked in under tests/fuzz/corpus/<target>/ instead.
"""
import gzip
import json
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
OUT = Path(sys.argv[1])
CAP = 65536


def put(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data[:CAP])


def shrink_tokenizer(j, keep=600):
    """The tokenizer.json with a vocabulary cut to about `keep` entries (specials and merges kept consistent)."""
    m = j.get("model") or {}
    vocab = m.get("vocab")
    if isinstance(vocab, dict):
        ids = {t: i for t, i in vocab.items() if i < keep}
        for a in j.get("added_tokens") or []:
            if a.get("content") in vocab:
                ids[a["content"]] = vocab[a["content"]]
        m["vocab"] = ids
        if isinstance(m.get("merges"), list):
            def parts(x):
                return x.split(" ", 1) if isinstance(x, str) else x
            m["merges"] = [x for x in m["merges"] if len(parts(x)) == 2 and all(p in ids for p in parts(x))
                           and "".join(parts(x)) in ids][:400]
    elif isinstance(vocab, list):
        m["vocab"] = vocab[:keep]
        for a in j.get("added_tokens") or []:
            if a.get("id", 0) >= keep:
                a["id"] = keep - 1
        if isinstance(m.get("unk_id"), int) and m["unk_id"] >= keep:
            m["unk_id"] = 0
    return j


def tokenizers():
    seen = set()
    for p in sorted(DATA.glob("**/tokenizer.json")):
        raw = p.read_bytes()
        if raw in seen:
            continue
        seen.add(raw)
        yield p, raw


def main():
    # tokenizer.json (+ NUL + text)
    for p, raw in tokenizers():
        name = p.parent.name
        try:
            small = json.dumps(shrink_tokenizer(json.loads(raw)), ensure_ascii=False).encode()
        except (ValueError, AttributeError):
            small = raw
        put("tokenizer_json", name, small)
        put("tokenizer_json", name + "-text", small + b"\0Hello WORLD, caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac! 12.5%")
    # texts to encode: selector byte (tokenizer), max_length byte, text [NUL text]
    texts = [b"how do i reset my password?", "Ünïcödé café 東京 naïve — “quotes” 😀".encode(),
             b"\xff\xfe invalid \xc3 utf8 \xed\xa0\x80", b"  multiple   spaces\tand\nnewlines  ",
             b"[CLS] [SEP] <s> </s> <pad> <mask> [UNK]", b"a" * 300, b"don't stop-believing... U.S.A. 3.14"]
    for line in (DATA / "retrieval" / "corpus.jsonl").read_text().splitlines()[:5]:
        texts.append(json.loads(line)["text"].encode())
    for i, t in enumerate(texts):
        for sel in range(8):
            put("tokenizer_encode", f"t{i}-{sel}", bytes([sel, (7 * i + 13) % 64]) + t + (b"\0second text" if i % 2 else b""))
    # model configuration: config.json NUL modules.json NUL sentence_bert_config.json NUL
    # config_sentence_transformers.json NUL tokenizer_config.json NUL 1_Pooling/config.json
    for cfg in sorted(DATA.glob("**/models/*/config.json")) + sorted(DATA.glob("tokenizers/*/config.json")):
        d = cfg.parent
        files = ["config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                 "tokenizer_config.json", "1_Pooling/config.json"]
        parts = [(d / f).read_bytes() if (d / f).exists() else b"" for f in files]
        put("model_config", d.parent.parent.name + "-" + d.name, b"\0".join(parts))
    # safetensors: byte 0 even = one file, odd = index.json beside two shards (a.weight, b.weight)
    def st(tensors, meta=None):
        header, data = {}, b""
        for name, dtype, shape, blob in tensors:
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
            data += blob
        if meta:
            header["__metadata__"] = meta
        h = json.dumps(header).encode()
        return struct.pack("<Q", len(h)) + h + data
    put("safetensors", "f32", b"\0" + st([("w", "F32", [2, 3], struct.pack("<6f", *range(6)))], {"format": "pt"}))
    put("safetensors", "mixed", b"\0" + st([("a", "F16", [4], b"\x00\x3c" * 4), ("b", "BF16", [2], b"\x80\x3f" * 2),
                                             ("c", "F64", [1], struct.pack("<d", 2.5)), ("d", "I64", [2], b"\1" * 16),
                                             ("e", "BOOL", [3], b"\1\0\1"), ("s", "F32", [], b"\0\0\x80\x3f"),
                                             ("z", "F32", [0, 5], b"")]))
    for f in sorted(DATA.glob("**/*.safetensors"))[:3]:
        raw = f.read_bytes()
        n = struct.unpack("<Q", raw[:8])[0]
        put("safetensors", "header-" + f.parent.name, b"\0" + raw[:8 + n] + raw[8 + n:8 + n + 256])
    put("safetensors", "index", b"\1" + json.dumps({"metadata": {"total_size": 20}, "weight_map": {
        "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"}}).encode())
    for f in sorted(DATA.glob("**/model.safetensors.index.json")):
        put("safetensors", "index-" + f.parent.name, b"\1" + f.read_bytes())
    # corpus readers: byte 0 = kind | 0x80 gzip-compressed (see fuzz_corpus.cpp)
    corpus = {"corpus.jsonl": 0, "docs.csv": 1, "docs.tsv": 2, "sample.all": 3, "note.md": 5, "bad.jsonl": 6}
    for name, sel in corpus.items():
        raw = (DATA / "retrieval" / name).read_bytes()
        put("corpus", name, bytes([sel]) + raw)
        put("corpus", name + ".gz", bytes([sel | 0x80]) + raw)
    trec = (b"<DOC>\n<DOCNO> FBIS3-1 </DOCNO>\n<HT> x </HT>\n<HEADLINE>\nPasswords\n</HEADLINE>\n<TEXT>\n"
            b"Reset your <F P=102>password</F> &amp; log in.\n</TEXT>\n</DOC>\n<DOC>\n<DOCNO>FR940104-0-00001</DOCNO>\n"
            b"<PARENT> FR940104-0-00001 </PARENT>\nloose text between tags\n<!-- comment -->\n</DOC>\n")
    put("corpus", "trec", b"\4" + trec)
    put("corpus", "trec-auto", b"\x0a" + trec)
    put("corpus", "trec.gz", b"\xc4" + trec)
    put("corpus", "raw.gz", b"\xc0" + gzip.compress(b'{"_id": "1", "text": "x"}\n'))
    # qrels and runs: byte 0 = reader (see fuzz_qrels_run.cpp)
    qrels = {"toy.qrels": 0, "toy.tsv": 1, "scifact_test.qrels.tsv": 1, "cranqrel": 3, "CISI.REL": 5, "MED.REL": 0}
    for name, sel in qrels.items():
        put("qrels_run", name, bytes([sel]) + (DATA / "eval" / name).read_bytes()[:8192])
    put("qrels_run", "qrels-retrieval", b"\0" + (DATA / "retrieval" / "qrels.tsv").read_bytes())
    put("qrels_run", "qid-docid", b"\7" + b"1 12\n1 13\n2 7\n")
    for name in ["toy_a.trec", "toy_b.trec", "scifact_bm25.trec"]:
        put("qrels_run", name, b"\x08" + (DATA / "eval" / name).read_bytes()[:8192])
    # queries and topics: byte 0 = reader (see fuzz_queries.cpp)
    queries = {"queries.jsonl": 0, "topics.txt": 2, "cran.qry": 4, "CISI.QRY": 6, "MED.QRY": 7}
    for name, sel in queries.items():
        put("queries", name, bytes([sel]) + (DATA / "eval" / name).read_bytes()[:8192])
    put("queries", "retrieval-queries", b"\1" + (DATA / "retrieval" / "queries.jsonl").read_bytes())
    put("queries", "pipeline-topics", b"\3" + (DATA / "pipeline" / "topics.txt").read_bytes()[:8192])


if __name__ == "__main__":
    main()
