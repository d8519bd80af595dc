"""LlamaIndex: rerank.CrossEncoder as a node postprocessor (``pip install rerank[llama-index]``).

    from rerank.integrations.llama_index import CrossEncoderRerank
    engine = index.as_query_engine(similarity_top_k=20,
                                   node_postprocessors=[CrossEncoderRerank(model="cross-encoder/ms-marco-MiniLM-L-6-v2", top_n=3)])

Like LlamaIndex's SentenceTransformerRerank: each kept node's ``score`` is the cross-encoder's, highest first.
"""
from __future__ import annotations

from typing import Any, Optional

try:
    from llama_index.core.bridge.pydantic import Field, PrivateAttr
    from llama_index.core.callbacks import CBEventType, EventPayload
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("rerank.integrations.llama_index needs llama-index-core: pip install rerank[llama-index]") from e

from ..cross_encoder import CrossEncoder


class CrossEncoderRerank(BaseNodePostprocessor):
    """Reranks nodes with a rerank.CrossEncoder and keeps the ``top_n`` best (node.score = the model's score)."""

    model: str = Field(default="cross-encoder/ms-marco-MiniLM-L-6-v2", description="model directory or Hub id")
    top_n: int = Field(default=2, description="number of nodes to keep")
    batch_size: int = Field(default=32)
    keep_retrieval_score: bool = Field(default=False, description="keep the retriever's score in node metadata")
    _encoder: CrossEncoder = PrivateAttr()

    def __init__(self, model: Any = "cross-encoder/ms-marco-MiniLM-L-6-v2", top_n: int = 2,
                 batch_size: int = 32, keep_retrieval_score: bool = False, model_kwargs: Optional[dict] = None,
                 **kwargs: Any) -> None:
        encoder = model if isinstance(model, CrossEncoder) else CrossEncoder(model, **(model_kwargs or {}))
        super().__init__(model=encoder.model_name_or_path, top_n=top_n, batch_size=batch_size,
                         keep_retrieval_score=keep_retrieval_score, **kwargs)
        self._encoder = encoder

    @classmethod
    def class_name(cls) -> str:
        return "RerankCrossEncoderRerank"

    def _postprocess_nodes(self, nodes: list[NodeWithScore],
                           query_bundle: Optional[QueryBundle] = None) -> list[NodeWithScore]:
        if query_bundle is None:
            raise ValueError("Missing query bundle in extra info.")
        if not nodes:
            return []
        texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        payload = {EventPayload.NODES: nodes, EventPayload.MODEL_NAME: self.model,
                   EventPayload.QUERY_STR: query_bundle.query_str, EventPayload.TOP_K: self.top_n}
        with self.callback_manager.event(CBEventType.RERANKING, payload=payload) as event:
            ranked = self._encoder.rank(query_bundle.query_str, texts, top_k=self.top_n, batch_size=self.batch_size)
            out = []
            for r in ranked:
                n = nodes[r["corpus_id"]]
                if self.keep_retrieval_score:
                    n.node.metadata["retrieval_score"] = n.score
                n.score = r["score"]
                out.append(n)
            event.on_end(payload={EventPayload.NODES: out})
        return out
