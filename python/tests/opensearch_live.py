"""rerank.OpenSearchIndex against the real 2-node OpenSearch cluster of ctest opensearch_cluster: not collected by
the python test run (no test_ prefix); scripts/opensearch/integration_test.sh runs it once the cluster is up and
the CLI has loaded the fixture corpus into the index "fixture" and built the collection RERANK_TEST_COLLECTION
(--no-chunking, the same bi-encoder). Environment: RERANK_TEST_OPENSEARCH_URLS (the nodes, space-separated),
RERANK_TEST_COLLECTION."""
from __future__ import annotations

import os

import pytest

import rerank
from conftest import DATA

URLS = os.environ["RERANK_TEST_OPENSEARCH_URLS"].split()
COLLECTION = os.environ["RERANK_TEST_COLLECTION"]
QUERIES = ["reset password email", "refund for a returned item", "how do I log in when the page does not load"]
CORPUS = DATA / "pipeline" / "corpus.jsonl"


def same_ranking(a, b, tol):
    """Same ids in the same order with scores within tol, except that items tied within tol may come in any order."""
    assert a and len(a) == len(b)
    i = 0
    while i < len(a):
        j = i + 1
        while j < len(a) and abs(a[j]["score"] - a[i]["score"]) <= tol:
            j += 1
        ga = sorted((x["id"], x["score"]) for x in a[i:j])
        gb = sorted((x["id"], x["score"]) for x in b[i:j])
        assert [x[0] for x in ga] == [x[0] for x in gb], f"ranks {i + 1}..{j}"
        assert max(abs(x[1] - y[1]) for x, y in zip(ga, gb)) <= tol
        i = j


@pytest.fixture(scope="module")
def local():
    return rerank.Collection(COLLECTION, threads=1)


@pytest.mark.parametrize("url", URLS)
def test_bm25_through_each_node_equals_the_collection(local, url):
    os_ = rerank.OpenSearchIndex(url, "fixture")
    assert len(os_) == len(local)
    for q in QUERIES:
        same_ranking(local.search(q, k=40, top_n=40), os_.search(q, k=40, top_n=40), 1e-4)


def test_dense_and_hybrid_rerank_equal_the_collection(local, ce_dir):
    os_ = rerank.OpenSearchIndex(URLS[-1], "fixture", threads=1)
    ce = rerank.CrossEncoder(ce_dir, threads=1)
    for q in QUERIES:
        same_ranking(local.search(q, k=40, retriever="dense", top_n=40), os_.search(q, k=40, retriever="dense", top_n=40), 1e-5)
        a = local.search(q, k=40, retriever="hybrid", reranker=ce, top_n=5)
        b = os_.search(q, k=40, retriever="hybrid", reranker=ce, top_n=5)
        same_ranking(a, b, 1e-5)  # k 40 > 36 documents: every document is a candidate on both sides


def test_python_loads_an_index_the_cli_searches_alike(bi_dir):
    rerank_index = "py-fixture"
    os_ = rerank.OpenSearchIndex(URLS[0], rerank_index, create=True, shards=2, replicas=1, bi_encoder=bi_dir, threads=1)
    r = os_.add_files(CORPUS, batch_size=10)
    assert r["added"] == 36 and r["skipped"] == 0 and len(os_) == 36
    assert os_.add_files(CORPUS)["skipped"] == 36
    theirs = rerank.OpenSearchIndex(URLS[1], "fixture", threads=1)
    mine = rerank.OpenSearchIndex(URLS[1], rerank_index, threads=1)
    for q in QUERIES:
        for retriever in ("bm25", "dense"):
            same_ranking(theirs.search(q, k=20, retriever=retriever, top_n=20),
                         mine.search(q, k=20, retriever=retriever, top_n=20), 1e-4)


def test_errors_name_url_status_and_type():
    with pytest.raises(rerank.RemoteError) as e:
        rerank.OpenSearchIndex(URLS[0], "no-such-index")
    for want in (f"{URLS[0]}/no-such-index", "HTTP 404", "index_not_found_exception"):
        assert want in str(e.value)
    with pytest.raises(rerank.InputError, match="is invalid"):
        rerank.OpenSearchIndex(URLS[0], "Bad/Name")
