"""Qwen3/Qwen2 rerankers through the Python API with the template= / instruction= keywords: the goldens of
tests/data/qwen (transformers' model-card P(yes) with the Qwen3-Reranker template, sentence-transformers 6's
CrossEncoder on plain pairs) within 1e-4."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

import rerank
from conftest import DATA, TOL, read_jsonl

QWEN = DATA / "qwen"


def cases() -> dict:
    out = defaultdict(list)
    for c in read_jsonl(QWEN / "golden.jsonl"):
        if c["kind"] in ("card", "ce", "ce-template"):
            out[(c["model"], c["kind"], c.get("instruction"))].append(c)
    return out


def test_qwen_goldens_with_template_keywords():
    checked = 0
    models: dict = {}
    for (name, kind, instruction), group in cases().items():
        if name not in models:
            models[name] = rerank.CrossEncoder(str(QWEN / "models" / name), threads=2)
        m = models[name]
        pairs = [(c["query"], c["document"]) for c in group]
        template = "none" if kind == "ce" else "auto"  # "ce": sentence-transformers' plain pairs
        scores = m.predict(pairs, template=template, instruction=instruction)
        logits = m.predict(pairs, template=template, instruction=instruction,
                           activation_fn=rerank.activations.Identity())
        for i, c in enumerate(group):
            np.testing.assert_allclose(logits[i], c["logits"][0], atol=TOL, rtol=0, err_msg=f"{name} {kind} {i}")
            np.testing.assert_allclose(scores[i], c["scores"][0], atol=TOL, rtol=0, err_msg=f"{name} {kind} {i}")
            checked += 1
    assert checked == sum(1 for c in read_jsonl(QWEN / "golden.jsonl") if c["kind"] in ("card", "ce", "ce-template"))
    assert any(k[2] is not None for k in cases())  # a custom instruction is among them


def test_template_set_on_the_object_and_overridden_per_call():
    path = str(QWEN / "models" / "qwen3-reranker")
    pair = ("What is the capital of China?", "The capital of China is Beijing.")
    plain = rerank.CrossEncoder(path, threads=1, template="none")
    card = rerank.CrossEncoder(path, threads=1)
    assert plain.template == "none" and card.template == "auto"
    a, b = plain.predict(pair), card.predict(pair)
    assert abs(a - b) > 1e-3  # the template changes the input
    np.testing.assert_allclose(plain.predict(pair, template="auto"), b, atol=1e-6)
    np.testing.assert_allclose(card.predict(pair, template="none"), a, atol=1e-6)
    custom = card.predict(pair, instruction="Judge whether the passage names a city")
    assert abs(custom - b) > 1e-4
    ranked = card.rank(pair[0], [pair[1], "Gravity attracts bodies."], instruction="Judge whether the passage names a city")
    np.testing.assert_allclose(ranked[0]["score"] if ranked[0]["corpus_id"] == 0 else ranked[1]["score"], custom, atol=1e-6)
    with_instr = rerank.CrossEncoder(path, threads=1, instruction="Judge whether the passage names a city")
    np.testing.assert_allclose(with_instr.predict(pair), custom, atol=1e-6)


def test_bad_template_keywords_raise():
    path = str(QWEN / "models" / "qwen3-reranker")
    with pytest.raises(ValueError, match="template must be one of"):
        rerank.CrossEncoder(path, template="chatml")
    m = rerank.CrossEncoder(path, threads=1)
    with pytest.raises(ValueError, match="template must be one of"):
        m.predict(("q", "d"), template="qwen3")
    with pytest.raises(TypeError, match="instruction must be a str"):
        m.predict(("q", "d"), instruction=3)
