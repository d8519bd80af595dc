#!/usr/bin/env python3
"""Build the Qwen3 / Qwen2 decoder fixtures in tests/data/qwen/ with the real libraries.

Development tool only (not a test dependency): run it with the reference environment (transformers 5.x,
sentence-transformers 6.x, tokenizers, torch 2.x):

    HF_HUB_OFFLINE=1 /work/venv5/bin/python scripts/reference/make_qwen_models.py

It writes

  tests/data/qwen/tokenizer/           a byte-level BPE trained by `tokenizers` in Qwen2/Qwen3's real layout: NFC,
                                       Split by Qwen2's regex + ByteLevel(use_regex=false), BPE, ByteLevel
                                       post-processor and decoder; Qwen's special tokens as added tokens after the
                                       vocabulary (<|endoftext|>, <|im_start|>, <|im_end|> special; <think>,
                                       </think> not special, as Qwen3 ships them); "yes" and "no" are tokens
  tests/data/qwen/models/<name>/       tiny random-weight models in the Qwen3-0.6B shape family (GQA, head_dim
                                       independent of hidden_size / heads), saved by save_pretrained in BF16:
      qwen3-reranker   Qwen3ForCausalLM, tied lm_head (as Qwen3-Reranker-0.6B)
      qwen3-seqcls     Qwen3ForSequenceClassification, one label (as the converted *-seq-cls rerankers)
      qwen3-embedding  Qwen3Model + sentence-transformers Pooling(lasttoken) + Normalize, prompts in
                       config_sentence_transformers.json, tokenizer appending <|endoftext|> (as Qwen3-Embedding)
      qwen2-reranker   Qwen2ForCausalLM, untied lm_head, q/k/v biases, sharded (model.safetensors.index.json)
      qwen2-seqcls     Qwen2ForSequenceClassification, one label
  tests/data/qwen/golden.jsonl         one line per case: model, kind, texts, input_ids, logits, scores
                                       (or embedding). Kinds:
      card        the Qwen3-Reranker model card's compute_logits: prefix ids + ids of
                  "<Instruct>: {instruction}\\n<Query>: {query}\\n<Document>: {doc}" + suffix ids; logits =
                  [logit(yes) - logit(no)] at the last position, score = softmax([no, yes])[1] = P(yes)
      ce          sentence-transformers 6 CrossEncoder.predict on the plain pair (CausalLM: LogitScore(yes, no) +
                  Sigmoid; seq-cls: the score head + Sigmoid); the ids are tokenizer(query, document)
      ce-template CrossEncoder.predict of a seq-cls model on the pair formatted as its model card says:
                  (prefix + "<Instruct>: ...\\n<Query>: q\\n", "<Document>: d" + suffix)
      embed       SentenceTransformer.encode (prompt_name "query" for queries, none for documents)
Weights hold bf16 values; every golden is computed in fp32 from them.
"""
from __future__ import annotations

import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "data", "qwen")

QWEN_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
           r"|\s+(?!\S)|\s+")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
NOT_SPECIAL = ["<think>", "</think>"]

# The Qwen3-Reranker model card (https://huggingface.co/Qwen/Qwen3-Reranker-0.6B), verbatim
PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
          "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
EMBED_QUERY_PROMPT = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"

PAIRS = [
    ("What is the capital of China?", "The capital of China is Beijing."),
    ("Explain gravity", "Gravity is a force that attracts two bodies towards each other. It gives weight to physical "
                        "objects and is responsible for the movement of planets around the sun."),
    ("how do I reset my password?", "Click 'Forgot password' on the sign-in page and follow the link."),
    ("Café au lait à Paris", "Le café crème est servi avec du lait chaud dans les brasseries parisiennes."),
    ("東京の天気", "今日の東京は晴れで、最高気温は二十五度です。"),
    ("emoji 👩‍👩‍👧 test", "Family emoji sequences use zero width joiners 👍🏽  and   spaces\n\nnew lines."),
    ("yes or no?", "no"),
]
INSTRUCTIONS = [None, "Given a question, retrieve passages that answer it"]


def training_lines():
    import faker

    lines = []
    for loc in ["en_US", "fr_FR", "de_DE", "ja_JP"]:
        f = faker.Faker(loc)
        f.seed_instance(15)
        lines.extend(f.text(200) for _ in range(150))
    lines += [PREFIX + "<Instruct>: " + DEFAULT_INSTRUCTION + "\n<Query>: q\n<Document>: d" + SUFFIX] * 20
    lines += ["yes no yes no Yes No", "yes", "no"] * 50 + [q + " " + d for q, d in PAIRS] * 5
    return lines


def build_tokenizer():
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=900, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_lines(), trainer)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in NOT_SPECIAL])
    for t in ("yes", "no"):
        assert tok.token_to_id(t) is not None, t
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   model_max_length=131072)
    d = os.path.join(OUT, "tokenizer")
    fast.save_pretrained(d)
    return d


def eos_tokenizer(src: str, d: str) -> None:
    """Qwen3-Embedding's tokenizer: the same, with a TemplateProcessing that appends <|endoftext|>."""
    from tokenizers import processors
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tok = AutoTokenizer.from_pretrained(src)
    backend = tok.backend_tokenizer
    eot = backend.token_to_id("<|endoftext|>")
    backend.post_processor = processors.TemplateProcessing(
        single="$A:0 <|endoftext|>:0", pair="$A:0 <|endoftext|>:0 $B:1 <|endoftext|>:1",
        special_tokens=[("<|endoftext|>", eot)])
    fast = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   model_max_length=131072)
    fast.save_pretrained(d)


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Values that make every parameter matter (norm gammas around 1, visible biases) without saturating."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * r)
            elif name.endswith("bias"):
                p.copy_(0.2 * r)
            elif "embed_tokens" in name or "lm_head" in name or name.startswith("score"):
                p.copy_(0.1 * r)
            else:
                p.copy_(0.12 * r)


def config(cls_name: str, vocab: int, seed: int, **kw):
    from transformers import Qwen2Config, Qwen3Config

    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=4096, rms_norm_eps=1e-6, bos_token_id=None,
                  eos_token_id=vocab - len(SPECIAL) - len(NOT_SPECIAL) + 2, pad_token_id=vocab - 5)
    common.update(kw)
    if cls_name.startswith("Qwen3"):
        return Qwen3Config(head_dim=32, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **common)
    return Qwen2Config(rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **common)


def build(name: str, cls_name: str, tok_dir: str, seed: int, shard: bool = False, **kw) -> str:
    import transformers

    d = os.path.join(OUT, "models", name)
    vocab = len(json.load(open(os.path.join(tok_dir, "tokenizer.json")))["model"]["vocab"]) + len(SPECIAL) + len(NOT_SPECIAL)
    cfg = config(cls_name, vocab, seed, **kw)
    cfg.architectures = [cls_name]
    torch.manual_seed(seed)
    model = getattr(transformers, cls_name)(cfg)
    randomize(model, seed)
    model = model.to(torch.bfloat16)
    model.save_pretrained(d, max_shard_size="200KB" if shard else "50MB")
    for f in os.listdir(tok_dir):
        shutil.copy(os.path.join(tok_dir, f), d)
    return d


def write_st_embedder(d: str) -> None:
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.sentence_transformer.modules.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.base.modules.Normalize"}], f, indent=2)
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(d, "2_Normalize"), exist_ok=True)
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"embedding_dimension": 64, "pooling_mode": "lasttoken", "include_prompt": True}, f, indent=2)
    with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 8192, "do_lower_case": False}, f, indent=2)
    with open(os.path.join(d, "config_sentence_transformers.json"), "w") as f:
        json.dump({"prompts": {"query": EMBED_QUERY_PROMPT, "document": ""}, "default_prompt_name": None,
                   "similarity_fn_name": "cosine"}, f, indent=2)


# ----------------------------------------------------------------------------------------------------- goldens


def last_logits(hf, ids):
    with torch.no_grad():
        out = hf(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    return out.logits[0, -1].float() if out.logits.dim() == 3 else out.logits[0].float()


def card_cases(name: str, d: str) -> list[dict]:
    """The model card's format_instruction / process_inputs / compute_logits, batched with left padding as there."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(d, padding_side="left")
    hf = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    prefix_tokens = tok.encode(PREFIX, add_special_tokens=False)
    suffix_tokens = tok.encode(SUFFIX, add_special_tokens=False)
    out = []
    for instruction in INSTRUCTIONS:
        texts = ["<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}".format(
            instruction=instruction or DEFAULT_INSTRUCTION, query=q, doc=doc) for q, doc in PAIRS]
        inputs = tok(texts, padding=False, truncation="longest_first", return_attention_mask=False,
                     max_length=8192 - len(prefix_tokens) - len(suffix_tokens))
        for i, ele in enumerate(inputs["input_ids"]):
            inputs["input_ids"][i] = prefix_tokens + ele + suffix_tokens
        ids_list = [list(x) for x in inputs["input_ids"]]
        batch = tok.pad(inputs, padding=True, return_tensors="pt", max_length=8192)
        with torch.no_grad():
            scores = hf(**batch).logits[:, -1, :]
            pair = torch.stack([scores[:, no], scores[:, yes]], dim=1)
            p_yes = torch.nn.functional.log_softmax(pair, dim=1)[:, 1].exp().tolist()
        for (q, doc), ids, p in zip(PAIRS, ids_list, p_yes):
            lg = last_logits(hf, ids)  # unpadded, the exact value the engine computes
            diff = float(lg[yes] - lg[no])
            assert abs(1 / (1 + np.exp(-diff)) - p) < 1e-5, (name, p, diff)
            case = {"model": name, "kind": "card", "query": q, "document": doc, "input_ids": ids,
                    "logits": [diff], "scores": [p]}
            if instruction is not None:
                case["instruction"] = instruction
            out.append(case)
    return out


def ce_cases(name: str, d: str, causal: bool, template: bool) -> list[dict]:
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    ce = CrossEncoder(d, model_kwargs={"dtype": torch.float32})
    tok = AutoTokenizer.from_pretrained(d)
    cls = AutoModelForCausalLM if causal else AutoModelForSequenceClassification
    hf = cls.from_pretrained(d, dtype=torch.float32).eval()
    if template:
        pairs = [(PREFIX + "<Instruct>: " + DEFAULT_INSTRUCTION + "\n<Query>: " + q + "\n", "<Document>: " + doc + SUFFIX)
                 for q, doc in PAIRS]
    else:
        pairs = PAIRS
    st_scores = ce.predict(pairs, convert_to_numpy=True)
    out = []
    for (q, doc), (a, b), st in zip(PAIRS, pairs, st_scores):
        ids = tok(a, b)["input_ids"]
        lg = last_logits(hf, ids)
        if causal:
            yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
            logits = [float(lg[yes] - lg[no])]
        else:
            logits = [float(x) for x in lg]
        score = 1 / (1 + np.exp(-logits[0]))
        assert abs(float(np.atleast_1d(st)[0]) - score) < 1e-5, (name, st, score)
        out.append({"model": name, "kind": "ce-template" if template else "ce", "query": q, "document": doc,
                    "input_ids": ids, "logits": logits, "scores": [float(score)]})
    return out


def embed_cases(name: str, d: str) -> list[dict]:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(d, model_kwargs={"dtype": torch.float32})
    tok = st.tokenizer
    out = []
    queries = [q for q, _ in PAIRS]
    docs = [doc for _, doc in PAIRS]
    for texts, prompt_name in ((queries, "query"), (docs, None)):
        embs = st.encode(texts, prompt_name=prompt_name, convert_to_numpy=True)
        for text, e in zip(texts, embs):
            full = (EMBED_QUERY_PROMPT if prompt_name else "") + text
            ids = tok(full)["input_ids"]
            with torch.no_grad():
                ref = st({"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)})
            assert np.max(np.abs(ref["sentence_embedding"][0].numpy() - e)) < 1e-5, name
            case = {"model": name, "kind": "embed", "text": text, "input_ids": ids, "embedding": [float(x) for x in e]}
            if prompt_name:
                case["prompt_name"] = prompt_name
            out.append(case)
    return out


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "models"))
    tok_dir = build_tokenizer()
    golden = []
    d = build("qwen3-reranker", "Qwen3ForCausalLM", tok_dir, 1501, tie_word_embeddings=True)
    golden += card_cases("qwen3-reranker", d) + ce_cases("qwen3-reranker", d, causal=True, template=False)
    d = build("qwen3-seqcls", "Qwen3ForSequenceClassification", tok_dir, 1502, num_labels=1)
    golden += ce_cases("qwen3-seqcls", d, causal=False, template=True) + ce_cases("qwen3-seqcls", d, False, False)
    emb_tok = os.path.join(OUT, "models", "_emb_tok")
    eos_tokenizer(tok_dir, emb_tok)
    d = build("qwen3-embedding", "Qwen3Model", emb_tok, 1503)
    shutil.rmtree(emb_tok)
    write_st_embedder(d)
    golden += embed_cases("qwen3-embedding", d)
    d = build("qwen2-reranker", "Qwen2ForCausalLM", tok_dir, 1504, shard=True, tie_word_embeddings=False)
    golden += ce_cases("qwen2-reranker", d, causal=True, template=False)
    d = build("qwen2-seqcls", "Qwen2ForSequenceClassification", tok_dir, 1505, num_labels=1)
    golden += ce_cases("qwen2-seqcls", d, causal=False, template=False)
    for name in sorted(os.listdir(os.path.join(OUT, "models"))):
        md = os.path.join(OUT, "models", name)
        for junk in ("README.md", "generation_config.json"):
            if os.path.exists(os.path.join(md, junk)):
                os.remove(os.path.join(md, junk))
    with open(os.path.join(OUT, "golden.jsonl"), "w", encoding="utf-8") as f:
        for c in golden:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    scores = [c["scores"][0] for c in golden if "scores" in c]
    print(f"{len(golden)} cases, scores in [{min(scores):.3f}, {max(scores):.3f}]")


if __name__ == "__main__":
    main()
