"""rerank.SentenceTransformer: sentence-transformers' SentenceTransformer (bi-encoder) API on rerank's C++ engine."""
from __future__ import annotations

import json
import os
import warnings
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _common as c
from . import _rerank

_INIT_DEFAULTS = dict(modules=None, trust_remote_code=False, use_auth_token=None, model_kwargs=None,
                      processor_kwargs=None, config_kwargs=None, use_kernels=False, kernel_config=None,
                      model_card_data=None, backend="torch")
_ENCODE_DEFAULTS = dict(output_value="sentence_embedding", precision="float32", convert_to_tensor=False, pool=None,
                        chunk_size=None)
SIMILARITY_FUNCTIONS = ("cosine", "dot", "euclidean", "manhattan")


class SentenceTransformer:
    """Embeds texts like ``sentence_transformers.SentenceTransformer`` (same arguments, shapes and float32 dtype).

    ``model_name_or_path`` is a model directory or a Hub id (a bare name means ``sentence-transformers/NAME``).
    Pooling and normalization follow the model's modules.json. Extra keywords: ``precision`` ("fp32", "bf16",
    "int8": the engine's arithmetic) and ``threads``. Unsupported sentence-transformers arguments raise TypeError.
    Threads: as rerank.CrossEncoder (GIL released while encoding; calls on one object are serialized).
    """

    default_huggingface_organization = "sentence-transformers"

    def __init__(self, model_name_or_path: Optional[str] = None, *, modules: Any = None, device: Optional[str] = None,
                 prompts: Optional[dict[str, str]] = None, default_prompt_name: Optional[str] = None,
                 cache_folder: Optional[str] = None, trust_remote_code: bool = False, revision: Optional[str] = None,
                 local_files_only: bool = False, token: Union[bool, str, None] = None,
                 use_auth_token: Union[bool, str, None] = None, model_kwargs: Optional[dict] = None,
                 processor_kwargs: Optional[dict] = None, config_kwargs: Optional[dict] = None,
                 use_kernels: bool = False, kernel_config: Any = None, model_card_data: Any = None,
                 backend: str = "torch", similarity_fn_name: Optional[str] = None, truncate_dim: Optional[int] = None,
                 precision: str = "fp32", threads: Optional[int] = None) -> None:
        where = "SentenceTransformer()"
        c.reject_unsupported(where, dict(modules=modules, trust_remote_code=trust_remote_code,
                                         use_auth_token=use_auth_token, model_kwargs=model_kwargs,
                                         processor_kwargs=processor_kwargs, config_kwargs=config_kwargs,
                                         use_kernels=use_kernels, kernel_config=kernel_config,
                                         model_card_data=model_card_data, backend=backend), _INIT_DEFAULTS)
        c.check_device(where, device)
        self.precision = c.check_precision(precision)
        directory = c.resolve(model_name_or_path, default_org=self.default_huggingface_organization,
                              cache_folder=cache_folder, revision=revision, local_files_only=local_files_only,
                              token=token)
        self._model = _rerank.Model.load(directory)
        self._engine = _rerank.BiEncoder(self._model, c.check_threads(threads), self.precision)
        self.model_name_or_path = str(model_name_or_path)
        self._max_seq_length = self._model.max_length
        config = _read_st_config(directory)
        self.prompts: dict[str, str] = dict(config.get("prompts") or {})
        if prompts:
            self.prompts.update(prompts)
        self.default_prompt_name = default_prompt_name or config.get("default_prompt_name")
        if self.default_prompt_name is not None and self.default_prompt_name not in self.prompts:
            raise ValueError(f"default_prompt_name {self.default_prompt_name!r} is not in prompts: {list(self.prompts)}")
        self.similarity_fn_name = similarity_fn_name or config.get("similarity_fn_name") or "cosine"
        self.truncate_dim = truncate_dim

    # ---- properties -----------------------------------------------------------------------------------------------
    @property
    def max_seq_length(self) -> int:
        """Tokens per text, special tokens included (settable)."""
        return self._max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self._max_seq_length = c.check_max_length(value) or self._model.max_length

    @property
    def similarity_fn_name(self) -> str:
        return self._similarity_fn_name

    @similarity_fn_name.setter
    def similarity_fn_name(self, name: Any) -> None:
        name = getattr(name, "value", name)  # sentence_transformers.SimilarityFunction members
        if name not in SIMILARITY_FUNCTIONS:
            raise ValueError(f"similarity_fn_name must be one of {SIMILARITY_FUNCTIONS}, got {name!r}")
        self._similarity_fn_name = name

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def threads(self) -> int:
        return self._engine.threads

    def get_embedding_dimension(self) -> int:
        dim = self._model.embedding_dim
        return min(dim, self.truncate_dim) if self.truncate_dim else dim

    def get_sentence_embedding_dimension(self) -> int:
        warnings.warn("The `get_sentence_embedding_dimension` method has been renamed to `get_embedding_dimension`.",
                      FutureWarning, stacklevel=2)
        return self.get_embedding_dimension()

    def get_max_seq_length(self) -> int:
        return self._max_seq_length

    def __repr__(self) -> str:
        return (f"rerank.SentenceTransformer({self.model_name_or_path!r}, dim={self.get_embedding_dimension()}, "
                f"max_seq_length={self.max_seq_length}, precision={self.precision!r}, threads={self.threads})")

    # ---- encode ---------------------------------------------------------------------------------------------------
    def encode(self, inputs: Union[str, Sequence[str]], prompt_name: Optional[str] = None, prompt: Optional[str] = None,
               batch_size: int = 32, show_progress_bar: Optional[bool] = None,
               output_value: Optional[str] = "sentence_embedding", precision: str = "float32",
               convert_to_numpy: bool = True, convert_to_tensor: bool = False, device: Any = None,
               normalize_embeddings: bool = False, truncate_dim: Optional[int] = None, pool: Any = None,
               chunk_size: Optional[int] = None, **kwargs: Any) -> Any:
        """float32 array (n, dim) for a list of texts, (dim,) for one str; np.array([]) for no texts."""
        where = "SentenceTransformer.encode()"
        c.reject_extra_kwargs(where, kwargs)
        c.reject_unsupported(where, dict(output_value=output_value, precision=precision,
                                         convert_to_tensor=convert_to_tensor, pool=pool, chunk_size=chunk_size),
                             _ENCODE_DEFAULTS)
        c.check_device(where, device)
        bs = c.check_batch_size(batch_size)
        singular = isinstance(inputs, str)
        texts = [inputs] if singular else list(inputs)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"{where}: input {i} must be a str, got {type(t).__name__}")
        prefix = self._prompt(prompt, prompt_name)
        if prefix:
            texts = [prefix + t for t in texts]
        if not texts:
            emb: Any = np.array([])
        else:
            parts = [self._engine.encode(texts[b:e], self._max_seq_length, bs)
                     for b, e in c.chunks(len(texts), bs, bool(show_progress_bar), "Batches")]
            emb = np.concatenate(parts) if len(parts) > 1 else parts[0]
            dim = truncate_dim if truncate_dim is not None else self.truncate_dim
            if dim:
                emb = np.ascontiguousarray(emb[:, :dim])
            if normalize_embeddings:
                emb = _l2_normalize(emb)
        if not convert_to_numpy:
            emb = list(emb)
        return emb[0] if singular else emb

    def _prompt(self, prompt: Optional[str], prompt_name: Optional[str]) -> str:
        if prompt is not None:
            return prompt
        name = prompt_name if prompt_name is not None else self.default_prompt_name
        if name is None:
            return ""
        if name not in self.prompts:
            raise ValueError(f"Prompt name '{name}' not found in the configured prompts dictionary with keys "
                             f"{list(self.prompts.keys())!r}.")
        return self.prompts[name]

    # ---- similarity -----------------------------------------------------------------------------------------------
    def similarity(self, embeddings1: Any, embeddings2: Any) -> np.ndarray:
        """(n, m) float32 matrix of self.similarity_fn_name between every row of embeddings1 and of embeddings2."""
        a, b = _batch(embeddings1), _batch(embeddings2)
        return _similarity(self._similarity_fn_name, a, b)

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> np.ndarray:
        """(n,) float32: similarity of row i of embeddings1 with row i of embeddings2."""
        a, b = _batch(embeddings1), _batch(embeddings2)
        if a.shape != b.shape:
            raise ValueError(f"similarity_pairwise needs two arrays of one shape, got {a.shape} and {b.shape}")
        name = self._similarity_fn_name
        if name == "cosine":
            return np.sum(_l2_normalize(a) * _l2_normalize(b), axis=1).astype(np.float32)
        if name == "dot":
            return np.sum(a * b, axis=1).astype(np.float32)
        if name == "euclidean":
            return (-np.sqrt(np.sum((a - b) ** 2, axis=1))).astype(np.float32)
        return (-np.sum(np.abs(a - b), axis=1)).astype(np.float32)


def _read_st_config(directory: str) -> dict:
    path = os.path.join(directory, "config_sentence_transformers.json")
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise _rerank.ModelError(f"{path}: {e}") from None
    if not isinstance(data, dict):
        raise _rerank.ModelError(f"{path}: expected a JSON object")
    return data


def _batch(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    if isinstance(x, list) and x and hasattr(x[0], "detach"):
        x = [t.detach().cpu().numpy() for t in x]
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"embeddings must be 1-D or 2-D, got shape {a.shape}")
    return a


def _l2_normalize(a: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.sum(a.astype(np.float32) ** 2, axis=-1, keepdims=True))
    return (a / np.maximum(norms, 1e-12)).astype(np.float32)


def _similarity(name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if name == "cosine":
        return (_l2_normalize(a) @ _l2_normalize(b).T).astype(np.float32)
    if name == "dot":
        return (a @ b.T).astype(np.float32)
    if name == "euclidean":
        sq = np.sum(a * a, axis=1)[:, None] - 2 * (a @ b.T) + np.sum(b * b, axis=1)[None, :]
        return (-np.sqrt(np.maximum(sq, 0))).astype(np.float32)
    return (-np.abs(a[:, None, :] - b[None, :, :]).sum(axis=2)).astype(np.float32)
