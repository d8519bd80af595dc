"""rerank.CrossEncoder: sentence-transformers' CrossEncoder API on rerank's C++ engine."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import _common as c
from . import _rerank

Pair = Union[Sequence[str], tuple]

_INIT_DEFAULTS = dict(modules=None, prompts=None, default_prompt_name=None, trust_remote_code=False,
                      model_kwargs=None, processor_kwargs=None, config_kwargs=None, use_kernels=False,
                      kernel_config=None, model_card_data=None, backend="torch", keep_in_fp32_modules=None)
_CALL_DEFAULTS = dict(prompt_name=None, prompt=None, convert_to_tensor=False, pool=None, chunk_size=None)


class CrossEncoder:
    """Scores (query, document) pairs like ``sentence_transformers.CrossEncoder`` (same arguments and results).

    ``model_name_or_path`` is a model directory or a Hugging Face Hub id (``ORG/NAME``, pulled into the Hugging Face
    cache; a bare name means ``cross-encoder/NAME``). Extra keywords: ``precision`` ("fp32" exact, "bf16", "int8")
    and ``threads`` (0/None: all cores); ``template`` ("auto": the Qwen3-Reranker template for Qwen3 rerankers, plain
    pairs otherwise; "qwen3-reranker"; "none": query tokens then document tokens, as sentence-transformers
    concatenates them) and ``instruction`` (the reranker template's instruction; None = the model card's default),
    also per call in ``predict`` and ``rank``. Arguments of sentence-transformers that rerank does not support raise
    TypeError naming them.

    Threads: the GIL is released while pairs are tokenized and scored, so threads with their own CrossEncoder run in
    parallel. One CrossEncoder may also be shared by threads: its calls are serialized (one runs at a time).
    Ctrl-C interrupts a long ``predict`` within one batch (KeyboardInterrupt).
    """

    default_huggingface_organization = "cross-encoder"

    def __init__(self, model_name_or_path: Optional[str] = None, *, modules: Any = None, device: Optional[str] = None,
                 prompts: Optional[dict] = None, default_prompt_name: Optional[str] = None,
                 cache_folder: Optional[str] = None, trust_remote_code: bool = False, revision: Optional[str] = None,
                 local_files_only: bool = False, token: Union[bool, str, None] = None,
                 model_kwargs: Optional[dict] = None, processor_kwargs: Optional[dict] = None,
                 config_kwargs: Optional[dict] = None, use_kernels: bool = False, kernel_config: Any = None,
                 model_card_data: Any = None, backend: str = "torch", num_labels: Optional[int] = None,
                 max_length: Optional[int] = None, activation_fn: Optional[Callable] = None,
                 keep_in_fp32_modules: Optional[list] = None, precision: str = "fp32",
                 threads: Optional[int] = None, template: str = "auto", instruction: Optional[str] = None) -> None:
        where = "CrossEncoder()"
        c.reject_unsupported(where, dict(modules=modules, prompts=prompts, default_prompt_name=default_prompt_name,
                                         trust_remote_code=trust_remote_code, model_kwargs=model_kwargs,
                                         processor_kwargs=processor_kwargs, config_kwargs=config_kwargs,
                                         use_kernels=use_kernels, kernel_config=kernel_config,
                                         model_card_data=model_card_data, backend=backend,
                                         keep_in_fp32_modules=keep_in_fp32_modules), _INIT_DEFAULTS)
        c.check_device(where, device)
        self.precision = c.check_precision(precision)
        self.template = _check_template(template)
        self.instruction = _check_instruction(instruction)
        directory = c.resolve(model_name_or_path, default_org=self.default_huggingface_organization,
                              cache_folder=cache_folder, revision=revision, local_files_only=local_files_only,
                              token=token)
        self._model = _rerank.Model.load(directory)
        self._engine = _rerank.CrossEncoder(self._model, c.check_threads(threads), self.precision)
        if num_labels is not None and num_labels != self._model.num_labels:
            raise ValueError(f"num_labels={num_labels}, but {directory} has {self._model.num_labels} labels "
                             "(rerank does not re-initialise classifier heads)")
        self.model_name_or_path = str(model_name_or_path)
        self._max_length = c.check_max_length(max_length) or self._model.max_length
        self._default_activation = c.ACTIVATIONS[self._model.activation]()
        self.activation_fn = self._default_activation if activation_fn is None else activation_fn

    # ---- properties sentence-transformers has ----------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return self._model.num_labels

    @property
    def max_length(self) -> int:
        """Tokens per pair, special tokens included (settable)."""
        return self._max_length

    @max_length.setter
    def max_length(self, value: int) -> None:
        self._max_length = c.check_max_length(value) or self._model.max_length

    def get_max_seq_length(self) -> int:
        return self._max_length

    @property
    def activation_fn(self) -> Callable:
        return self._activation_fn

    @activation_fn.setter
    def activation_fn(self, fn: Any) -> None:
        if isinstance(fn, str):
            fn = c.ACTIVATIONS[c.activation_name(fn)]()
        if not callable(fn):
            raise TypeError(f"activation_fn must be callable or a name, got {type(fn).__name__}")
        self._activation_fn = fn

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def threads(self) -> int:
        return self._engine.threads

    def __repr__(self) -> str:
        return (f"rerank.CrossEncoder({self.model_name_or_path!r}, num_labels={self.num_labels}, "
                f"max_length={self.max_length}, precision={self.precision!r}, threads={self.threads}, "
                f"template={self.template!r})")

    # ---- predict / rank ----------------------------------------------------------------------------------------
    def predict(self, inputs: Union[Sequence[Pair], Pair], prompt_name: Optional[str] = None,
                prompt: Optional[str] = None, batch_size: int = 32, show_progress_bar: Optional[bool] = None,
                activation_fn: Optional[Callable] = None, apply_softmax: Optional[bool] = False,
                convert_to_numpy: bool = True, convert_to_tensor: bool = False, device: Any = None,
                pool: Any = None, chunk_size: Optional[int] = None, template: Optional[str] = None,
                instruction: Optional[str] = None, **kwargs: Any) -> Any:
        """Scores of the pairs: float32 array (n,) for one-label models, (n, num_labels) otherwise; one pair in,
        one score (or one row) out, as sentence-transformers. ``template`` / ``instruction``: as the constructor's,
        for this call (None: the object's)."""
        where = "CrossEncoder.predict()"
        c.reject_extra_kwargs(where, kwargs)
        c.reject_unsupported(where, dict(prompt_name=prompt_name, prompt=prompt, convert_to_tensor=convert_to_tensor,
                                         pool=pool, chunk_size=chunk_size), _CALL_DEFAULTS)
        c.check_device(where, device)
        bs = c.check_batch_size(batch_size)
        template = self.template if template is None else _check_template(template)
        instruction = self.instruction if instruction is None else _check_instruction(instruction)
        singular = _is_singular(inputs)
        pairs = _pairs([inputs] if singular else list(inputs))
        if not pairs:
            scores = np.array([])
        else:
            scores = self._score(pairs, bs, bool(show_progress_bar), activation_fn, apply_softmax,
                                 (template, instruction or ""))
        if not convert_to_numpy:
            scores = list(scores)
        return scores[0] if singular else scores

    def _score(self, pairs: list, batch_size: int, progress: bool, activation_fn: Any, apply_softmax: Any,
               template: tuple) -> np.ndarray:
        fn = self.activation_fn if activation_fn is None else activation_fn
        name = c.activation_name(fn)
        if isinstance(fn, str):
            fn = c.ACTIVATIONS[name]()
        native = name == self._model.activation  # the engine's own scores (computed in C++)
        parts = []
        for begin, end in c.chunks(len(pairs), batch_size, progress, "Batches"):
            logits, scores = self._engine.predict(pairs[begin:end], self._max_length, batch_size, *template)
            parts.append(scores if native else _apply(fn, name, logits))
        out = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if self.num_labels == 1 and out.ndim > 1:
            out = out[:, 0]
        if apply_softmax and out.ndim > 1:
            out = c.softmax(out)
        return out

    def rank(self, query: str, documents: Sequence[str], top_k: Optional[int] = None, return_documents: bool = False,
             prompt_name: Optional[str] = None, prompt: Optional[str] = None, batch_size: int = 32,
             show_progress_bar: Optional[bool] = None, activation_fn: Optional[Callable] = None, device: Any = None,
             pool: Any = None, chunk_size: Optional[int] = None, template: Optional[str] = None,
             instruction: Optional[str] = None) -> list[dict[str, Any]]:
        """[{"corpus_id": i, "score": s(, "text": doc)}] sorted by score, highest first; top_k keeps the first k."""
        if self.num_labels != 1:
            raise ValueError("CrossEncoder.rank() only works for models with num_labels=1. "
                             "Consider using CrossEncoder.predict() with input pairs instead.")
        documents = list(documents)
        scores = self.predict([[query, d] for d in documents], prompt_name=prompt_name, prompt=prompt,
                              batch_size=batch_size, show_progress_bar=show_progress_bar, activation_fn=activation_fn,
                              device=device, pool=pool, chunk_size=chunk_size, template=template,
                              instruction=instruction).tolist()
        results: list[dict[str, Any]] = []
        for i, score in enumerate(scores):
            results.append({"corpus_id": i, "score": score})
            if return_documents:
                results[-1]["text"] = documents[i]
        results = sorted(results, key=lambda x: x["score"], reverse=True)
        return results[:top_k]


_TEMPLATES = ("auto", "qwen3-reranker", "none")


def _check_template(template: Any) -> str:
    if not isinstance(template, str) or template not in _TEMPLATES:
        raise ValueError(f"template must be one of {', '.join(_TEMPLATES)}, got {template!r}")
    return template


def _check_instruction(instruction: Any) -> Optional[str]:
    if instruction is not None and not isinstance(instruction, str):
        raise TypeError(f"instruction must be a str or None, got {type(instruction).__name__}")
    return instruction


def _is_singular(inputs: Any) -> bool:
    """sentence-transformers' rule: a list/tuple whose first item is not a list/tuple is one pair."""
    if isinstance(inputs, (list, tuple)):
        return len(inputs) > 0 and not isinstance(inputs[0], (list, tuple))
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind in ("U", "O"):
        return inputs.size != 0 and inputs.ndim < 2
    if isinstance(inputs, str):
        raise TypeError("CrossEncoder.predict() takes (query, document) pairs, not a single string")
    return False


def _pairs(items: list) -> list[tuple[str, str]]:
    out = []
    for i, p in enumerate(items):
        if isinstance(p, np.ndarray):
            p = p.tolist()
        if not isinstance(p, (list, tuple)) or len(p) != 2 or not all(isinstance(t, str) for t in p):
            raise TypeError(f"CrossEncoder.predict(): input {i} must be a (query, document) pair of two str, "
                            f"got {type(p).__name__}" + (f" of length {len(p)}" if isinstance(p, (list, tuple)) else ""))
        out.append((p[0], p[1]))
    return out


def _apply(fn: Callable, name: Optional[str], logits: np.ndarray) -> np.ndarray:
    if name is not None:
        return c.ACTIVATIONS[name]()(logits)
    return np.asarray(fn(logits), dtype=np.float32)
