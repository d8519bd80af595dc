#!/usr/bin/env python3
"""Build the extra random-weight parity fixtures in tests/data/extra/ with the real libraries.

Development tool only (not a test dependency): run it in the reference environment of
scripts/reference/README.md.  It writes

  tests/data/extra/models/<name>/   four tiny BERT models in exact Hugging Face / sentence-transformers layout
  tests/data/extra/golden.jsonl     one line per case, outputs of sentence-transformers' CrossEncoder.predict /
                                    SentenceTransformer.encode and of the underlying Hugging Face model

and then checks every golden line against two independent paths (transformers' AutoTokenizer + AutoModel with
pooling / activation written out by hand, and a float64 NumPy forward pass that reads the safetensors files
directly), printing the largest differences.  `--verify-only` re-runs only the checks.

Inputs: the real 30522-token tokenizer files under tests/data/tokenizers/ and SciFact texts under
$SHARED/data/scifact (default /work/shared).  The output is deterministic for a given library version set.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import shutil
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "data", "extra")
TOK = os.path.join(REPO, "tests", "data", "tokenizers")
OLD_GOLDEN = os.path.join(REPO, "tests", "data", "encoders", "golden.jsonl")
SHARED = os.environ.get("SHARED", "/work/shared")
HUGE = 1000000000000000019884624838656  # transformers' VERY_LARGE_INTEGER, what an unset model_max_length becomes


# ----------------------------------------------------------------------------------------------------- models


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Replace the default init (zero biases, unit LayerNorms, tiny weights) by values that make every
    parameter matter, so that a wrong bias, a swapped LayerNorm gamma/beta or a transposed matrix shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.2 * r)
            elif name.endswith("bias"):
                p.copy_(0.1 * r)
            elif "embeddings" in name:
                p.copy_(0.5 * r)
            else:
                p.copy_(0.3 * r)


def copy_files(src_dir: str, dst_dir: str, names) -> None:
    for n in names:
        shutil.copyfile(os.path.join(src_dir, n), os.path.join(dst_dir, n))


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def st_version_block():
    import sentence_transformers
    import transformers

    return {
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "pytorch": torch.__version__,
    }


def build_ce_relu_3label(d: str) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    cfg = BertConfig(
        vocab_size=30522, hidden_size=24, num_hidden_layers=3, num_attention_heads=3, intermediate_size=40,
        hidden_act="relu", max_position_embeddings=512, type_vocab_size=2, num_labels=3,
        id2label={0: "contradiction", 1: "entailment", 2: "neutral"},
        label2id={"contradiction": 0, "entailment": 1, "neutral": 2},
    )
    torch.manual_seed(1001)
    m = BertForSequenceClassification(cfg).eval()
    randomize(m, 1001)
    m = m.half()
    # The word-embedding table alone (30522 x 24 x 2 bytes = 1.46 MB) exceeds 1 MB, so this gives 2 shards.
    m.save_pretrained(d, safe_serialization=True, max_shard_size="1MB")
    copy_files(os.path.join(TOK, "ms-marco-MiniLM-L-6-v2"), d,
               ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"])


def build_ce_sigmoid(d: str) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    cfg = BertConfig(
        vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        hidden_act="gelu_new", max_position_embeddings=64, type_vocab_size=2, num_labels=1,
    )
    torch.manual_seed(1002)
    m = BertForSequenceClassification(cfg).eval()
    randomize(m, 1002)
    m = m.to(torch.bfloat16)
    m.save_pretrained(d, safe_serialization=True)
    src = os.path.join(TOK, "ms-marco-MiniLM-L-6-v2")
    copy_files(src, d, ["vocab.txt", "special_tokens_map.json"])  # deliberately NO tokenizer.json
    with open(os.path.join(src, "tokenizer_config.json"), encoding="utf-8") as f:
        tc = json.load(f)
    tc["model_max_length"] = HUGE  # as a tokenizer saved without a max length: the engine must cap at 64
    write_json(os.path.join(d, "tokenizer_config.json"), tc)


def build_bi_max(d: str) -> None:
    from transformers import BertConfig, BertModel

    cfg = BertConfig(
        vocab_size=30522, hidden_size=20, num_hidden_layers=2, num_attention_heads=4, intermediate_size=40,
        hidden_act="gelu", max_position_embeddings=128, type_vocab_size=2,
    )
    torch.manual_seed(1003)
    m = BertModel(cfg).eval()
    randomize(m, 1003)
    m.save_pretrained(d, safe_serialization=True)  # BertModel: tensor names without the "bert." prefix
    copy_files(os.path.join(TOK, "bge-small-en-v1.5"), d, ["tokenizer.json", "tokenizer_config.json"])
    # Old-style sentence-transformers files (as written by sentence-transformers 2.x). No max_seq_length key:
    # the length is the tokenizer's model_max_length (512) capped at max_position_embeddings (128).
    write_json(os.path.join(d, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ])
    write_json(os.path.join(d, "sentence_bert_config.json"), {"do_lower_case": False})
    write_json(os.path.join(d, "config_sentence_transformers.json"),
               {"__version__": {"sentence_transformers": "2.2.2", "transformers": "4.30.2", "pytorch": "2.0.1"}})
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    write_json(os.path.join(d, "1_Pooling", "config.json"), {
        "word_embedding_dimension": 20,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": True,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })


def build_bi_meansqrt(d: str) -> None:
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    cfg = BertConfig(
        vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48,
        hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
    )
    torch.manual_seed(1004)
    m = BertModel(cfg).eval()
    randomize(m, 1004)
    m.save_pretrained(d, safe_serialization=True)
    copy_files(os.path.join(TOK, "all-MiniLM-L6-v2"), d,
               ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"])
    # New-style sentence-transformers files: let the installed sentence-transformers write them, then keep only
    # its config files (weights and tokenizer files stay the ones above).
    with tempfile.TemporaryDirectory() as tmp:
        t = models.Transformer(d, max_seq_length=48)
        p = models.Pooling(t.get_word_embedding_dimension(), pooling_mode="mean_sqrt_len_tokens")
        st = SentenceTransformer(modules=[t, p, models.Normalize()], device="cpu")
        st.save(tmp)
        for root, _dirs, files in os.walk(tmp):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), tmp)
                keep = rel in ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json") \
                    or rel.startswith("1_") or rel.startswith("2_")
                if keep and not rel.endswith("README.md"):
                    os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
                    shutil.copyfile(os.path.join(tmp, rel), os.path.join(d, rel))
    # sentence-transformers 5.x keeps max_seq_length only in the tokenizer's model_max_length, which we replaced by
    # the original files (512). Put it where sentence-transformers <= 4 (and every Hub model) has it, next to the
    # new-style keys; sentence-transformers 5.x still reads it from there (checked below: max_seq_length 48).
    sb_path = os.path.join(d, "sentence_bert_config.json")
    sb = {"max_seq_length": 48, "do_lower_case": False, **json.load(open(sb_path, encoding="utf-8"))}
    write_json(sb_path, sb)


MODELS = {
    "ce-relu-3label": ("ce", build_ce_relu_3label),
    "ce-sigmoid": ("ce", build_ce_sigmoid),
    "bi-max": ("bi", build_bi_max),
    "bi-meansqrt": ("bi", build_bi_meansqrt),
}


# ----------------------------------------------------------------------------------------------------- texts


def load_texts():
    old = set()
    with open(OLD_GOLDEN, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            for k in ("text", "query", "document"):
                if k in r:
                    old.add(r[k])
    with open(os.path.join(SHARED, "data", "scifact", "queries.jsonl"), encoding="utf-8") as f:
        claims = [json.loads(l)["text"] for l in f]
    docs = []
    with gzip.open(os.path.join(SHARED, "data", "scifact", "corpus.jsonl.gz"), "rt", encoding="utf-8") as f:
        for i, l in enumerate(f):
            if i >= 3000:
                break
            d = json.loads(l)
            docs.append((d["title"], d["text"]))
    claims = [c for c in claims if c not in old]
    docs = [d for d in docs if d[0] not in old and (d[0] + " " + d[1]).strip() not in old]
    return claims, docs, old


SPECIAL_QUERIES = [
    "Café résumé naïve Zürich Ångström über São Paulo",
    "ÉCOLE NORMALE SUPÉRIEURE – Straße, Øresund, Łódź, İstanbul",
    "肺癌的免疫治疗效果如何？",
    "東京大学の研究者が新しいワクチンを開発した",
    "한국어 문장과 English mixed 텍스트",
    "Does 🧬 gene therapy work? 🚀🔬👩‍🔬",
    "tab\there\nnew line\r\ncarriage\u0000null\u0007bell\u200bzero width\u00adsoft hyphen",
    "[CLS] literal special tokens [SEP] in the [MASK] text [UNK] [PAD]",
    "   leading and trailing spaces   ",
    "UPPER lower MiXeD CaSe 12345 3.14159 1,000,000 -42 +7 e=mc^2",
    "p53 & BRCA1/2 (n=1,024; p<0.001) [95% CI: 1.2–3.4]",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "Ελληνικά και русский текст и العربية والعبرית",
    "αβγ δε ∑∫∂ ≤≥ ±× µg/mL °C",
]

SPECIAL_DOCS = [
    "",
    " ",
    "Les résultats montrent une amélioration significative chez les patients âgés.",
    "研究表明，该药物可以显著降低血压。患者耐受性良好。",
    "🙂🙂🙂 ☃ ❄ 🦩 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 text",
    "line one\nline two\tcol\u000bvertical tab\u000cform feed\u001fcontrol",
    "word " * 300,
]


def ce_cases(name: str, claims, docs, rng: random.Random):
    """~30 (query, document, max_length or None) triples."""
    lengths = [64, 20] if name == "ce-sigmoid" else [512, 64, 20]
    cases = []
    picks = rng.sample(range(len(claims)), 12)
    dpicks = rng.sample(range(len(docs)), 12)
    for k in range(12):
        title, text = docs[dpicks[k]]
        q = claims[picks[k]]
        if k % 3 == 0:
            d = (title + " " + text).strip()  # full abstract: truncates at every length
        elif k % 3 == 1:
            d = text[: rng.randint(80, 300)]  # abstract snippet
        else:
            d = title
        cases.append((q, d, lengths[k % len(lengths)]))
    for k, q in enumerate(SPECIAL_QUERIES):
        cases.append((q, SPECIAL_DOCS[k % len(SPECIAL_DOCS)] if k % 2 else docs[dpicks[k % 12]][0],
                      lengths[(k + 1) % len(lengths)]))
    # long query, long document: LongestFirst has to cut both
    long_q = claims[picks[0]] + " " + docs[dpicks[1]][1][:400]
    cases.append((long_q, (docs[dpicks[2]][0] + " " + docs[dpicks[2]][1]).strip(), 20))
    cases.append((long_q, "short doc", 20))
    cases.append(("", "empty query, short document", lengths[0]))
    # no max_length given: the library's default (tokenizer model_max_length capped at max_position_embeddings)
    cases.append((claims[picks[3]], (docs[dpicks[4]][0] + " " + docs[dpicks[4]][1]).strip(), None))
    cases.append((claims[picks[5]], "", None))
    cases.append((SPECIAL_QUERIES[2], SPECIAL_DOCS[-1], None))
    return cases


def bi_cases(name: str, claims, docs, rng: random.Random):
    """~30 (text, max_length or None) pairs; None = the model's own max_seq_length."""
    cases = []
    for i in rng.sample(range(len(claims)), 8):
        cases.append((claims[i], None))
    for k, i in enumerate(rng.sample(range(len(docs)), 6)):
        title, text = docs[i]
        cases.append(((title + " " + text).strip() if k % 2 == 0 else text[: rng.randint(60, 250)], None))
    for q in SPECIAL_QUERIES:
        cases.append((q, None))
    for d in SPECIAL_DOCS:
        if d not in ("",):
            cases.append((d, None))
    cases.append(("", None))
    i = rng.randrange(len(docs))
    cases.append(((docs[i][0] + " " + docs[i][1]).strip(), 16))  # explicit shorter max_seq_length
    cases.append((claims[rng.randrange(len(claims))], 16))
    return cases


# ----------------------------------------------------------------------------------------------------- goldens


def _f(x):
    return [float(v) for v in x]


def make_goldens(names) -> list[dict]:
    from sentence_transformers import CrossEncoder, SentenceTransformer

    claims, docs, _old = load_texts()
    out = []
    for name in names:
        kind, _ = MODELS[name]
        d = os.path.join(OUT, "models", name)
        rng = random.Random("extra:" + name)
        if kind == "ce":
            cases = ce_cases(name, claims, docs, rng)
            by_len: dict = {}
            for i, c in enumerate(cases):
                by_len.setdefault(c[2], []).append(i)
            recs: list = [None] * len(cases)
            for ml, idx in by_len.items():
                ce = CrossEncoder(d, device="cpu", **({} if ml is None else {"max_length": ml}))
                ce.eval()
                print(f"[extra] {name} max_length={ml}: effective {ce.max_seq_length}, num_labels {ce.num_labels}, "
                      f"activation_fn {ce.activation_fn!r}, dtype {ce.model.dtype}", file=sys.stderr)
                pairs = [(cases[i][0], cases[i][1]) for i in idx]
                scores = ce.predict(pairs, batch_size=8, convert_to_numpy=True, show_progress_bar=False)
                for k, i in enumerate(idx):
                    feats = ce.preprocess([pairs[k]])
                    with torch.no_grad():
                        logits = ce.model(input_ids=feats["input_ids"], token_type_ids=feats["token_type_ids"],
                                          attention_mask=feats["attention_mask"]).logits[0]
                    s = scores[k]
                    recs[i] = {
                        "model": name, "query": pairs[k][0], "document": pairs[k][1],
                        "max_length": int(ce.max_seq_length), "max_length_default": ml is None,
                        "input_ids": feats["input_ids"][0].tolist(),
                        "token_type_ids": feats["token_type_ids"][0].tolist(),
                        "logits": _f(logits), "score": float(s) if np.ndim(s) == 0 else _f(s),
                    }
            out.extend(recs)
        else:
            cases = bi_cases(name, claims, docs, rng)
            st = SentenceTransformer(d, device="cpu")
            st.eval()
            default_len = st.max_seq_length
            print(f"[extra] {name}: {st}, default max_seq_length {default_len}", file=sys.stderr)
            recs = [None] * len(cases)
            by_len = {}
            for i, c in enumerate(cases):
                by_len.setdefault(c[1], []).append(i)
            for ml, idx in by_len.items():
                st.max_seq_length = default_len if ml is None else ml
                texts = [cases[i][0] for i in idx]
                emb = st.encode(texts, batch_size=8, convert_to_numpy=True, show_progress_bar=False)
                for k, i in enumerate(idx):
                    feats = st.preprocess([texts[k]])
                    recs[i] = {
                        "model": name, "text": texts[k], "max_length": int(st.max_seq_length),
                        "max_length_default": ml is None,
                        "input_ids": feats["input_ids"][0].tolist(),
                        "token_type_ids": feats["token_type_ids"][0].tolist(),
                        "embedding": _f(emb[k]),
                    }
            st.max_seq_length = default_len
            out.extend(recs)
    return out


# ----------------------------------------------------------------------------------------------------- checks


def load_weights(d: str) -> dict:
    from safetensors.numpy import load_file

    idx = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
    w = {}
    for f in files:
        from safetensors import safe_open

        with safe_open(os.path.join(d, f), framework="pt") as sf:  # numpy has no bfloat16
            for k in sf.keys():
                w[k] = sf.get_tensor(k).to(torch.float64).numpy()
    return w


def np_bert(w: dict, cfg: dict, ids, tt):
    """Float64 NumPy statement of transformers' BertModel (no padding: one sequence)."""
    from scipy.special import erf

    p = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""
    eps = cfg.get("layer_norm_eps", 1e-12)

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

    def lin(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    act = {
        "gelu": lambda x: 0.5 * x * (1.0 + erf(x / math.sqrt(2.0))),
        "gelu_new": lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3))),
        "relu": lambda x: np.maximum(x, 0.0),
    }[cfg["hidden_act"]]
    ids = np.asarray(ids)
    n = len(ids)
    x = (w[p + "embeddings.word_embeddings.weight"][ids] + w[p + "embeddings.position_embeddings.weight"][:n]
         + w[p + "embeddings.token_type_embeddings.weight"][np.asarray(tt)])
    x = ln(x, p + "embeddings.LayerNorm")
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    for l in range(cfg["num_hidden_layers"]):
        b = f"{p}encoder.layer.{l}."
        q = lin(x, b + "attention.self.query").reshape(n, nh, hd).transpose(1, 0, 2)
        k = lin(x, b + "attention.self.key").reshape(n, nh, hd).transpose(1, 0, 2)
        v = lin(x, b + "attention.self.value").reshape(n, nh, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(n, H)
        x = ln(lin(ctx, b + "attention.output.dense") + x, b + "attention.output.LayerNorm")
        h = act(lin(x, b + "intermediate.dense"))
        x = ln(lin(h, b + "output.dense") + x, b + "output.LayerNorm")
    return x, p


def verify(golden: list[dict]) -> dict:
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    worst: dict = {}
    for name in dict.fromkeys(r["model"] for r in golden):
        d = os.path.join(OUT, "models", name)
        cfg = json.load(open(os.path.join(d, "config.json")))
        w = load_weights(d)
        tok = AutoTokenizer.from_pretrained(d)
        rows = [r for r in golden if r["model"] == name]
        st = {"ids_mismatch": 0, "hf_vs_golden": 0.0, "np64_vs_golden": 0.0, "np64_vs_hf": 0.0, "cases": len(rows)}
        if "query" in rows[0]:
            hf = AutoModelForSequenceClassification.from_pretrained(d, torch_dtype=torch.float32).eval()
        else:
            hf = AutoModel.from_pretrained(d, torch_dtype=torch.float32).eval()
            pool = json.load(open(os.path.join(d, "1_Pooling", "config.json")))
            mode = pool.get("pooling_mode") or next(
                m for k, m in [("pooling_mode_cls_token", "cls"), ("pooling_mode_max_tokens", "max"),
                               ("pooling_mode_mean_tokens", "mean"),
                               ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens")] if pool.get(k))
            normalize = any("Normalize" in m["type"] for m in json.load(open(os.path.join(d, "modules.json"))))
        for r in rows:
            # batch calls, as sentence-transformers makes them: a single call tok(q, "") would drop the empty
            # pair ([CLS] q [SEP]) where the batch call keeps it ([CLS] q [SEP] [SEP])
            if "query" in r:
                enc = tok([r["query"]], [r["document"]], truncation="longest_first", max_length=r["max_length"])
            else:
                enc = tok([r["text"]], truncation=True, max_length=r["max_length"])
            enc = {k: v[0] for k, v in enc.items()}
            if enc["input_ids"] != r["input_ids"] or enc["token_type_ids"] != r["token_type_ids"]:
                st["ids_mismatch"] += 1
            ids = torch.tensor([r["input_ids"]])
            tt = torch.tensor([r["token_type_ids"]])
            with torch.no_grad():
                o = hf(input_ids=ids, token_type_ids=tt, attention_mask=torch.ones_like(ids))
            x, p = np_bert(w, cfg, r["input_ids"], r["token_type_ids"])
            if "query" in r:
                logits = o.logits[0].double().numpy()
                pooled = np.tanh(x[0] @ w[p + "pooler.dense.weight"].T + w[p + "pooler.dense.bias"])
                np_logits = pooled @ w["classifier.weight"].T + w["classifier.bias"]
                got, ref = np.asarray(r["logits"]), logits
                st["np64_vs_golden"] = max(st["np64_vs_golden"], float(np.abs(np_logits - got).max()))
                st["np64_vs_hf"] = max(st["np64_vs_hf"], float(np.abs(np_logits - ref).max()))
                st["hf_vs_golden"] = max(st["hf_vs_golden"], float(np.abs(ref - got).max()))
                # score: Sigmoid for 1 label (no activation_fn in config), Identity otherwise
                exp_score = 1 / (1 + np.exp(-np_logits[0])) if len(np_logits) == 1 else np_logits
                st["score_np64_vs_golden"] = max(st.get("score_np64_vs_golden", 0.0),
                                                 float(np.abs(np.asarray(r["score"]) - exp_score).max()))
            else:
                def pool_fn(h):
                    if mode == "max":
                        e = h.max(0)
                    elif mode == "mean":
                        e = h.mean(0)
                    elif mode == "mean_sqrt_len_tokens":
                        e = h.sum(0) / math.sqrt(h.shape[0])
                    elif mode == "cls":
                        e = h[0]
                    return e / max(np.linalg.norm(e), 1e-12) if normalize else e

                ref = pool_fn(o.last_hidden_state[0].double().numpy())
                npe = pool_fn(x)
                got = np.asarray(r["embedding"])
                st["np64_vs_golden"] = max(st["np64_vs_golden"], float(np.abs(npe - got).max()))
                st["np64_vs_hf"] = max(st["np64_vs_hf"], float(np.abs(npe - ref).max()))
                st["hf_vs_golden"] = max(st["hf_vs_golden"], float(np.abs(ref - got).max()))
        worst[name] = st
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verify-only", action="store_true")
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    import sentence_transformers
    import tokenizers
    import transformers

    print(f"[extra] torch {torch.__version__} transformers {transformers.__version__} sentence-transformers "
          f"{sentence_transformers.__version__} tokenizers {tokenizers.__version__}", file=sys.stderr)
    gpath = os.path.join(OUT, "golden.jsonl")
    if not args.verify_only:
        for name in args.models:
            d = os.path.join(OUT, "models", name)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            MODELS[name][1](d)
            for root, _dirs, files in os.walk(d):
                for f in files:
                    os.chmod(os.path.join(root, f), 0o644)
        golden = make_goldens(args.models)
        with open(gpath, "w", encoding="utf-8") as f:
            for r in golden:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"[extra] wrote {len(golden)} cases to {gpath}", file=sys.stderr)
    golden = [json.loads(l) for l in open(gpath, encoding="utf-8")]
    report = verify(golden)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
