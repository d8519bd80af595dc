"""C++ errors arrive as Python exceptions with the engine's messages; nothing aborts the interpreter."""
from __future__ import annotations

import json
import shutil

import pytest

import rerank


def test_missing_directory_is_file_not_found(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        rerank.CrossEncoder(str(missing))
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        rerank.SentenceTransformer(missing)  # os.PathLike too


def test_broken_config_is_model_error_naming_the_file(tmp_path, ce_dir):
    broken = tmp_path / "ce"
    shutil.copytree(ce_dir, broken)
    (broken / "config.json").write_text("{ not json")
    with pytest.raises(rerank.ModelError, match="config.json") as e:
        rerank.CrossEncoder(str(broken))
    assert isinstance(e.value, ValueError) and isinstance(e.value, rerank.Error)
    (broken / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"]}))
    with pytest.raises(rerank.ModelError, match="config.json"):
        rerank.CrossEncoder(str(broken))


def test_missing_weights_is_model_error(tmp_path, ce_dir):
    broken = tmp_path / "ce"
    shutil.copytree(ce_dir, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(rerank.ModelError, match="safetensors"):
        rerank.CrossEncoder(str(broken))


def test_bi_encoder_is_not_a_cross_encoder(bi_dir):
    with pytest.raises(rerank.ModelError, match="sequence-classification head"):
        rerank.CrossEncoder(bi_dir)


def test_hub_id_not_in_cache_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(rerank.HubError, match="no-such-org/no-such-model") as e:
        rerank.CrossEncoder("no-such-org/no-such-model")
    assert isinstance(e.value, OSError)


def test_too_long_max_length_is_input_error(ce_dir, ce):
    m = rerank.CrossEncoder(ce_dir, max_length=10**6)
    with pytest.raises(rerank.InputError) as e:
        m.predict(("q", "d"))
    assert isinstance(e.value, ValueError)
    assert ce.predict(("q", "d")).shape == ()  # the other encoders still work
