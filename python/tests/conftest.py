"""Shared fixtures: the repository's test data (the same fixture models and goldens the C++ tests use)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
TOL = 1e-4  # the goldens' stated fp32 tolerance (token ids exact)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(autouse=True, scope="session")
def _offline():
    """The Hub is never contacted by the tests."""
    os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def ce_dir() -> str:
    return str(DATA / "encoders" / "models" / "ce-tiny")


@pytest.fixture(scope="session")
def ce3_dir() -> str:
    return str(DATA / "extra" / "models" / "ce-relu-3label")


@pytest.fixture(scope="session")
def bi_dir() -> str:
    return str(DATA / "encoders" / "models" / "bi-tiny-mean")


@pytest.fixture(scope="session")
def ce(ce_dir):
    import rerank
    return rerank.CrossEncoder(ce_dir, threads=2)


@pytest.fixture(scope="session")
def bi(bi_dir):
    import rerank
    return rerank.SentenceTransformer(bi_dir, threads=2)


def check_reranked_search(index, ce_dir: str) -> None:
    """search(reranker=...) on a Collection or OpenSearchIndex holding the fixture corpus: top_n hits, each scored as
    CrossEncoder.predict scores the pair (1e-5), sorted, and carrying its first-stage rank; with a CrossEncoder
    object and with a model spec."""
    import rerank
    q = "How do I reset my password?"
    first = index.search(q, k=8, top_n=8)
    ce = rerank.CrossEncoder(ce_dir)
    for reranker in (ce, ce_dir):  # a CrossEncoder object or a model spec
        hits = index.search(q, k=8, reranker=reranker, top_n=4)
        assert len(hits) == 4
        scores = ce.predict([(q, h["text"]) for h in hits])
        for h, s in zip(hits, scores):
            assert h["score"] == pytest.approx(float(s), abs=1e-5)
            assert h["first_stage_rank"] == next(f["rank"] for f in first if f["id"] == h["id"])
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
