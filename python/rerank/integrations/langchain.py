"""LangChain: rerank.CrossEncoder as a document compressor (``pip install rerank[langchain]``).

    from langchain_classic.retrievers import ContextualCompressionRetriever
    from rerank.integrations.langchain import CrossEncoderReranker

    compressor = CrossEncoderReranker(model="cross-encoder/ms-marco-MiniLM-L-6-v2", top_n=3)
    retriever = ContextualCompressionRetriever(base_compressor=compressor, base_retriever=base)

The kept documents are copies whose metadata carries ``relevance_score`` (as LangChain's Cohere, Jina and
FlashRank rerankers do), highest first.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

try:
    from langchain_core.callbacks import Callbacks
    from langchain_core.documents import BaseDocumentCompressor, Document
    from pydantic import ConfigDict, model_validator
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("rerank.integrations.langchain needs langchain-core: pip install rerank[langchain]") from e

from ..cross_encoder import CrossEncoder


class CrossEncoderReranker(BaseDocumentCompressor):
    """Reranks documents with a rerank.CrossEncoder and keeps the ``top_n`` best.

    ``model``: a rerank.CrossEncoder, or what its constructor takes (a model directory or Hub id);
    ``model_kwargs`` go to that constructor (e.g. ``{"precision": "int8", "threads": 4}``)."""

    model: Any
    top_n: int = 3
    batch_size: int = 32
    model_kwargs: Optional[dict] = None

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    @model_validator(mode="after")
    def _load(self) -> "CrossEncoderReranker":
        if not isinstance(self.model, CrossEncoder):
            if not isinstance(self.model, str):
                raise TypeError("model must be a rerank.CrossEncoder or a model directory / Hub id")
            self.model = CrossEncoder(self.model, **(self.model_kwargs or {}))
        elif self.model_kwargs:
            raise TypeError("model_kwargs apply only when model is a name, not a rerank.CrossEncoder")
        if self.top_n < 0:
            raise ValueError(f"top_n must be >= 0, got {self.top_n}")
        return self

    def compress_documents(self, documents: Sequence[Document], query: str,
                           callbacks: Callbacks = None) -> Sequence[Document]:
        if not documents:
            return []
        ranked = self.model.rank(query, [d.page_content for d in documents], top_k=self.top_n,
                                 batch_size=self.batch_size)
        out = []
        for r in ranked:
            doc = documents[r["corpus_id"]]
            out.append(Document(page_content=doc.page_content, id=doc.id,
                                metadata={**doc.metadata, "relevance_score": r["score"]}))
        return out
