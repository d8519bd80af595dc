"""The installed package: py.typed and the extension's stubs ship, and the stubs name what the module has."""
from __future__ import annotations

import ast
from pathlib import Path

import rerank
from rerank import _rerank


def stub_names() -> dict[str, set[str]]:
    tree = ast.parse((Path(rerank.__file__).parent / "_rerank.pyi").read_text())
    out: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[""].add(node.name)
        if isinstance(node, ast.ClassDef):
            out[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
    return out


def test_typing_files_ship():
    root = Path(rerank.__file__).parent
    assert (root / "py.typed").exists()
    assert (root / "_rerank.pyi").exists()


def test_stubs_match_the_extension():
    stubs = stub_names()
    public = {n for n in dir(_rerank) if not n.startswith("_")}
    assert stubs[""] == public
    for cls in ("Model", "CrossEncoder", "BiEncoder", "Collection"):
        have = {n for n in dir(getattr(_rerank, cls)) if not n.startswith("_")}
        assert stubs[cls] - {"__init__"} == have, cls


def test_public_api():
    for name in rerank.__all__:
        assert hasattr(rerank, name), name
    assert issubclass(rerank.ModelError, ValueError) and issubclass(rerank.HubError, OSError)
