"""rerank.Collection and rerank.evaluate: the engine's collections, two-stage search and IR metrics."""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping, Optional, Union

from . import _common as c
from . import _rerank
from .cross_encoder import CrossEncoder

Documents = Iterable[Union[str, Mapping[str, Any]]]


def document_tuples(where: str, documents: Documents, start: int) -> list[tuple[str, str, str, str]]:
    """(id, title, text, metadata JSON) tuples: texts get ids str(start), str(start + 1), ...; dicts need ``id`` (or
    ``_id``) and a str ``text``, optional ``title`` and ``metadata`` (a JSON string or a JSON-able value)."""
    batch = []
    for i, d in enumerate(documents):
        if isinstance(d, str):
            batch.append((str(start + i), "", d, ""))
            continue
        if not isinstance(d, Mapping):
            raise TypeError(f"{where}: document {i} must be a str or a dict, got {type(d).__name__}")
        doc_id = d.get("id", d.get("_id"))
        if doc_id is None or not isinstance(d.get("text"), str):
            raise ValueError(f"{where}: document {i} needs an \"id\" (or \"_id\") and a str \"text\"")
        meta = d.get("metadata")
        batch.append((str(doc_id), str(d.get("title") or ""), d["text"],
                      "" if meta is None else (meta if isinstance(meta, str) else json.dumps(meta))))
    return batch


def check_search_args(where: str, query: Any, k: Any, top_n: Any, reranker: Any) -> tuple[Any, int]:
    """The reranker argument as the binding takes it (engine or spec, max_length); TypeError/ValueError else."""
    if not isinstance(query, str):
        raise TypeError(f"{where}: query must be a str, got {type(query).__name__}")
    for name, v in (("k", k), ("top_n", top_n)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{where}: {name} must be a non-negative int, got {v!r}")
    if isinstance(reranker, CrossEncoder):
        return reranker._engine, reranker.max_length
    if reranker is not None and not isinstance(reranker, (str, os.PathLike)):
        raise TypeError(f"{where}: reranker must be None, a str spec or a rerank.CrossEncoder")
    return (None if reranker is None else os.fspath(reranker)), 0


def check_files(where: str, paths: Any, batch_size: Any) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be a positive int, got {batch_size!r}")
    return [os.fspath(p) for p in paths]


def model_spec(spec: Optional[Union[str, os.PathLike]]) -> str:
    if spec is None:
        return ""
    s = os.fspath(spec)
    return os.path.expanduser(s) if os.path.isdir(os.path.expanduser(s)) else s


class Collection:
    """A persistent collection in directory ``path`` (created when missing): BM25 and, with ``bi_encoder``, dense
    vectors; ``search`` runs the first stage and an optional cross-encoder, as ``rerank search`` does.

    ``bi_encoder``: a model directory, Hub id or ``openai:MODEL``; passages are embedded on ``add`` and queries on
    dense/hybrid ``search``. A collection created with one remembers it. Not thread-safe across processes'
    writers beyond SQLite's rules; calls on one object from several threads are serialized.

    ``precision`` ("fp32", "bf16", "int8") is the bi-encoder's for both passages and queries. The default fp32 embeds
    queries as ``rerank search`` does; ``rerank index`` embeds passages in bf16 where the CPU computes it natively
    (its ``--precision auto``: cosine >= 0.999 to fp32, ~2.4x faster): pass ``precision="bf16"`` for that speed.
    """

    def __init__(self, path: Union[str, os.PathLike], *, bi_encoder: Optional[str] = None,
                 threads: Optional[int] = None, precision: str = "fp32") -> None:
        self._c = _rerank.Collection(os.fspath(path), model_spec(bi_encoder), c.check_threads(threads), c.check_precision(precision))

    @property
    def path(self) -> str:
        return self._c.directory

    def __len__(self) -> int:
        return self._c.size()

    def ids(self) -> list[str]:
        return self._c.ids()

    def add(self, documents: Documents, *, replace: bool = False) -> dict[str, int]:
        """Adds documents in one transaction: texts (ids "0", "1", ... after the current size) or dicts with
        ``id``/``_id``, ``text`` and optional ``title`` and ``metadata``. Existing ids are skipped (or replaced);
        so is an id given twice in ``documents`` (the first stays, or the last with ``replace=True``)."""
        return self._c.add(document_tuples("Collection.add()", documents, len(self)), replace)

    def add_files(self, paths: Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]], *, format: str = "auto",
                  batch_size: int = 256, replace: bool = False) -> dict[str, int]:
        """Adds the documents of files as ``rerank index`` does (BEIR/JSON lines, CSV/TSV, SMART, TREC, plain text;
        ``format`` forces one): one transaction per ``batch_size`` documents, the next batch read, chunked and
        tokenized while the current one is embedded. An interruption (Ctrl-C, an error) keeps the whole batches
        committed before it; calling again skips the ids already present (``replace=True`` replaces them)."""
        files = check_files("Collection.add_files()", paths, batch_size)
        return self._c.add_files(files, format, batch_size, replace)

    def search(self, query: str, k: int = 50, retriever: str = "bm25",
               reranker: Union[None, str, CrossEncoder] = None, top_n: int = 5, *,
               per_passage: bool = False) -> list[dict[str, Any]]:
        """The final ranking (reranked when ``reranker`` is given, else the first stage) as ``rerank search --json``
        items: rank, id, passage, score, first_stage_rank, first_stage_score, plus the passage's text.

        ``reranker``: a rerank.CrossEncoder, or a spec (model directory, Hub id, ``cohere:MODEL``)."""
        second, max_length = check_search_args("Collection.search()", query, k, top_n, reranker)
        return self._c.search(query, k, retriever, second, max_length, top_n, per_passage)


def evaluate(qrels: Union[str, os.PathLike, Mapping[str, Mapping[str, int]]],
             run: Union[str, os.PathLike, Mapping[str, Mapping[str, float]]],
             metrics: Union[str, Iterable[str]] = "ndcg@10,map@100,mrr@10,p@5,recall@100", *,
             relevance_level: int = 1, per_query: bool = False) -> Any:
    """Mean of each metric over the queries in both the run and the qrels, computed as ``rerank eval`` (trec_eval's
    rules): ``{"ndcg@10": 0.71, ...}``; with ``per_query=True`` also ``{metric: {query_id: value}}``.

    qrels: a file (TREC, BEIR TSV, cranqrel, CISI.REL) or ``{query_id: {doc_id: relevance}}``; run: a TREC run file
    or ``{query_id: {doc_id: score}}`` (both files or both dicts); metrics: names such as ndcg@10, map, mrr@10, p@5, recall@100, rprec, hit@10
    (or trec_eval's: ndcg_cut_10, recip_rank, P_5, ...), a list or a comma-separated string."""
    names = metrics if isinstance(metrics, str) else ",".join(metrics)
    if isinstance(qrels, (str, os.PathLike)) != isinstance(run, (str, os.PathLike)):
        raise TypeError("evaluate(): give qrels and run both as files or both as dicts")
    if isinstance(qrels, (str, os.PathLike)):
        means, values = _rerank.evaluate_files(os.fspath(qrels), os.fspath(run), names, relevance_level)
    else:
        means, values = _rerank.evaluate({str(q): {str(d): int(r) for d, r in docs.items()} for q, docs in qrels.items()},
                                         {str(q): {str(d): float(s) for d, s in docs.items()} for q, docs in run.items()},
                                         names, relevance_level)
    return (means, values) if per_query else means

