"""The README's Python example, run as written, with the fixture models standing in for its Hub models: they are
laid out in a Hugging Face cache (models--ORG--NAME/snapshots/<commit>, refs/main) and the Hub is offline."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import DATA

README = Path(__file__).resolve().parents[2] / "README.md"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def python_section_blocks(lang: str) -> list[str]:
    text = README.read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


def fake_hub_cache(cache: Path, repo: str, model_dir: Path) -> None:
    folder = cache / ("models--" + repo.replace("/", "--"))
    shutil.copytree(model_dir, folder / "snapshots" / COMMIT)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(COMMIT)


def test_readme_python_example_runs_as_written(tmp_path):
    blocks = python_section_blocks("python")
    assert len(blocks) == 1, "README.md's Python section should hold one python block"
    code = blocks[0]
    repos = set(re.findall(r'"([\w.-]+/[\w.-]+)"', code))
    assert repos == {"cross-encoder/ms-marco-MiniLM-L-6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
    cache = tmp_path / "hub"
    fake_hub_cache(cache, "cross-encoder/ms-marco-MiniLM-L-6-v2", DATA / "encoders" / "models" / "ce-tiny")
    fake_hub_cache(cache, "sentence-transformers/all-MiniLM-L6-v2", DATA / "encoders" / "models" / "bi-tiny-mean")
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[-1].startswith("{'ndcg@10': 1.0") and "'mrr@10': 1.0" in lines[-1]
    assert any(re.match(r"1 (pw1|hr1) -?\d", line) for line in lines)  # the search printed its top hit
    assert (tmp_path / "my-py-coll" / "collection.sqlite").exists()


def test_readme_install_command_is_what_make_python_does():
    (sh,) = python_section_blocks("sh")
    assert "pip install ." in sh
