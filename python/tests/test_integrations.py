"""The LangChain and LlamaIndex adapters inside those frameworks' own retriever / query-engine objects (the real
packages, pinned in the test venv by `make python`; skipped with a reason only when they are not installed)."""
from __future__ import annotations

import numpy as np
import pytest

import rerank

DOCS = ["Click 'Forgot password' on the login page to reset your password.",
        "The cafeteria opens at nine.",
        "Passwords must be at least twelve characters long.",
        "Whales are marine mammals."]
QUERY = "how do I reset my password"


def expected_order(ce) -> tuple[list[int], np.ndarray]:
    scores = ce.predict([(QUERY, d) for d in DOCS])
    return list(np.argsort(-scores, kind="stable")), scores


def test_langchain_contextual_compression_retriever(ce, ce_dir):
    pytest.importorskip("langchain_core")
    retrievers = pytest.importorskip("langchain_classic.retrievers")
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    from rerank.integrations.langchain import CrossEncoderReranker

    class ListRetriever(BaseRetriever):
        def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
            return [Document(page_content=d, metadata={"i": i}) for i, d in enumerate(DOCS)]

    order, scores = expected_order(ce)
    for model in (ce, ce_dir):  # a rerank.CrossEncoder or a model name
        compressor = CrossEncoderReranker(model=model, top_n=2)
        retriever = retrievers.ContextualCompressionRetriever(base_compressor=compressor, base_retriever=ListRetriever())
        got = retriever.invoke(QUERY)
        assert [d.metadata["i"] for d in got] == order[:2]
        for d in got:
            assert d.metadata["relevance_score"] == pytest.approx(float(scores[d.metadata["i"]]), abs=1e-5)
    assert CrossEncoderReranker(model=ce).compress_documents([], QUERY) == []
    with pytest.raises(Exception, match="model"):
        CrossEncoderReranker(model=3)


def test_llama_index_query_engine(ce, ce_dir):
    pytest.importorskip("llama_index.core")
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    from rerank.integrations.llama_index import CrossEncoderRerank

    class ListRetriever(BaseRetriever):
        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            return [NodeWithScore(node=TextNode(text=d, id_=str(i)), score=1.0 / (i + 1)) for i, d in enumerate(DOCS)]

    order, scores = expected_order(ce)
    for model in (ce, ce_dir):
        post = CrossEncoderRerank(model=model, top_n=3, keep_retrieval_score=True)
        engine = RetrieverQueryEngine.from_args(ListRetriever(), llm=MockLLM(), node_postprocessors=[post])
        response = engine.query(QUERY)
        got = response.source_nodes
        assert [int(n.node.id_) for n in got] == order[:3]
        for n in got:
            assert n.score == pytest.approx(float(scores[int(n.node.id_)]), abs=1e-5)
            assert n.node.metadata["retrieval_score"] == pytest.approx(1.0 / (int(n.node.id_) + 1))
