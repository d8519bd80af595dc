#!/usr/bin/env python3
"""arch-bench: build one benchmark shape with the real `transformers` (reference environment, e.g. /work/venv5).

Usage: make_model.py SHAPE OUT_DIR TOKENIZER_DIR SEED

  xlmr-base        BAAI/bge-reranker-base's config.json: XLMRobertaForSequenceClassification, 12 layers x 768,
                   12 heads, intermediate 3072, vocab 250002, 514 positions, type_vocab_size 1, one label
  modernbert-base  Alibaba-NLP/gte-reranker-modernbert-base's config.json: ModernBertForSequenceClassification,
                   22 layers x 768, 12 heads, intermediate 1152 (GeGLU), local_attention 128 every layer but each
                   3rd, rope theta 160000 global / 10000 local, vocab 50368, 8192 positions, mean pooling, one label

Random weights, seeded, scaled so activations stay O(1) (linear weights N(0, 1/in), embeddings N(0, 1), norm gains
1 + N(0, 0.1)): scores then vary between pairs, so the fidelity columns mean something (speed does not depend on
the weights). Writes OUT_DIR in Hugging Face layout (config.json, model.safetensors, the tokenizer of TOKENIZER_DIR
saved by transformers: the repository's generated fixture of the same family; its vocabulary is smaller than the
model's, so every id is inside the model's table) and OUT_DIR/model.onnx exported by torch.onnx.export from the same
weights (inputs input_ids and attention_mask, dynamic batch and sequence axes).
"""
import json, os, sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import torch
import transformers
from transformers import AutoTokenizer


def config(shape):
    if shape == "xlmr-base":
        return transformers.XLMRobertaConfig(
            architectures=["XLMRobertaForSequenceClassification"], vocab_size=250002, hidden_size=768,
            num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
            max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
            eos_token_id=2, num_labels=1), transformers.XLMRobertaForSequenceClassification
    if shape == "modernbert-base":
        return transformers.ModernBertConfig(
            architectures=["ModernBertForSequenceClassification"], vocab_size=50368, hidden_size=768,
            num_hidden_layers=22, num_attention_heads=12, intermediate_size=1152, hidden_activation="gelu",
            max_position_embeddings=8192, local_attention=128, global_attn_every_n_layers=3, norm_eps=1e-5,
            norm_bias=False, attention_bias=False, mlp_bias=False, classifier_bias=False, classifier_pooling="mean",
            classifier_activation="gelu", pad_token_id=50283, bos_token_id=50281, eos_token_id=50282,
            cls_token_id=50281, sep_token_id=50282, num_labels=1,
            rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 160000.0},
                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}), \
            transformers.ModernBertForSequenceClassification
    sys.exit(f"make_model.py: unknown shape '{shape}' (xlmr-base, modernbert-base)")


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g)
            if "norm" in name.lower() and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * r)
            elif name.endswith("bias"):
                p.copy_(0.02 * r)
            elif "embeddings" in name:
                p.copy_(r)
            else:
                p.copy_(r / p.shape[-1] ** 0.5)


class Logits(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        return self.m(input_ids=input_ids, attention_mask=attention_mask).logits


def main():
    shape, out, tok_dir, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    cfg, cls = config(shape)
    torch.manual_seed(seed)
    m = cls(cfg).eval()
    randomize(m, seed)
    tok = AutoTokenizer.from_pretrained(tok_dir, model_max_length=512 if shape == "xlmr-base" else 8192)
    if len(tok) > cfg.vocab_size:
        sys.exit(f"make_model.py: tokenizer {tok_dir} has {len(tok)} tokens, more than the model's {cfg.vocab_size}")
    os.makedirs(out, exist_ok=True)
    m.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    # the ONNX graph from the same weights; eager attention (a plain masked softmax) exports everywhere
    em = cls.from_pretrained(out, attn_implementation="eager").eval()
    ids = torch.tensor([tok("a short query", "a somewhat longer document text " * 20)["input_ids"]] * 2)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        torch.onnx.export(Logits(em), (ids, mask), os.path.join(out, "model.onnx.tmp"), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        "logits": {0: "batch"}})
    os.replace(os.path.join(out, "model.onnx.tmp"), os.path.join(out, "model.onnx"))
    with open(os.path.join(out, "arch-bench.json"), "w") as f:
        json.dump({"shape": shape, "seed": seed, "transformers": transformers.__version__, "torch": torch.__version__,
                   "tokenizer": os.path.abspath(tok_dir)}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
