#!/usr/bin/env python3
"""Official clients against a running `rerank serve` on loopback.

Checks that the Cohere SDK (ClientV2 and the v1 Client), LangChain's CohereRerank and the OpenAI SDK get the same
results as a plain HTTP request to the same server. A ctest test (sdk_python, via scripts/server/sdk_test.sh);
`make sdk-deps` installs the pinned SDKs into build/sdk/venv. By hand:

    make sdk-deps
    build/rerank serve -m tests/data/encoders/models/ce-tiny -m tests/data/encoders/models/bi-tiny-mean \
        --port 8080 --api-key KEY &
    build/sdk/venv/bin/python scripts/server/sdk_check.py --base-url http://127.0.0.1:8080 --api-key KEY \
        --reranker ce-tiny --embedder bi-tiny-mean

Exit status 0 when every check passes; one line per check on stdout.
"""
import argparse
import json
import math
import sys
import urllib.request

QUERY = "How do I reset my password?"
DOCS = [
    "Click 'Forgot password' on the sign-in page and follow the link we e-mail you.",
    "Our office is open from nine to five on weekdays.",
    "To change your password, open Settings, then Security.",
    "The cafeteria serves lunch at noon.",
    "Password resets expire after 24 hours.",
]

failures = 0


def check(name, ok, detail=""):
    global failures
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    if not ok:
        failures += 1


def raw(base, key, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", default="http://127.0.0.1:8080")
    ap.add_argument("--api-key", default="none")
    ap.add_argument("--reranker", required=True)
    ap.add_argument("--embedder", required=True)
    a = ap.parse_args()
    want = raw(a.base_url, a.api_key, "/v2/rerank", {"model": a.reranker, "query": QUERY, "documents": DOCS})
    want_pairs = [(r["index"], r["relevance_score"]) for r in want["results"]]

    def same(results, n=None):
        got = [(r.index, r.relevance_score) for r in results]
        exp = want_pairs[:n] if n else want_pairs
        return len(got) == len(exp) and all(g[0] == e[0] and math.isclose(g[1], e[1], abs_tol=1e-6) for g, e in zip(got, exp))

    import cohere
    co2 = cohere.ClientV2(api_key=a.api_key, base_url=a.base_url)
    r = co2.rerank(model=a.reranker, query=QUERY, documents=DOCS, top_n=3)
    check("cohere.ClientV2.rerank (top_n=3)", same(r.results, 3), str([(x.index, round(x.relevance_score, 4)) for x in r.results]))
    r = co2.rerank(model=a.reranker, query=QUERY, documents=DOCS, max_tokens_per_doc=512)
    check("cohere.ClientV2.rerank (max_tokens_per_doc)", same(r.results))

    co1 = cohere.Client(api_key=a.api_key, base_url=a.base_url)
    r = co1.rerank(model=a.reranker, query=QUERY, documents=[{"text": d} for d in DOCS], top_n=2, return_documents=True)
    check("cohere.Client (v1).rerank with return_documents", same(r.results, 2) and r.results[0].document.text == DOCS[r.results[0].index])

    from langchain_core.documents import Document
    from langchain_cohere import CohereRerank
    lc = CohereRerank(model=a.reranker, cohere_api_key=a.api_key, base_url=a.base_url, top_n=3)
    out = lc.compress_documents([Document(page_content=d) for d in DOCS], QUERY)
    got = [(DOCS.index(d.page_content), d.metadata["relevance_score"]) for d in out]
    check("langchain_cohere.CohereRerank.compress_documents",
          len(got) == 3 and all(g[0] == e[0] and math.isclose(g[1], e[1], abs_tol=1e-6) for g, e in zip(got, want_pairs)),
          str([(i, round(s, 4)) for i, s in got]))

    import openai
    oa = openai.OpenAI(api_key=a.api_key, base_url=a.base_url + "/v1")
    texts = ["first text", "second text"]
    want_emb = raw(a.base_url, a.api_key, "/v1/embeddings", {"model": a.embedder, "input": texts, "encoding_format": "float"})
    for fmt in (None, "float", "base64"):
        kw = {} if fmt is None else {"encoding_format": fmt}
        e = oa.embeddings.create(model=a.embedder, input=texts, **kw)
        if fmt == "base64":  # the SDK returns the base64 string as is when asked explicitly
            import base64, struct
            vecs = [list(struct.unpack(f"<{len(base64.b64decode(d.embedding)) // 4}f", base64.b64decode(d.embedding))) for d in e.data]
        else:
            vecs = [d.embedding for d in e.data]
        ok = len(vecs) == 2 and all(
            len(v) == len(w["embedding"]) and all(math.isclose(x, y, abs_tol=1e-6) for x, y in zip(v, w["embedding"]))
            for v, w in zip(vecs, want_emb["data"]))
        check(f"openai.embeddings.create (encoding_format={fmt or 'SDK default'})", ok,
              f"dim {len(vecs[0])}, usage {e.usage.prompt_tokens} tokens")
    e = oa.embeddings.create(model=a.embedder, input="just one")
    check("openai.embeddings.create (single string)", len(e.data) == 1 and e.data[0].index == 0)
    print("all passed" if failures == 0 else f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
