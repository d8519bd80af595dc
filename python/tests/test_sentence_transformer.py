"""rerank.SentenceTransformer: encode shapes/dtype, normalization, prompts, similarity."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import rerank

TEXTS = ["how do I reset my password", "The cafeteria opens at nine.", "Paris is the capital of France."]


def test_encode_shapes_and_dtype(bi):
    dim = bi.get_embedding_dimension()
    assert dim == bi._model.embedding_dim > 0
    e = bi.encode(TEXTS)
    assert isinstance(e, np.ndarray) and e.dtype == np.float32 and e.shape == (3, dim)
    one = bi.encode(TEXTS[0])  # a str -> 1-D, as sentence-transformers
    assert one.shape == (dim,) and one.dtype == np.float32
    np.testing.assert_allclose(one, e[0], atol=1e-5)
    assert bi.encode([]).shape == (0,)
    as_list = bi.encode(TEXTS, convert_to_numpy=False)
    assert isinstance(as_list, list) and len(as_list) == 3 and as_list[0].shape == (dim,)
    np.testing.assert_allclose(bi.encode(TEXTS, batch_size=1), e, atol=1e-5)


def test_normalize_and_truncate(bi, bi_dir):
    e = bi.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    raw = bi.encode(TEXTS)
    np.testing.assert_allclose(e, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    t = bi.encode(TEXTS, truncate_dim=8)
    assert t.shape == (3, 8)
    np.testing.assert_allclose(t, raw[:, :8])
    m = rerank.SentenceTransformer(bi_dir, truncate_dim=4)
    assert m.get_embedding_dimension() == 4 and m.encode("x").shape == (4,)


def test_prompts(bi_dir):
    m = rerank.SentenceTransformer(bi_dir, prompts={"query": "query: "})
    np.testing.assert_allclose(m.encode("abc", prompt_name="query"), m.encode("query: abc"), atol=1e-6)
    np.testing.assert_allclose(m.encode("abc", prompt="passage: "), m.encode("passage: abc"), atol=1e-6)
    with pytest.raises(ValueError, match="nope"):
        m.encode("abc", prompt_name="nope")


def test_max_seq_length_truncates(bi):
    long = "word " * 300
    old = bi.max_seq_length
    try:
        bi.max_seq_length = 8
        a = bi.encode(long)
        b = bi.encode("word " * 6)  # [CLS] + 6 words + [SEP] = 8 tokens: the same input after truncation
        np.testing.assert_allclose(a, b, atol=1e-5)
    finally:
        bi.max_seq_length = old


def test_similarity(bi):
    e = bi.encode(TEXTS)
    s = bi.similarity(e, e)
    assert s.shape == (3, 3) and s.dtype == np.float32
    n = e / np.linalg.norm(e, axis=1, keepdims=True)
    np.testing.assert_allclose(s, n @ n.T, atol=1e-5)
    assert bi.similarity(e[0], e).shape == (1, 3)
    np.testing.assert_allclose(bi.similarity_pairwise(e, e), 1.0, atol=1e-5)
    old = bi.similarity_fn_name
    try:
        bi.similarity_fn_name = "dot"
        np.testing.assert_allclose(bi.similarity(e, e), e @ e.T, rtol=1e-5, atol=1e-4)
        bi.similarity_fn_name = "euclidean"
        d = -np.linalg.norm(e[:, None, :] - e[None, :, :], axis=2)
        np.testing.assert_allclose(bi.similarity(e, e), d, atol=1e-3)
        bi.similarity_fn_name = "manhattan"
        np.testing.assert_allclose(bi.similarity(e, e), -np.abs(e[:, None] - e[None]).sum(2), rtol=1e-5, atol=1e-4)
        with pytest.raises(ValueError, match="similarity_fn_name"):
            bi.similarity_fn_name = "hamming"
    finally:
        bi.similarity_fn_name = old


def test_deprecated_dimension_name_warns(bi):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert bi.get_sentence_embedding_dimension() == bi.get_embedding_dimension()
    assert any(issubclass(x.category, FutureWarning) for x in w)


def test_unsupported_arguments(bi, bi_dir):
    with pytest.raises(TypeError, match="output_value"):
        bi.encode(TEXTS, output_value="token_embeddings")
    with pytest.raises(TypeError, match="precision"):
        bi.encode(TEXTS, precision="binary")
    with pytest.raises(TypeError, match="input 1"):
        bi.encode(["a", 1])
    with pytest.raises(TypeError, match="model_kwargs"):
        rerank.SentenceTransformer(bi_dir, model_kwargs={"torch_dtype": "float16"})
