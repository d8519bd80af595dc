"""The goldens of the C++ tests (tests/data/encoders, tests/data/extra) through the Python API: token ids exact,
logits, scores and embeddings within 1e-4."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

import rerank
from conftest import DATA, TOL, read_jsonl

GOLDENS = [("encoders", 188), ("extra", 138)]


def groups(kind: str) -> dict:
    out = defaultdict(list)
    for case in read_jsonl(DATA / kind / "golden.jsonl"):
        ml = None if case.get("max_length_default") else case["max_length"]
        out[(case["model"], "logits" in case, ml)].append(case)
    return out


@pytest.mark.parametrize("kind,count", GOLDENS)
def test_golden_cross_encoders(kind, count):
    checked = 0
    for (name, is_ce, max_length), cases in groups(kind).items():
        if not is_ce:
            continue
        model = rerank.CrossEncoder(str(DATA / kind / "models" / name), max_length=max_length, threads=2)
        pairs = [(c["query"], c["document"]) for c in cases]
        logits = model.predict(pairs, activation_fn=rerank.activations.Identity(), batch_size=5)
        scores = model.predict(pairs, batch_size=7)
        for i, c in enumerate(cases):
            ids, types = model._model.encode_pair(c["query"], c["document"], model.max_length)
            assert ids == c["input_ids"], f"{name} case {i}"
            assert types == c["token_type_ids"], f"{name} case {i}"
            np.testing.assert_allclose(np.atleast_1d(logits[i]), c["logits"], atol=TOL, rtol=0, err_msg=f"{name} {i}")
            want = c.get("score", c["logits"] if len(c["logits"]) > 1 else c["logits"][0])  # Identity models
            np.testing.assert_allclose(scores[i], want, atol=TOL, rtol=0, err_msg=f"{name} case {i} score")
            # one pair at a time gives the same (no padding: a pair's score does not depend on its batch)
            one = model.predict(pairs[i])
            np.testing.assert_allclose(one, scores[i], atol=1e-5, rtol=0)
            checked += 1
    assert checked == sum(1 for c in read_jsonl(DATA / kind / "golden.jsonl") if "logits" in c)
    assert checked > 0


@pytest.mark.parametrize("kind,count", GOLDENS)
def test_golden_bi_encoders(kind, count):
    checked = 0
    for (name, is_ce, max_length), cases in groups(kind).items():
        if is_ce:
            continue
        model = rerank.SentenceTransformer(str(DATA / kind / "models" / name), threads=2)
        if max_length is not None:
            model.max_seq_length = max_length
        emb = model.encode([c["text"] for c in cases], batch_size=4)
        assert emb.dtype == np.float32 and emb.shape == (len(cases), model.get_embedding_dimension())
        for i, c in enumerate(cases):
            ids, _ = model._model.encode(c["text"], model.max_seq_length)
            assert ids == c["input_ids"], f"{name} case {i}"
            np.testing.assert_allclose(emb[i], c["embedding"], atol=TOL, rtol=0, err_msg=f"{name} case {i}")
            checked += 1
    assert checked == sum(1 for c in read_jsonl(DATA / kind / "golden.jsonl") if "embedding" in c)
    assert checked + sum(1 for c in read_jsonl(DATA / kind / "golden.jsonl") if "logits" in c) == count
