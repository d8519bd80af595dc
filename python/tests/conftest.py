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
