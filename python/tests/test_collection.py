"""rerank.Collection (add, search) and rerank.evaluate on the engine's code, against the repository's fixtures."""
from __future__ import annotations

import json

import pytest

import rerank
from conftest import DATA, check_reranked_search, read_jsonl

CORPUS = read_jsonl(DATA / "retrieval" / "corpus.jsonl")
FIELDS = ["rank", "id", "passage", "score", "first_stage_rank", "first_stage_score", "text"]


@pytest.fixture()
def coll(tmp_path):
    c = rerank.Collection(tmp_path / "coll")
    r = c.add(CORPUS)
    assert r["added"] == len(CORPUS) and r["skipped"] == 0
    return c


def test_add_and_search_bm25(coll):
    assert len(coll) == len(CORPUS) and coll.ids() == [d["_id"] for d in CORPUS]
    assert coll.add(CORPUS[:3])["skipped"] == 3  # ids already present are skipped
    hits = coll.search("How do I reset my password?", k=10, top_n=3)
    assert [list(h) for h in hits] == [FIELDS] * 3
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["id"].startswith("pw") and "assword" in hits[0]["text"]
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    assert coll.search("the of and", k=10) == []  # stop words only


def test_texts_get_ids(tmp_path):
    c = rerank.Collection(tmp_path / "t")
    c.add(["first text about whales", "second text about bones"])
    c.add(["third text about whales"])
    assert c.ids() == ["0", "1", "2"]
    assert {h["id"] for h in c.search("whales", top_n=5)} == {"0", "2"}
    with pytest.raises(ValueError, match="document 0"):
        c.add([{"text": "no id"}])
    with pytest.raises(TypeError, match="document 0"):
        c.add([42])


def test_search_with_a_reranker(coll, ce_dir):
    check_reranked_search(coll, ce_dir)


def test_dense_and_hybrid(tmp_path, bi_dir):
    c = rerank.Collection(tmp_path / "d", bi_encoder=bi_dir)
    c.add(CORPUS)
    for retriever in ("dense", "hybrid"):
        hits = c.search("whales marine biology", k=5, retriever=retriever, top_n=5)
        assert len(hits) == 5
    again = rerank.Collection(tmp_path / "d")  # the embedder is remembered by the collection
    assert len(again.search("whales", retriever="dense", top_n=3)) == 3
    plain = rerank.Collection(tmp_path / "p")
    plain.add(CORPUS[:2])
    with pytest.raises(rerank.InputError, match="no embeddings"):
        plain.search("whales", retriever="dense")
    with pytest.raises(rerank.InputError):
        plain.search("whales", retriever="sparse")


def test_add_files_equals_add(tmp_path, bi_dir):
    """add_files (pipelined, one transaction per batch) stores what add() of the same documents stores."""
    a = rerank.Collection(tmp_path / "a", bi_encoder=bi_dir)
    a.add(CORPUS)
    b = rerank.Collection(tmp_path / "b", bi_encoder=bi_dir)
    r = b.add_files(DATA / "retrieval" / "corpus.jsonl", batch_size=3)
    assert r["added"] == len(CORPUS) and b.ids() == a.ids()
    assert b.add_files([DATA / "retrieval" / "corpus.jsonl"])["skipped"] == len(CORPUS)
    for retriever in ("bm25", "dense"):
        ha = a.search("whales marine biology", k=10, retriever=retriever, top_n=10)
        hb = b.search("whales marine biology", k=10, retriever=retriever, top_n=10)
        assert [h["id"] for h in ha] == [h["id"] for h in hb]
        assert [h["score"] for h in hb] == pytest.approx([h["score"] for h in ha], abs=1e-5)
    with pytest.raises(rerank.InputError, match="no such file"):
        b.add_files(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="batch_size"):
        b.add_files(DATA / "retrieval" / "corpus.jsonl", batch_size=0)


@pytest.mark.parametrize("run", ["toy_a", "toy_b"])
def test_evaluate_files_match_pytrec_eval(run):
    ref = json.loads((DATA / "eval" / f"{run}.reference.json").read_text())["metrics"]
    means, per_query = rerank.evaluate(DATA / "eval" / "toy.qrels", str(DATA / "eval" / f"{run}.trec"), list(ref),
                                       per_query=True)
    assert set(means) == set(ref)
    for name, r in ref.items():
        assert means[name] == pytest.approx(r["mean"], abs=1e-4)
        assert per_query[name] == pytest.approx(r["per_query"], abs=1e-9)


def test_evaluate_dicts():
    qrels = {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}
    run = {"q1": {"d2": 2.0, "d1": 1.0}, "q2": {"d3": 5.0, "d9": 1.0}}
    m = rerank.evaluate(qrels, run, ["mrr@10", "p@1", "recall@100"])
    assert m == pytest.approx({"mrr@10": (0.5 + 1) / 2, "p@1": 0.5, "recall@100": 1.0})
    with pytest.raises(rerank.InputError):
        rerank.evaluate(qrels, run, "nonsense@3")
    with pytest.raises(TypeError):
        rerank.evaluate(DATA / "eval" / "toy.qrels", run)
