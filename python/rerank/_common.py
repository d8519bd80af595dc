"""Helpers shared by the rerank Python classes: model resolution, argument checks, progress, activations."""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Iterable, Optional

import numpy as np

from . import _rerank
from .activations import ACTIVATIONS, softmax  # noqa: F401


def reject_unsupported(where: str, given: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Raise TypeError naming every argument in `given` whose value differs from the default we support."""
    bad = [name for name, value in given.items() if not _same(value, defaults.get(name))]
    if bad:
        raise TypeError(f"{where}: argument(s) not supported by rerank: {', '.join(bad)} "
                        f"(leave them at their defaults; see help({where.split('(')[0]}))")


def _same(value: Any, default: Any) -> bool:
    if value is default:
        return True
    try:
        return bool(value == default)
    except Exception:
        return False


def reject_extra_kwargs(where: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise TypeError(f"{where}: unexpected or unsupported keyword argument(s): {', '.join(sorted(kwargs))}")


def check_device(where: str, device: Any) -> None:
    if device is not None and str(device) != "cpu":
        raise TypeError(f"{where}: argument(s) not supported by rerank: device={device!r} (rerank runs on the CPU)")


def resolve(model_name_or_path: Any, *, default_org: str, cache_folder: Optional[str], revision: Optional[str],
            local_files_only: bool, token: Any) -> str:
    """A model directory, or the snapshot directory of a Hub id (pulled into the Hugging Face cache)."""
    if model_name_or_path is None:
        raise TypeError("model_name_or_path is required (rerank loads models from a directory or the Hub)")
    name = os.fspath(model_name_or_path)
    if not isinstance(name, str):
        raise TypeError(f"model_name_or_path must be a str or os.PathLike, got {type(model_name_or_path).__name__}")
    if token is not None and not isinstance(token, (str, bool)):
        raise TypeError(f"token must be a str or bool, got {type(token).__name__}")
    expanded = os.path.expanduser(name)
    if os.path.isdir(expanded):
        return expanded
    looks_local = name.startswith((".", "/", "~")) or os.path.exists(expanded)
    hub_id = name
    if not looks_local and "/" not in name.split("@")[0] and default_org:
        hub_id = f"{default_org}/{name}"  # sentence-transformers' short names, e.g. "all-MiniLM-L6-v2"
    try:
        return _rerank.resolve_model(hub_id, revision=revision or "main", offline=bool(local_files_only),
                                     cache_dir=cache_folder or "", token=token if isinstance(token, str) else "")
    except _rerank.HubError as e:
        if looks_local or not _rerank.is_hub_repo_id(hub_id.split("@")[0]):
            raise FileNotFoundError(str(e)) from None
        raise


def check_precision(precision: str) -> str:
    if not isinstance(precision, str) or precision.lower() not in ("fp32", "bf16", "int8"):
        raise ValueError(f"precision must be 'fp32', 'bf16' or 'int8', got {precision!r}")
    return precision.lower()


def check_threads(threads: Optional[int]) -> int:
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ValueError(f"threads must be a non-negative int (0 or None: all cores), got {threads!r}")
    return threads


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
    return int(batch_size)


def check_max_length(max_length: Any) -> int:
    if max_length is None:
        return 0
    if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length <= 0:
        raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
    return int(max_length)


def chunks(n: int, size: int, show_progress_bar: bool, desc: str) -> Iterable[tuple[int, int]]:
    """(begin, end) ranges; with a progress bar (tqdm when installed, else a line on stderr) when asked."""
    ranges = [(b, min(n, b + size)) for b in range(0, n, size)] if show_progress_bar else [(0, n)]
    if not show_progress_bar:
        return ranges
    try:
        from tqdm.auto import tqdm  # type: ignore
        return tqdm(ranges, desc=desc)
    except ImportError:
        return _plain_progress(ranges, desc)


def _plain_progress(ranges: list[tuple[int, int]], desc: str) -> Iterable[tuple[int, int]]:
    for i, r in enumerate(ranges):
        yield r
        print(f"\r{desc}: {i + 1}/{len(ranges)}", end="\n" if i + 1 == len(ranges) else "", file=sys.stderr, flush=True)


def activation_name(fn: Any) -> Optional[str]:
    """'Identity' | 'Sigmoid' | 'Tanh' | 'Softmax' for ours, torch.nn's modules or those names; None otherwise."""
    if isinstance(fn, str):
        for name in ACTIVATIONS:
            if fn.lower() == name.lower():
                return name
        raise ValueError(f"activation_fn {fn!r} is not one of {', '.join(ACTIVATIONS)}")
    name = type(fn).__name__
    return name if name in ACTIVATIONS else None
