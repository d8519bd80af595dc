"""rerank.OpenSearchIndex: an OpenSearch index as the first stage (``rerank search --opensearch URL --index NAME``),
and bulk loading into it (``rerank index --to opensearch``). A thin layer over the engine's OpenSearch client
(include/rerank/opensearch.hpp): the same index mapping, queries, score scaling and errors as the CLI."""
from __future__ import annotations

import os
from typing import Any, Iterable, Optional, Union

from . import _common as c
from . import _rerank
from .collection import Documents, check_files, check_search_args, document_tuples, model_spec
from .cross_encoder import CrossEncoder


class OpenSearchIndex:
    """The OpenSearch index ``index`` at ``url`` as a first stage with ``Collection``'s ``search``/``add`` API.

    ``url``/``index`` and the authentication fields default to ``$RERANK_OPENSEARCH_URL``,
    ``$RERANK_OPENSEARCH_INDEX``, ``$RERANK_OPENSEARCH_USER`` / ``_PASSWORD`` / ``_API_KEY`` / ``_CA_CERT``;
    ``timeout`` (seconds per request) to ``$RERANK_OPENSEARCH_TIMEOUT``, else 30. TLS certificates are verified
    unless ``insecure=True``. The index must exist, unless ``create=True``: then it is made when missing (BM25
    k1 0.9 b 0.4 on an English analyzer, ``shards`` x (1 + ``replicas``); with ``bi_encoder`` a vector field:
    a k-NN plugin ``knn_vector`` when the cluster has the plugin, else an exact script_score over _source).

    ``bi_encoder``: embeds documents on ``add`` and queries on dense/hybrid ``search``; by default dense search
    uses the embedder the index's mapping records. Results are per document (OpenSearch holds no passages).
    ``precision`` is the bi-encoder's for documents and queries: fp32 by default (as ``rerank search`` embeds
    queries); ``rerank index`` defaults to bf16 on CPUs that compute it natively, ``precision="bf16"`` here.

    Errors: rerank.InputError (also ValueError) for a malformed URL or index name; rerank.RemoteError (also
    ConnectionError) naming the URL, the HTTP status and OpenSearch's error type and reason (a missing index:
    ``HTTP 404: index_not_found_exception``), or the connection failure of an unreachable host (after
    ``max_attempts`` tries with backoff).
    """

    def __init__(self, url: Optional[str] = None, index: Optional[str] = None, *, user: Optional[str] = None,
                 password: Optional[str] = None, api_key: Optional[str] = None, ca_cert: Optional[str] = None,
                 insecure: bool = False, timeout: Optional[float] = None, max_attempts: int = 5,
                 bi_encoder: Optional[Union[str, os.PathLike]] = None, create: bool = False, shards: int = 1,
                 replicas: int = 0, threads: Optional[int] = None, precision: str = "fp32") -> None:
        where = "OpenSearchIndex()"
        fields = {"url": url, "index": index, "user": user, "password": password, "api_key": api_key,
                  "ca_cert": ca_cert}
        for name, v in fields.items():
            if v is not None and not isinstance(v, str):
                raise TypeError(f"{where}: {name} must be a str or None, got {type(v).__name__}")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
            raise ValueError(f"{where}: timeout must be a positive number of seconds, got {timeout!r}")
        for name, v, low in (("max_attempts", max_attempts, 1), ("shards", shards, 1), ("replicas", replicas, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{where}: {name} must be an int >= {low}, got {v!r}")
        s = {k: v or "" for k, v in fields.items()}
        self._c = _rerank.OpenSearch(s["url"], s["index"], s["user"], s["password"], s["api_key"], s["ca_cert"],
                                     bool(insecure), float(timeout or 0), max_attempts, shards, replicas,
                                     model_spec(bi_encoder), c.check_threads(threads), c.check_precision(precision),
                                     bool(create))

    @property
    def url(self) -> str:
        return self._c.url

    @property
    def index(self) -> str:
        return self._c.index

    def __len__(self) -> int:
        return self._c.size()

    def __repr__(self) -> str:
        return f"OpenSearchIndex({self.url!r}, {self.index!r})"

    def add(self, documents: Documents, *, replace: bool = False) -> dict[str, int]:
        """Adds documents with one ``_bulk`` request (embedded first with the bi-encoder), then refreshes the index:
        texts (ids "0", "1", ... after the current count) or dicts as ``Collection.add`` takes. Ids already present
        are skipped (``replace=True``: replaced), and so is an id given twice (the first stays, or the last). Returns
        {added, replaced, skipped, retried (429 rejections)}."""
        return self._c.add(document_tuples("OpenSearchIndex.add()", documents, len(self)), replace)

    def add_files(self, paths: Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]], *, format: str = "auto",
                  batch_size: int = 500, replace: bool = False) -> dict[str, int]:
        """Adds the documents of files as ``rerank index --to opensearch`` does: one ``_mget`` (ids present are
        skipped) and one ``_bulk`` per ``batch_size`` documents; an interruption keeps the batches sent."""
        return self._c.add_files(check_files("OpenSearchIndex.add_files()", paths, batch_size), format, batch_size, replace)

    def search(self, query: str, k: int = 50, retriever: str = "bm25",
               reranker: Union[None, str, CrossEncoder] = None, top_n: int = 5) -> list[dict[str, Any]]:
        """As ``Collection.search``: ``retriever`` bm25 (a ``match`` query, dfs_query_then_fetch), dense (``knn`` or
        the exact script_score) or hybrid (fused by rerank, RRF), then the optional ``reranker``. Items: rank, id,
        passage (0), score, first_stage_rank, first_stage_score, text ("title text")."""
        second, max_length = check_search_args("OpenSearchIndex.search()", query, k, top_n, reranker)
        return self._c.search(query, k, retriever, second, max_length, top_n)
