"""rerank.OpenSearchIndex against a small fake OpenSearch (an HTTP server in this process that answers the REST
calls the engine makes: HEAD/PUT index, _mapping, _mget, _bulk, _refresh, _count, _search). What it checks: the
binding sends the CLI's requests (a `match` on `content`, dfs_query_then_fetch, `create` bulk actions, auth
headers), scales OpenSearch's BM25 scores by 1/(1 + k1), reranks, and turns bad URLs / index names / unreachable
hosts / OpenSearch errors into rerank exceptions. The real 2-node cluster is exercised by ctest opensearch_cluster
(scripts/opensearch/integration_test.sh runs python/tests/opensearch_live.py there)."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import rerank
from conftest import DATA, check_reranked_search, read_jsonl

CORPUS = read_jsonl(DATA / "retrieval" / "corpus.jsonl")


class Fake:
    """Index state and the requests seen; scores are the count of query words in `content` (enough to rank)."""

    def __init__(self):
        self.indices: dict[str, dict] = {}  # name -> {"mapping": ..., "docs": {id: source}}
        self.seen: list[tuple[str, str, str, dict]] = []  # method, path, body, headers

    def handle(self, method, path, body, headers):
        self.seen.append((method, path, body, headers))
        route, _, query = path.partition("?")
        parts = [p for p in route.split("/") if p]
        if route == "/_bulk":
            return self.bulk(body)
        if not parts or parts[0] not in self.indices and not (method == "PUT" and len(parts) == 1):
            name = parts[0] if parts else ""
            return 404, {"error": {"root_cause": [], "type": "index_not_found_exception",
                                   "reason": f"no such index [{name}]", "index": name}, "status": 404}
        name = parts[0]
        if len(parts) == 1:
            if method == "HEAD":
                return 200, None
            if method == "PUT":
                req = json.loads(body)
                self.indices[name] = {"mapping": req["mappings"], "settings": req["settings"], "docs": {}}
                return 200, {"acknowledged": True, "index": name}
            return 200, {name: {"settings": self.indices[name]["settings"]}}
        ix = self.indices[name]
        op = parts[1]
        if op == "_mapping":
            return 200, {name: {"mappings": ix["mapping"]}}
        if op == "_mget":
            ids = json.loads(body)["ids"]
            return 200, {"docs": [{"_index": name, "_id": i, "found": i in ix["docs"]} for i in ids]}
        if op == "_refresh":
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if op == "_count":
            return 200, {"count": len(ix["docs"])}
        if op == "_search":
            req = json.loads(body)
            words = req["query"]["match"]["content"]["query"].lower().split()
            scored = []
            for i, d in ix["docs"].items():
                content = (d.get("title", "") + " " + d.get("text", "")).lower()
                s = sum(content.count(w) for w in words)
                if s:
                    scored.append((-s, i, d))
            scored.sort()
            hits = [{"_index": name, "_id": i, "_score": float(-s), "_source": {"title": d.get("title", ""), "text": d["text"]}}
                    for s, i, d in scored[:req["size"]]]
            return 200, {"hits": {"hits": hits}}
        return 404, {"error": {"type": "no_route", "reason": f"{method} {route}"}, "status": 404}

    def bulk(self, body):
        lines = body.splitlines()
        items = []
        for action, source in zip(lines[0::2], lines[1::2]):
            (op, meta), = json.loads(action).items()
            docs = self.indices[meta["_index"]]["docs"]
            if op == "create" and meta["_id"] in docs:
                items.append({op: {"_id": meta["_id"], "status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "exists"}}})
                continue
            docs[meta["_id"]] = json.loads(source)
            items.append({op: {"_id": meta["_id"], "status": 201, "result": "created"}})
        return 200, {"took": 1, "errors": False, "items": items}


@pytest.fixture()
def fake():
    state = Fake()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def serve(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode() if n else ""
            status, answer = state.handle(self.command, self.path, body, dict(self.headers))
            data = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_create_add_and_search_bm25(fake):
    os_ = rerank.OpenSearchIndex(fake.url, "docs", create=True, shards=2, replicas=1)
    settings = fake.indices["docs"]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (2, 1)
    assert settings["similarity"]["rerank_bm25"] == {"type": "BM25", "k1": pytest.approx(0.9), "b": pytest.approx(0.4)}
    r = os_.add(CORPUS)
    assert r == {"added": len(CORPUS), "replaced": 0, "skipped": 0, "retried": 0}
    assert len(os_) == len(CORPUS)
    assert os_.add(CORPUS[:3])["skipped"] == 3  # _mget finds them: not sent again
    assert any(m == "POST" and p.startswith("/docs/_refresh") for m, p, _, _ in fake.seen)

    hits = os_.search("password reset", k=10, top_n=3)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    method, path, body, _ = fake.seen[-1]
    assert (method, path) == ("POST", "/docs/_search?search_type=dfs_query_then_fetch")
    req = json.loads(body)
    assert req["query"] == {"match": {"content": {"query": "password reset"}}} and req["size"] == 10
    docs = fake.indices["docs"]["docs"]
    for h in hits:  # the fake's raw score / (1 + k1), the text "title text" from _source
        d = docs[h["id"]]
        content = (d["title"] + " " + d["text"]).strip()
        raw = sum(content.lower().count(w) for w in ("password", "reset"))
        assert h["score"] == pytest.approx(raw / 1.9, rel=1e-6) and h["first_stage_score"] == h["score"]
        assert h["text"] == content and h["passage"] == 0
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    assert os_.search("opensearch", retriever="opensearch") == []  # "opensearch" = bm25, as in the CLI


def test_texts_get_ids_and_replace(fake):
    os_ = rerank.OpenSearchIndex(fake.url, "t", create=True)
    os_.add(["whales and dolphins", "bones of whales"])
    os_.add(["third text"])
    assert sorted(fake.indices["t"]["docs"]) == ["0", "1", "2"]
    assert os_.add([{"id": "0", "text": "new text"}])["skipped"] == 1
    assert fake.indices["t"]["docs"]["0"]["text"] == "whales and dolphins"
    r = os_.add([{"id": "0", "text": "new text"}], replace=True)  # an `index` action: overwritten
    assert r["skipped"] == 0 and r["added"] + r["replaced"] == 1
    assert fake.indices["t"]["docs"]["0"]["text"] == "new text"
    with pytest.raises(ValueError, match="document 0"):
        os_.add([{"text": "no id"}])


def test_search_with_a_reranker(fake, ce_dir):
    os_ = rerank.OpenSearchIndex(fake.url, "docs", create=True)
    os_.add(CORPUS)
    check_reranked_search(os_, ce_dir)


def test_add_files_and_credentials(fake):
    os_ = rerank.OpenSearchIndex(fake.url, "f", create=True, user="alice", password="s3cret")
    r = os_.add_files(DATA / "retrieval" / "corpus.jsonl", batch_size=4)
    assert r["added"] == len(CORPUS) and len(os_) == len(CORPUS)
    assert sum(1 for m, p, _, _ in fake.seen if p == "/_bulk") == -(-len(CORPUS) // 4)
    assert all(h.get("Authorization") == "Basic YWxpY2U6czNjcmV0" for _, _, _, h in fake.seen)
    assert os_.add_files([DATA / "retrieval" / "corpus.jsonl"])["skipped"] == len(CORPUS)
    with pytest.raises(rerank.InputError, match="no such file"):
        os_.add_files(DATA / "missing.jsonl")
    with pytest.raises(ValueError, match="batch_size"):
        os_.add_files(DATA / "retrieval" / "corpus.jsonl", batch_size=0)
    with pytest.raises(rerank.InputError, match="either a user"):
        rerank.OpenSearchIndex(fake.url, "f", user="bob", api_key="k")


def test_environment_fallback(fake, monkeypatch):
    rerank.OpenSearchIndex(fake.url, "envix", create=True)
    monkeypatch.setenv("RERANK_OPENSEARCH_URL", fake.url)
    monkeypatch.setenv("RERANK_OPENSEARCH_INDEX", "envix")
    o = rerank.OpenSearchIndex()
    assert (o.url, o.index, len(o)) == (fake.url, "envix", 0)


def test_errors(fake):
    with pytest.raises(rerank.RemoteError) as e:  # a missing index: URL, status, OpenSearch's type and reason
        rerank.OpenSearchIndex(fake.url, "nope")
    assert isinstance(e.value, ConnectionError)
    for want in (f"{fake.url}/nope/_mapping", "HTTP 404", "index_not_found_exception", "no such index [nope]"):
        assert want in str(e.value)
    for bad in ("Bad/Name", "UPPER", "_hidden", "-x", "a b"):
        with pytest.raises(rerank.InputError, match="is invalid"):
            rerank.OpenSearchIndex(fake.url, bad)
    for url in ("ftp://127.0.0.1:9200", "not a url", "http://"):
        with pytest.raises(rerank.InputError):
            rerank.OpenSearchIndex(url, "docs")
    with pytest.raises(TypeError, match="index must be a str"):
        rerank.OpenSearchIndex(fake.url, 42)
    with pytest.raises(ValueError, match="timeout"):
        rerank.OpenSearchIndex(fake.url, "docs", timeout=0)
    with pytest.raises(ValueError, match="max_attempts"):
        rerank.OpenSearchIndex(fake.url, "docs", max_attempts=0)
    s = socket.socket()  # a port nobody listens on: connection refused
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(rerank.RemoteError, match=f"127.0.0.1:{port}"):
        rerank.OpenSearchIndex(f"http://127.0.0.1:{port}", "docs", max_attempts=1, timeout=5)
    os_ = rerank.OpenSearchIndex(fake.url, "docs", create=True)
    os_.add(CORPUS[:2])
    with pytest.raises(rerank.InputError, match="no embeddings"):
        os_.search("whales", retriever="dense")
    with pytest.raises(rerank.InputError):
        os_.search("whales", retriever="sparse")
    with pytest.raises(rerank.InputError, match="k must be in"):
        os_.search("whales", k=20000)
    with pytest.raises(TypeError, match="query must be a str"):
        os_.search(b"whales")
