#!/usr/bin/env python3
"""Development tool: a cross-encoder whose encoder is REAL (all-MiniLM-L6-v2's trained weights) with a seeded
random classification head, for measuring the fidelity of rerank's fast modes (bf16, int8) on realistic hidden
states. Random-weight models score every pair almost alike, so rank agreement on them is noise; a trained encoder
gives scores that differ by content.

Usage: real_encoder_ce.py MINILM_DIR OUT_DIR      (needs numpy + safetensors; e.g. /work/venv-ref/bin/python)
"""
import json, os, shutil, sys

import numpy as np
from safetensors.numpy import load_file, save_file

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]:
    if os.path.exists(os.path.join(src, f)):
        shutil.copy(os.path.join(src, f), out)
cfg = json.load(open(os.path.join(src, "config.json")))
cfg["architectures"] = ["BertForSequenceClassification"]
cfg["id2label"] = {"0": "LABEL_0"}
cfg["label2id"] = {"LABEL_0": 0}
cfg["sentence_transformers"] = {"activation_fn": "torch.nn.modules.linear.Identity"}
json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
w = load_file(os.path.join(src, "model.safetensors"))
h = cfg["hidden_size"]
rng = np.random.default_rng(1234)
w = {k: v.astype(np.float32) for k, v in w.items() if not k.endswith("position_ids")}
if "pooler.dense.weight" not in w:
    w["pooler.dense.weight"] = rng.normal(0, 1 / np.sqrt(h), (h, h)).astype(np.float32)
    w["pooler.dense.bias"] = np.zeros(h, np.float32)
w["classifier.weight"] = rng.normal(0, 1.0, (1, h)).astype(np.float32)
w["classifier.bias"] = np.zeros(1, np.float32)
save_file(w, os.path.join(out, "model.safetensors"))
print(out)
