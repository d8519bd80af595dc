#!/usr/bin/env python3
"""Build the architecture parity fixtures in tests/data/arch/ with the real libraries.

Development tool only (not a test dependency): run it with the reference environment (transformers 5.x,
sentence-transformers 6.x, torch 2.x):

    HF_HUB_OFFLINE=1 /work/venv5/bin/python scripts/reference/make_arch_models.py

It writes

  tests/data/arch/models/<name>/  tiny random-weight models of the real transformers classes (XLM-RoBERTa,
                                  RoBERTa, ELECTRA, ModernBERT), saved by save_pretrained and by
                                  sentence-transformers' CrossEncoder / SentenceTransformer save (one in the OLD
                                  layout: the activation in config.json, no modules.json)
  tests/data/arch/golden.jsonl    one line per case: the input_ids (and token_type_ids when the tokenizer makes
                                  them) and the outputs: raw logits of the Hugging Face model and the scores of
                                  CrossEncoder.predict, or SentenceTransformer.encode's embedding

The C++ tests feed input_ids straight to the model, so these fixtures check the model layer independently of the
tokenizers.  Tokenizers come from tests/data/tokenizers/{xlmr-unigram,roberta-bpe,modernbert-bpe,
ms-marco-MiniLM-L-6-v2} (made by the real sentencepiece / tokenizers / transformers).  Some cases use random ids
(long inputs: beyond the fp32 attention's query block, across ModernBERT's sliding window, 8192 tokens for the
bge-m3-like bi-encoder).  Every CrossEncoder score is checked against activation(logits) of the raw model on the
recorded ids, so the ids are the ones sentence-transformers used.  Deterministic for a given library version set.
"""
from __future__ import annotations

import json
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "data", "arch")
TOK = os.path.join(REPO, "tests", "data", "tokenizers")

PAIRS = [
    ("how do I reset my password?", "Click 'Forgot password' on the sign-in page and follow the link."),
    ("Café au lait à Paris", "Le café crème est servi avec du lait chaud dans les brasseries parisiennes."),
    ("Как сбросить пароль?", "Нажмите «Забыли пароль» на странице входа."),
    ("東京の天気", "今日の東京は晴れで、最高気温は二十五度です。"),
    ("Ελληνικά γράμματα", "Το άλφα είναι το πρώτο γράμμα του ελληνικού αλφαβήτου."),
    ("ما هي عاصمة مصر؟", "القاهرة هي عاصمة مصر وأكبر مدنها."),
    ("emoji 👩‍👩‍👧 test", "Family emoji sequences use zero width joiners 👍🏽."),
    ("short", "A considerably longer passage that runs on for a while so that the sliding window of the local "
              "attention layers is smaller than the sequence, with several clauses, commas, and numbers 12345."),
]
TEXTS = [p[0] for p in PAIRS] + [p[1] for p in PAIRS]


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Replace the default init by values that make every parameter matter (LayerNorm gammas around 1,
    visible biases), so a wrong bias, a swapped gamma/beta or a transposed matrix shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g)
            if "norm" in name.lower() and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * r)
            elif name.endswith("bias"):
                p.copy_(0.1 * r)
            elif "embeddings" in name:
                p.copy_(0.5 * r)
            else:
                p.copy_(0.3 * r)


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def tokenizer_dir(name: str) -> str:
    d = os.path.join(TOK, name)
    if not os.path.exists(os.path.join(d, "tokenizer.json")):
        sys.exit(f"missing {d}/tokenizer.json (the reference tokenizer fixtures)")
    return d


def vocab_size_of(tok_name: str) -> int:
    from transformers import AutoTokenizer

    return len(AutoTokenizer.from_pretrained(tokenizer_dir(tok_name)))


def round_bf16(model: torch.nn.Module) -> torch.nn.Module:
    """Weights rounded to bfloat16 values (kept in fp32): stored as BF16 by to_bf16_file, computed in fp32."""
    return model.to(torch.bfloat16).to(torch.float32)


def to_bf16_file(d: str) -> None:
    """model.safetensors rewritten in BF16 (exact: the weights already hold bf16 values). Keeps fixtures small."""
    from safetensors.torch import load_file, save_file

    f = os.path.join(d, "model.safetensors")
    save_file({k: v.to(torch.bfloat16) for k, v in load_file(f).items()}, f, metadata={"format": "pt"})


def save_raw(model, tok_name: str, d: str, tokenizer_overrides=None) -> None:
    from transformers import AutoTokenizer

    model.save_pretrained(d, safe_serialization=True)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir(tok_name), **(tokenizer_overrides or {}))
    tok.save_pretrained(d)


# ----------------------------------------------------------------------------------------------------- models


def xlmr_config(vocab: int, **kw):
    from transformers import XLMRobertaConfig

    base = dict(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                max_position_embeddings=8194, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                layer_norm_eps=1e-5)
    base.update(kw)
    return XLMRobertaConfig(**base)


def build_xlmr_ce(d: str, seed: int, old_style: bool) -> None:
    """bge-reranker-v2-m3's shape in small: XLMRobertaForSequenceClassification, one label, 8194 positions
    (the old-style one: bge-reranker-base's 514)."""
    from sentence_transformers import CrossEncoder
    from transformers import XLMRobertaForSequenceClassification

    tmp = d + ".raw"
    cfg = xlmr_config(vocab_size_of("xlmr-unigram"), num_labels=1, max_position_embeddings=514 if old_style else 8194)
    torch.manual_seed(seed)
    m = XLMRobertaForSequenceClassification(cfg).eval()
    randomize(m, seed)
    save_raw(round_bf16(m), "xlmr-unigram", tmp, {"model_max_length": 512 if old_style else 8192})
    if old_style:
        # sentence-transformers < 5: no modules.json, the activation in config.json
        shutil.copytree(tmp, d)
        with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
            c = json.load(f)
        c["sentence_transformers"] = {"activation_fn": "torch.nn.modules.linear.Identity", "version": "3.4.1"}
        write_json(os.path.join(d, "config.json"), c)
    else:
        ce = CrossEncoder(tmp, activation_fn=torch.nn.Tanh())
        ce.save_pretrained(d)
    to_bf16_file(d)
    shutil.rmtree(tmp)


def build_roberta_ce(d: str, seed: int) -> None:
    from sentence_transformers import CrossEncoder
    from transformers import RobertaConfig, RobertaForSequenceClassification

    tmp = d + ".raw"
    cfg = RobertaConfig(vocab_size=vocab_size_of("roberta-bpe"), hidden_size=24, num_hidden_layers=2,
                        num_attention_heads=3, intermediate_size=40, max_position_embeddings=514, type_vocab_size=1,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2, num_labels=3, hidden_act="gelu_new")
    torch.manual_seed(seed)
    m = RobertaForSequenceClassification(cfg).eval()
    randomize(m, seed)
    save_raw(m, "roberta-bpe", tmp)
    CrossEncoder(tmp).save_pretrained(d)  # three labels: activation Identity
    shutil.rmtree(tmp)


def build_electra_ce(d: str, seed: int) -> None:
    """ms-marco-electra-base in small: WordPiece tokenizer, embedding_size 8 != hidden_size 32."""
    from sentence_transformers import CrossEncoder
    from transformers import ElectraConfig, ElectraForSequenceClassification

    tmp = d + ".raw"
    cfg = ElectraConfig(vocab_size=vocab_size_of("ms-marco-MiniLM-L-6-v2"), embedding_size=8, hidden_size=32,
                        num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, max_position_embeddings=512,
                        num_labels=1, hidden_act="gelu")
    torch.manual_seed(seed)
    m = ElectraForSequenceClassification(cfg).eval()
    randomize(m, seed)
    # the 30522-token tables in bfloat16 keep the fixture small; the goldens come from the bf16 values in fp32
    save_raw(round_bf16(m), "ms-marco-MiniLM-L-6-v2", tmp)
    CrossEncoder(tmp).save_pretrained(d)
    to_bf16_file(d)
    shutil.rmtree(tmp)


def build_xlmr_embedder(d: str, seed: int) -> None:
    """bge-m3's dense output in small: XLMRobertaModel, CLS pooling, Normalize, max_seq_length 8192."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import XLMRobertaModel

    tmp = d + ".raw"
    torch.manual_seed(seed)
    m = XLMRobertaModel(xlmr_config(vocab_size_of("xlmr-unigram")), add_pooling_layer=False).eval()
    randomize(m, seed)
    save_raw(round_bf16(m), "xlmr-unigram", tmp, {"model_max_length": 8192})
    t = models.Transformer(tmp, max_seq_length=8192)
    st = SentenceTransformer(modules=[t, models.Pooling(t.get_word_embedding_dimension(), "cls"), models.Normalize()])
    st.save(d)
    to_bf16_file(d)
    shutil.rmtree(tmp)


def modernbert_config(num_labels=None, **kw):
    from transformers import ModernBertConfig

    base = dict(vocab_size=vocab_size_of("modernbert-bpe"), hidden_size=32, intermediate_size=48,
                num_hidden_layers=4, num_attention_heads=4, max_position_embeddings=8192, local_attention=8,
                global_attn_every_n_layers=3, pad_token_id=5, cls_token_id=3, sep_token_id=4, bos_token_id=3,
                eos_token_id=4)
    base.update(kw)
    if num_labels is not None:
        base["num_labels"] = num_labels
    return ModernBertConfig(**base)


def to_old_modernbert_config(d: str, global_theta: float, local_theta: float, every: int) -> None:
    """Rewrite config.json in the transformers 4 layout (global_rope_theta / local_rope_theta, no layer_types)."""
    p = os.path.join(d, "config.json")
    with open(p, encoding="utf-8") as f:
        c = json.load(f)
    c.pop("rope_parameters", None)
    c.pop("layer_types", None)
    c["global_rope_theta"] = global_theta
    c["local_rope_theta"] = local_theta
    c["global_attn_every_n_layers"] = every
    write_json(p, c)


def build_modernbert_ce(d: str, seed: int, pooling: str, old_keys: bool) -> None:
    """gte-reranker-modernbert-base in small: 4 layers (global 0 and 3, local 1 and 2), a window of 8."""
    from sentence_transformers import CrossEncoder
    from transformers import ModernBertForSequenceClassification

    tmp = d + ".raw"
    if pooling == "cls":
        cfg = modernbert_config(1, classifier_pooling="cls",
                                rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 160000.0},
                                                 "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})
    else:  # biases everywhere, other thetas, every 2nd layer global, a different activation
        cfg = modernbert_config(1, classifier_pooling="mean", norm_bias=True, attention_bias=True, mlp_bias=True,
                                classifier_bias=True, classifier_activation="silu", global_attn_every_n_layers=2,
                                rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 50000.0},
                                                 "sliding_attention": {"rope_type": "default", "rope_theta": 500.0}})
    torch.manual_seed(seed)
    m = ModernBertForSequenceClassification(cfg).eval()
    randomize(m, seed)
    save_raw(round_bf16(m), "modernbert-bpe", tmp)
    if old_keys:
        to_old_modernbert_config(tmp, 160000.0, 10000.0, 3)
    CrossEncoder(tmp).save_pretrained(d)
    if old_keys:  # CrossEncoder's save writes the new layout again
        to_old_modernbert_config(d, 160000.0, 10000.0, 3)
    to_bf16_file(d)
    shutil.rmtree(tmp)


def build_modernbert_embedder(d: str, seed: int) -> None:
    """modernbert-embed-base in small: ModernBertModel, mean pooling, Normalize."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import ModernBertModel

    tmp = d + ".raw"
    torch.manual_seed(seed)
    m = ModernBertModel(modernbert_config()).eval()
    randomize(m, seed)
    save_raw(round_bf16(m), "modernbert-bpe", tmp)
    t = models.Transformer(tmp)
    st = SentenceTransformer(modules=[t, models.Pooling(t.get_word_embedding_dimension(), "mean"), models.Normalize()])
    st.save(d)
    to_bf16_file(d)
    shutil.rmtree(tmp)


# ----------------------------------------------------------------------------------------------------- goldens


def random_ids(tok, n: int, seed: int) -> list[int]:
    """n ids: the tokenizer's first special token, random ordinary tokens, its end token (no padding ids)."""
    rng = np.random.default_rng(seed)
    special = set(tok.all_special_ids)
    ordinary = [i for i in range(len(tok)) if i not in special]
    ids = [int(x) for x in rng.choice(ordinary, size=n - 2)]
    first = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
    last = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
    return [first] + ids + [last]


def ce_cases(name: str, d: str, long_lengths: list[int]) -> list[dict]:
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForSequenceClassification

    ce = CrossEncoder(d)
    tok = ce.tokenizer
    hf = AutoModelForSequenceClassification.from_pretrained(d, dtype=torch.float32).eval()
    scores = ce.predict(PAIRS, activation_fn=None, convert_to_numpy=True)
    act = ce.activation_fn
    out = []
    for (q, doc), st_score in zip(PAIRS, scores):
        enc = tok(q, doc, truncation=True)
        out.append(ce_case(name, hf, act, enc, st_score, {"query": q, "document": doc}))
    for i, n in enumerate(long_lengths):
        enc = {"input_ids": random_ids(tok, n, 1000 + i)}
        if "token_type_ids" in tok.model_input_names:
            enc["token_type_ids"] = [0] * n
        out.append(ce_case(name, hf, act, enc, None, {"length": n}))
    return out


def ce_case(name, hf, act, enc, st_score, extra) -> dict:
    ids = torch.tensor([enc["input_ids"]])
    kw = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if "token_type_ids" in enc:
        kw["token_type_ids"] = torch.tensor([enc["token_type_ids"]])
    with torch.no_grad():
        logits = hf(**kw).logits[0].float()
        scores = act(logits).numpy()
    if st_score is not None:  # the recorded ids are sentence-transformers' ids
        st = np.atleast_1d(np.asarray(st_score, dtype=np.float64))
        assert np.max(np.abs(st - scores)) < 1e-5, (name, st, scores)
    case = {"model": name, "kind": "cross-encoder", **extra, "input_ids": enc["input_ids"]}
    if "token_type_ids" in enc:
        case["token_type_ids"] = list(enc["token_type_ids"])
    case["logits"] = [float(x) for x in logits.numpy()]
    case["scores"] = [float(x) for x in scores]
    return case


def embed_cases(name: str, d: str, long_lengths: list[int]) -> list[dict]:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(d)
    tok = st.tokenizer
    out = []
    embs = st.encode(TEXTS, convert_to_numpy=True)
    for text, e in zip(TEXTS, embs):
        ids = tok(text, truncation=True, max_length=st.max_seq_length)["input_ids"]
        out.append({"model": name, "kind": "embedder", "text": text, "input_ids": ids, "embedding": [float(x) for x in e]})
    for i, n in enumerate(long_lengths):
        ids = random_ids(tok, n, 2000 + i)
        feats = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, n, dtype=torch.long)}
        with torch.no_grad():
            e = st(feats)["sentence_embedding"][0].numpy()
        out.append({"model": name, "kind": "embedder", "length": n, "input_ids": ids, "embedding": [float(x) for x in e]})
    return out


def check_embed_ids(name: str, d: str, cases: list[dict]) -> None:
    """The ids recorded for texts reproduce SentenceTransformer.encode (forward on exactly those ids)."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(d)
    for c in cases:
        if "text" not in c:
            continue
        ids = c["input_ids"]
        feats = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}
        with torch.no_grad():
            e = st(feats)["sentence_embedding"][0].numpy()
        assert np.max(np.abs(e - np.asarray(c["embedding"]))) < 1e-5, name


def link_tokenizer(d: str, tok_name: str) -> None:
    """tokenizer.json as a relative symlink to the reference fixture (one copy in the repository; the Hub cache
    links its files the same way). README.md model cards dropped."""
    os.remove(os.path.join(d, "tokenizer.json"))
    os.symlink(os.path.join("..", "..", "..", "tokenizers", tok_name, "tokenizer.json"), os.path.join(d, "tokenizer.json"))
    readme = os.path.join(d, "README.md")
    if os.path.exists(readme):
        os.remove(readme)


def check_ids(d: str, cases: list[dict]) -> None:
    """The recorded ids are what the final directory's tokenizer (through the symlink) gives."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(d)
    for c in cases:
        if "text" in c:
            ids = tok(c["text"], truncation=True)["input_ids"]
        elif "query" in c:
            ids = tok(c["query"], c["document"], truncation=True)["input_ids"]
        else:
            continue
        assert ids == c["input_ids"], (d, c.get("text", c.get("query")))


def main() -> None:
    models_dir = os.path.join(OUT, "models")
    shutil.rmtree(models_dir, ignore_errors=True)
    os.makedirs(models_dir)
    builders = [
        ("xlmr-ce", lambda d: build_xlmr_ce(d, 1201, old_style=False), "xlmr-unigram", "ce", [300, 600]),
        ("xlmr-ce-old", lambda d: build_xlmr_ce(d, 1202, old_style=True), "xlmr-unigram", "ce", []),
        ("xlmr-embed", lambda d: build_xlmr_embedder(d, 1203), "xlmr-unigram", "embed", [8192]),
        ("roberta-ce", lambda d: build_roberta_ce(d, 1204), "roberta-bpe", "ce", [512]),
        ("electra-ce", lambda d: build_electra_ce(d, 1205), "ms-marco-MiniLM-L-6-v2", "ce", [400]),
        ("modernbert-ce-cls", lambda d: build_modernbert_ce(d, 1206, "cls", old_keys=True), "modernbert-bpe", "ce", [300]),
        ("modernbert-ce-mean", lambda d: build_modernbert_ce(d, 1207, "mean", old_keys=False), "modernbert-bpe", "ce",
         [700]),
        ("modernbert-embed", lambda d: build_modernbert_embedder(d, 1208), "modernbert-bpe", "embed", [2000]),
    ]
    golden = []
    for name, build, tok_name, kind, long_lengths in builders:
        d = os.path.join(models_dir, name)
        build(d)
        link_tokenizer(d, tok_name)
        if kind == "ce":
            golden += ce_cases(name, d, long_lengths)
        else:
            cases = embed_cases(name, d, long_lengths)
            check_embed_ids(name, d, cases)
            golden += cases
        check_ids(d, [c for c in golden if c["model"] == name])
        size = sum(os.lstat(os.path.join(d, f)).st_size for f in os.listdir(d) if not os.path.isdir(os.path.join(d, f)))
        print(f"{name}: {size / 1e6:.2f} MB", flush=True)
    with open(os.path.join(OUT, "golden.jsonl"), "w", encoding="utf-8") as f:
        for c in golden:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{len(golden)} cases -> {os.path.join(OUT, 'golden.jsonl')}")


if __name__ == "__main__":
    main()
