"""rerank.CrossEncoder: sentence-transformers' shapes, types and rules for predict and rank."""
from __future__ import annotations

import numpy as np
import pytest

import rerank

PAIRS = [("how do I reset my password", "Click 'Forgot password' on the login page."),
         ("how do I reset my password", "The cafeteria opens at nine."),
         ("capital of france", "Paris is the capital of France.")]


def test_predict_shapes_and_dtype(ce):
    s = ce.predict(PAIRS)
    assert isinstance(s, np.ndarray) and s.dtype == np.float32 and s.shape == (3,)
    one = ce.predict(PAIRS[0])  # a single pair -> a single score, as sentence-transformers
    assert np.ndim(one) == 0 and one.dtype == np.float32
    assert one == pytest.approx(float(s[0]), abs=1e-5)
    assert ce.predict(list(PAIRS[0])) == pytest.approx(float(s[0]), abs=1e-5)  # a list of two str is a pair too
    empty = ce.predict([])
    assert isinstance(empty, np.ndarray) and empty.shape == (0,)
    as_list = ce.predict(PAIRS, convert_to_numpy=False)
    assert isinstance(as_list, list) and len(as_list) == 3
    np.testing.assert_allclose(np.array(as_list), s)


def test_batch_size_does_not_change_scores(ce):
    pairs = PAIRS * 7
    a = ce.predict(pairs, batch_size=1)
    b = ce.predict(pairs, batch_size=32)
    c = ce.predict(pairs, batch_size=5, show_progress_bar=True)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-5)


def test_multi_label(ce3_dir):
    m = rerank.CrossEncoder(ce3_dir)
    assert m.num_labels == 3
    s = m.predict(PAIRS)
    assert s.shape == (3, 3) and s.dtype == np.float32
    assert m.predict(PAIRS[1]).shape == (3,)
    soft = m.predict(PAIRS, apply_softmax=True)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="num_labels=1"):
        m.rank("q", ["a", "b"])


def test_activation_fn(ce):
    logits = ce.predict(PAIRS, activation_fn=rerank.activations.Identity())
    sig = ce.predict(PAIRS, activation_fn=rerank.activations.Sigmoid())
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-logits)), atol=1e-6)
    np.testing.assert_allclose(ce.predict(PAIRS, activation_fn="tanh"), np.tanh(logits), atol=1e-6)
    np.testing.assert_allclose(ce.predict(PAIRS, activation_fn=lambda x: x * 2), logits * 2, atol=1e-6)
    m = rerank.CrossEncoder(ce.model_name_or_path, activation_fn=rerank.activations.Sigmoid())
    np.testing.assert_allclose(m.predict(PAIRS), sig, atol=1e-6)


def test_rank_matches_sentence_transformers_rules(ce):
    docs = [d for _, d in PAIRS]
    scores = ce.predict([(PAIRS[0][0], d) for d in docs])
    r = ce.rank(PAIRS[0][0], docs)
    assert [x["corpus_id"] for x in r] == list(np.argsort(-scores, kind="stable"))
    assert all(set(x) == {"corpus_id", "score"} and isinstance(x["score"], float) for x in r)
    assert r[0]["score"] == pytest.approx(float(scores.max()), abs=1e-6)
    top = ce.rank(PAIRS[0][0], docs, top_k=2, return_documents=True)
    assert len(top) == 2 and all(x["text"] == docs[x["corpus_id"]] for x in top)
    assert ce.rank(PAIRS[0][0], docs, top_k=0) == []  # results[:0], as sentence-transformers
    # equal scores keep input order (a stable sort), as sentence-transformers' sorted()
    tie = ce.rank("same", ["dup", "dup", "dup"])
    assert [x["corpus_id"] for x in tie] == [0, 1, 2]


def test_max_length(ce_dir):
    long_doc = "word " * 600
    m = rerank.CrossEncoder(ce_dir, max_length=16)
    assert m.max_length == 16
    short = m.predict(("q", long_doc))
    m.max_length = 64
    assert m.predict(("q", long_doc)) != pytest.approx(float(short), abs=1e-7)
    default = rerank.CrossEncoder(ce_dir)
    assert default.max_length == default._model.max_length > 0


def test_unsupported_arguments_raise_type_error_naming_them(ce, ce_dir):
    with pytest.raises(TypeError, match="prompt"):
        ce.predict(PAIRS, prompt="query: ")
    with pytest.raises(TypeError, match="convert_to_tensor"):
        ce.predict(PAIRS, convert_to_tensor=True)
    with pytest.raises(TypeError, match="frobnicate"):
        ce.predict(PAIRS, frobnicate=1)
    with pytest.raises(TypeError, match="device"):
        ce.predict(PAIRS, device="cuda")
    with pytest.raises(TypeError, match="pool"):
        ce.rank("q", ["d"], pool={})
    with pytest.raises(TypeError, match="backend.*trust_remote_code|trust_remote_code.*backend"):
        rerank.CrossEncoder(ce_dir, backend="onnx", trust_remote_code=True)
    with pytest.raises(TypeError):
        rerank.CrossEncoder(ce_dir, no_such_argument=1)
    ce.predict(PAIRS, device="cpu", show_progress_bar=False)  # supported values pass


def test_bad_inputs(ce, ce_dir):
    with pytest.raises(TypeError, match="input 1"):
        ce.predict([("q", "d"), ("q", 3)])
    with pytest.raises(TypeError, match="pair"):
        ce.predict("just a string")
    with pytest.raises(ValueError, match="batch_size"):
        ce.predict(PAIRS, batch_size=0)
    with pytest.raises(ValueError, match="precision"):
        rerank.CrossEncoder(ce_dir, precision="fp8")
    with pytest.raises(ValueError, match="num_labels"):
        rerank.CrossEncoder(ce_dir, num_labels=2)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precision_is_close(ce_dir, precision):
    exact = rerank.CrossEncoder(ce_dir).predict(PAIRS)
    approx = rerank.CrossEncoder(ce_dir, precision=precision).predict(PAIRS)
    assert approx.shape == exact.shape
    assert np.max(np.abs(approx - exact)) < 0.1
