"""rerank: cross-encoder reranking and bi-encoder embeddings in-process, with sentence-transformers' API.

    from rerank import CrossEncoder
    model = CrossEncoder("cross-encoder/ms-marco-MiniLM-L-6-v2")   # or a model directory
    scores = model.predict([("how to reset a password", "Click 'Forgot Password'.")])

Errors from the engine keep its messages: rerank.ModelError (a model directory or file is wrong; also a
ValueError), rerank.InputError (ValueError), rerank.HubError (OSError); a model path that does not exist raises
FileNotFoundError.
"""
from __future__ import annotations

from ._rerank import Error, HubError, InputError, ModelError, RemoteError
from ._rerank import resolve_model as _resolve_model
from . import activations
from .collection import Collection, evaluate
from .cross_encoder import CrossEncoder
from .opensearch import OpenSearchIndex
from .sentence_transformer import SentenceTransformer

__version__ = "0.1.0"


def resolve_model(model_name_or_path: str, *, revision: str = "main", local_files_only: bool = False,
                  cache_folder: str | None = None, token: str | None = None) -> str:
    """A model directory as is, or the snapshot directory of a Hub id ``ORG/NAME[@REVISION]`` (pulled into the
    Hugging Face cache, as huggingface_hub lays it out)."""
    return _resolve_model(model_name_or_path, revision=revision, offline=local_files_only,
                          cache_dir=cache_folder or "", token=token or "")


__all__ = ["activations", "CrossEncoder", "SentenceTransformer", "Collection", "OpenSearchIndex", "evaluate", "Error", "ModelError",
           "InputError", "HubError", "RemoteError", "resolve_model", "__version__"]
