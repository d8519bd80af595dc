#!/usr/bin/env python3
"""Server soak with faults: `rerank serve` on loopback under mixed traffic for a bounded time.

Starts `rerank serve` (127.0.0.1, any free port) with the fixture models of tests/data/encoders (ce-tiny, a
cross-encoder; bi-tiny-mean, a bi-encoder) and a collection of tests/data/retrieval/corpus.jsonl indexed with the
bi-encoder, then for --duration seconds:
  - --concurrency keep-alive clients send requests on every route: Cohere /v2/rerank, /v1/rerank (Cohere v1 and
    Jina), TEI /rerank /embed /predict /tokenize /info, OpenAI /v1/embeddings /embeddings /v1/models, /search
    (bm25, dense, hybrid), /health, /metrics;
  - --malformed of the requests (1%) are bad: truncated or random JSON, wrong types, deep nesting, invalid UTF-8,
    too many documents, a body over --max-request-bytes, a wrong API key, an unknown route or method;
  - --disconnect of the requests (1%) are cut by the client: mid-headers, mid-body, after the request before the
    answer, or mid-answer (RST);
  - every --burst-every seconds, --burst-size extra connections send a large rerank at once, over --max-queue.
Every answer must be a well-formed HTTP response whose status is one the request kind expects (a valid model request:
200 or 429; a malformed one: its 4xx; never a 5xx), with a JSON body; no request may hang past --timeout.
The server's resident memory (VmRSS), threads and open file descriptors are sampled every second from /proc.
At the end: /health must answer, the descriptors must come back to their level before the load, SIGTERM must end
the server with exit status 0, and the RSS after --warmup seconds may not grow by more than --rss-growth-mb.

Prints requests served, statuses by kind, p50/p99 latency, RSS/threads/fds and load average per minute; writes
summary.json, minutes.csv and samples.csv (t, rss_kb, threads, fds) to --out, and rss.png with --plot (matplotlib,
e.g. Debian's python3-matplotlib: bench/server/soak_plot.py). Exit status 1 when a check fails.

  bench/server/soak.py --cli build/rerank --duration 1800 --out soak-out --plot      # the 30-minute soak
  bench/server/soak.py --cli build/rerank --duration 60                               # the ctest (server_soak)
"""
import argparse
import asyncio
import importlib.util
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests/data/encoders/models"
CORPUS = ROOT / "tests/data/retrieval/corpus.jsonl"
KEY = "soak-key"
STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9][0-9])( [^\r\n]*)?")

WORDS = []
for line in CORPUS.read_text().splitlines():
    WORDS += json.loads(line)["text"].split()


def text(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


# ---- request kinds: name -> (method, path, body maker, expected statuses, weight) ----------------------------------

OK_OR_BUSY = {200, 429}  # a valid request to a model route: answered, or refused while the queue is full


def j(v):
    return json.dumps(v).encode()


NORMAL = {
    "v2_rerank": ("POST", "/v2/rerank", lambda r: j({"query": text(r, 3, 8), "documents": [text(r, 5, 60) for _ in range(r.randint(1, 20))],
                                                     "top_n": r.randint(1, 5)}), OK_OR_BUSY, 14),
    "v1_rerank_jina": ("POST", "/v1/rerank", lambda r: j({"model": "ce-tiny", "query": text(r, 3, 8), "top_n": 3, "return_documents": True,
                                                          "documents": [{"text": text(r, 5, 40)} for _ in range(r.randint(1, 12))]}), OK_OR_BUSY, 10),
    "tei_rerank": ("POST", "/rerank", lambda r: j({"query": text(r, 3, 8), "texts": [text(r, 5, 40) for _ in range(r.randint(1, 10))],
                                                   "raw_scores": r.random() < 0.5, "return_text": True, "truncate": True}), OK_OR_BUSY, 10),
    "tei_embed": ("POST", "/embed", lambda r: j({"inputs": [text(r, 2, 40) for _ in range(r.randint(1, 16))], "truncate": True}), OK_OR_BUSY, 10),
    "tei_predict": ("POST", "/predict", lambda r: j({"inputs": [text(r, 3, 8), text(r, 5, 40)]}), OK_OR_BUSY, 6),
    "tei_tokenize": ("POST", "/tokenize", lambda r: j({"inputs": text(r, 1, 50)}), {200}, 5),
    "openai_embeddings": ("POST", "/v1/embeddings", lambda r: j({"model": "bi-tiny-mean", "input": [text(r, 2, 40) for _ in range(r.randint(1, 16))],
                                                                 "encoding_format": r.choice(["float", "base64"])}), OK_OR_BUSY, 10),
    "openai_embeddings_alias": ("POST", "/embeddings", lambda r: j({"input": text(r, 2, 30)}), OK_OR_BUSY, 3),
    "search": ("POST", "/search", lambda r: j({"query": text(r, 2, 6), "k": r.randint(5, 21), "top_n": 3,
                                               "retriever": r.choice(["bm25", "dense", "hybrid"]), "return_documents": True}), OK_OR_BUSY, 10),
    "health": ("GET", "/health", None, {200}, 8),
    "info": ("GET", "/info", None, {200}, 3),
    "metrics": ("GET", "/metrics", None, {200}, 3),
    "models": ("GET", "/v1/models", None, {200}, 3),
}


def _truncated(r):
    body = NORMAL["v2_rerank"][2](r)
    return body[: r.randint(0, len(body) - 1)]


MALFORMED = {  # name -> (method, path, body maker, expected statuses, extra headers)
    "truncated_json": ("POST", "/v2/rerank", _truncated, {400}, {}),
    "random_bytes": ("POST", "/rerank", lambda r: bytes(r.getrandbits(8) for _ in range(r.randint(1, 200))), {400, 422}, {}),
    "wrong_types": ("POST", "/v2/rerank", lambda r: j({"query": r.randint(0, 9), "documents": "not a list", "top_n": "x"}), {422}, {}),
    "missing_field": ("POST", "/embed", lambda r: j({"input": ["x"]}), {422}, {}),
    "bad_top_n": ("POST", "/v1/rerank", lambda r: j({"query": "q", "documents": ["a"], "top_n": -r.randint(0, 5)}), {422}, {}),
    "deep_nesting": ("POST", "/search", lambda r: b"[" * 20000 + b"]" * 20000, {400}, {}),
    "invalid_utf8": ("POST", "/tokenize", lambda r: b'{"inputs": "\xff\xfe\xc3("}', {400}, {}),
    "too_many_documents": ("POST", "/v2/rerank", lambda r: j({"query": "q", "documents": ["d"] * 1001}), {413}, {}),
    "body_too_large": ("POST", "/v1/embeddings", lambda r: b'{"input": "' + b"a" * (300 * 1024) + b'"}', {413}, {}),
    "wrong_api_key": ("POST", "/v2/rerank", lambda r: j({"query": "q", "documents": ["a"]}), {401}, {"Authorization": "Bearer wrong"}),
    "unknown_route": ("POST", "/v3/rerank", lambda r: j({"query": "q"}), {404}, {}),
    "wrong_method": ("GET", "/v2/rerank", None, {404, 405}, {}),
}

DISCONNECTS = ["mid_headers", "mid_body", "before_answer", "mid_answer"]


def request_bytes(method, path, body, headers=None, close=False):
    h = {"Host": "127.0.0.1", "Authorization": f"Bearer {KEY}"}
    h.update(headers or {})
    if body is not None:
        h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(body))
    if close:
        h["Connection"] = "close"
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode() + (body or b"")


class BadResponse(Exception):
    pass


async def read_response(reader):
    """(status, headers, body) of one HTTP/1.1 response; BadResponse when it is not well formed."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    m = STATUS_LINE.fullmatch(lines[0])
    if not m:
        raise BadResponse(f"status line {lines[0][:80]!r}")
    headers = {}
    for ln in lines[1:]:
        k, sep, v = ln.partition(b":")
        if not sep:
            raise BadResponse(f"header line {ln[:80]!r}")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            body += await reader.readexactly(size + 2)
            body = body[:-2]
            if size == 0:
                break
    else:
        body = await reader.read()
    return int(m.group(1)), headers, body


def check_body(kind, status, headers, body):
    """None when the body fits the status and route, else what is wrong."""
    if kind in ("health", "metrics") and status == 200:
        return None if kind == "health" or b"rerank_http_requests_total" in body else "no rerank_http_requests_total"
    try:
        v = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:80]!r}"
    if status != 200:
        if not isinstance(v, dict) or not isinstance(v.get("message"), str):
            return f"error without a message: {body[:80]!r}"
        if status == 429 and headers.get("retry-after") != "1":
            return "429 without Retry-After: 1"
        return None
    shape = {"v2_rerank": lambda: isinstance(v["results"], list), "v1_rerank_jina": lambda: isinstance(v["results"], list),
             "tei_rerank": lambda: isinstance(v, list), "tei_embed": lambda: isinstance(v, list) and len(v[0]) == 32,
             "openai_embeddings": lambda: v["object"] == "list", "search": lambda: isinstance(v["results"], list)}
    try:
        return None if shape.get(kind, lambda: True)() else f"unexpected 200 body: {body[:80]!r}"
    except (KeyError, IndexError, TypeError):
        return f"unexpected 200 body: {body[:80]!r}"


class Stats:
    def __init__(self, t0, duration):
        self.t0, self.last_minute = t0, max(0, int((duration - 1) // 60))
        self.outcomes = defaultdict(Counter)  # kind -> Counter(status or transport outcome)
        self.minutes = defaultdict(lambda: {"n": 0, "lat": [], "ok": 0, "busy": 0, "client_err": 0, "other": 0})
        self.failures = []
        self.bursts = 0

    def fail(self, msg):
        if len(self.failures) < 50:
            self.failures.append(f"t={time.monotonic() - self.t0:.1f}s {msg}")

    def record(self, kind, status, latency, expected):
        self.outcomes[kind][status] += 1
        mn = self.minutes[min(self.last_minute, int((time.monotonic() - self.t0) // 60))]  # in flight at the end: last minute
        if isinstance(status, int):
            mn["n"] += 1
            if status == 200:
                mn["lat"].append(latency)  # p50/p99 of the requests answered 200
            key = "ok" if status == 200 else "busy" if status == 429 else "client_err" if 400 <= status < 500 else "other"
            mn[key] += 1
        if expected is not None and status not in expected:
            self.fail(f"{kind}: got {status}, expected one of {sorted(expected)}")


def abort(writer):
    """Closes with a RST (SO_LINGER 0), as a client that vanishes."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class Client:
    def __init__(self, port, stats, timeout):
        self.port, self.stats, self.timeout = port, stats, timeout
        self.reader = self.writer = None

    async def close(self):
        if self.writer:
            self.writer.close()
            self.reader = self.writer = None

    async def exchange(self, data, reuse=True):
        if not reuse or self.writer is None:
            await self.close()
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(data)
        await self.writer.drain()
        status, headers, body = await read_response(self.reader)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body

    async def call(self, kind, data, expected, one_shot=False):
        """Sends one request and checks its answer. A reused keep-alive connection that the server closed just
        before (EOF or reset before any answer byte) is retried once on a new one, as HTTP clients do."""
        t = time.monotonic()
        for attempt in (0, 1):
            fresh = one_shot or attempt == 1 or self.writer is None
            try:
                status, headers, body = await asyncio.wait_for(self.exchange(data, reuse=not fresh), self.timeout)
            except asyncio.TimeoutError:
                await self.close()
                self.stats.record(kind, "timeout", None, None)
                self.stats.fail(f"{kind}: no answer within {self.timeout} s (hang)")
                return
            except (asyncio.IncompleteReadError, OSError) as e:  # ConnectionError (reset, refused, broken pipe) and others
                await self.close()
                if not fresh and (not isinstance(e, asyncio.IncompleteReadError) or not e.partial):
                    continue
                # The server may answer 413 and close before reading a body it refuses: a reset while sending is fine
                # only there.
                self.stats.record(kind, "connection_lost", None, None)
                if kind != "body_too_large":
                    self.stats.fail(f"{kind}: connection lost ({type(e).__name__})")
                return
            except (BadResponse, ValueError, asyncio.LimitOverrunError) as e:
                await self.close()
                self.stats.record(kind, "bad_response", None, None)
                self.stats.fail(f"{kind}: malformed HTTP response: {e}")
                return
            if one_shot:
                await self.close()
            self.stats.record(kind, status, time.monotonic() - t, expected)
            if status >= 500:
                self.stats.fail(f"{kind}: {status} {body[:200]!r}")
            problem = check_body(kind, status, headers, body)
            if problem:
                self.stats.fail(f"{kind}: {status}: {problem}")
            return

    async def disconnect(self, how, rng):
        """A client that goes away: mid-headers, mid-body, right after its request, or while the answer comes."""
        await self.close()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError as e:
            self.stats.record("disconnect_" + how, "connect_failed", None, None)
            self.stats.fail(f"disconnect_{how}: cannot connect ({e})")
            return
        big = j({"input": [text(rng, 20, 60) for _ in range(200)]})
        data = request_bytes("POST", "/v1/embeddings", big)
        try:
            if how == "mid_headers":
                writer.write(data[: rng.randint(1, data.index(b"\r\n\r\n"))])
            elif how == "mid_body":
                writer.write(data[: len(data) - rng.randint(1, len(big) - 1)])
            else:
                writer.write(data)
            await writer.drain()
            await asyncio.sleep(rng.random() * 0.05)
            if how == "mid_answer":
                await asyncio.wait_for(reader.readexactly(rng.randint(1, 40)), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            self.stats.fail(f"disconnect_{how}: {type(e).__name__} before the client cut")
        if how == "before_answer" or rng.random() < 0.5:
            writer.close()  # FIN
        else:
            abort(writer)  # RST
        self.stats.record("disconnect_" + how, "cut_by_client", None, None)


async def worker(port, stats, args, end, seed):
    rng = random.Random(seed)
    client = Client(port, stats, args.timeout)
    names = list(NORMAL)
    weights = [NORMAL[n][4] for n in names]
    while time.monotonic() < end:
        x = rng.random()
        if x < args.malformed:
            name = rng.choice(list(MALFORMED))
            method, path, make, expected, headers = MALFORMED[name]
            body = make(rng) if make else None
            await client.call(name, request_bytes(method, path, body, headers, close=True), expected, one_shot=True)
        elif x < args.malformed + args.disconnect:
            await client.disconnect(rng.choice(DISCONNECTS), rng)
        else:
            name = rng.choices(names, weights)[0]
            method, path, make, expected, _ = NORMAL[name]
            await client.call(name, request_bytes(method, path, make(rng) if make else None), expected)
    await client.close()


async def bursts(port, stats, args, end):
    rng = random.Random(7)
    while True:
        await asyncio.sleep(min(args.burst_every, max(0.0, end - time.monotonic())))
        if time.monotonic() >= end:
            return
        stats.bursts += 1
        clients = [Client(port, stats, args.timeout) for _ in range(args.burst_size)]
        body = lambda: j({"query": text(rng, 3, 8), "documents": [text(rng, 20, 60) for _ in range(args.burst_docs)]})
        await asyncio.gather(*(c.call("burst_v2_rerank", request_bytes("POST", "/v2/rerank", body(), close=True), OK_OR_BUSY, one_shot=True)
                               for c in clients))


def proc_sample(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    return rss, threads, len(os.listdir(f"/proc/{pid}/fd"))


async def sampler(pid, samples, t0, stop, csv_path):
    """Every second: (t since the load started, VmRSS kB, threads, fds, load1); appended to csv_path as it goes."""
    f = open(csv_path, "w") if csv_path else None
    if f:
        f.write("t_s,rss_kb,threads,fds,load1\n")
    while not stop.is_set():
        try:
            rss, threads, fds = proc_sample(pid)
        except (OSError, AttributeError):
            break
        samples.append((time.monotonic() - t0, rss, threads, fds, os.getloadavg()[0]))
        if f:
            f.write("{:.1f},{},{},{},{:.2f}\n".format(*samples[-1]))
            f.flush()
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
    if f:
        f.close()


async def simple_get(port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_bytes("GET", path, None, close=True))
    await writer.drain()
    status, _, body = await asyncio.wait_for(read_response(reader), 30)
    writer.close()
    return status, body


async def run_load(port, pid, args, csv_path):
    t0 = time.monotonic() + 2  # the load starts after 2 s of baseline samples; times are relative to its start
    stats = Stats(t0, args.duration)
    samples = []
    stop = asyncio.Event()
    samp = asyncio.create_task(sampler(pid, samples, t0, stop, csv_path))
    await asyncio.sleep(t0 - time.monotonic())
    fds_before = samples[-1][3]
    end = t0 + args.duration
    tasks = [asyncio.create_task(worker(port, stats, args, end, 1000 + i)) for i in range(args.concurrency)]
    tasks.append(asyncio.create_task(bursts(port, stats, args, end)))
    await asyncio.gather(*tasks)
    load_end = time.monotonic() - t0
    await asyncio.sleep(7)  # idle keep-alive connections close after 5 s
    health = await simple_get(port, "/health")
    fds_after = proc_sample(pid)[2]
    stop.set()
    await samp
    return stats, samples, t0, load_end, fds_before, fds_after, health


def percentile(v, q):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def prepare(args, work):
    coll = work / "coll"
    subprocess.run([args.cli, "index", "--collection", str(coll), "--bi-encoder", str(MODELS / "bi-tiny-mean"), str(CORPUS)],
                   check=True, stdout=subprocess.DEVNULL)
    cmd = [args.cli, "serve", "-m", str(MODELS / "ce-tiny"), "-m", str(MODELS / "bi-tiny-mean"), "--collection", str(coll),
           "--host", "127.0.0.1", "--port", "0", "--quiet", "--api-key", KEY, "--threads", str(args.threads),
           "--max-queue", str(args.max_queue), "--max-concurrent", str(args.max_concurrent),
           "--max-request-bytes", str(256 * 1024), "--max-documents", "1000"]
    log = open(work / "serve.log", "w+")
    env = dict(os.environ, ASAN_OPTIONS="quarantine_size_mb=16:" + os.environ.get("ASAN_OPTIONS", ""))
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
    for _ in range(600):
        log.seek(0)
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read())
        if m:
            return proc, int(m.group(1)), cmd
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    log.seek(0)
    sys.exit(f"FAIL: rerank serve did not start:\n{log.read()}")


def report(args, stats, samples, load_end, fds_before, fds_after, health, exit_code, cmd):
    served = sum(c for k in stats.outcomes.values() for s, c in k.items() if isinstance(s, int))
    by_status = Counter()
    for k in stats.outcomes.values():
        for s, c in k.items():
            by_status[s] += c
    print(f"== soak: {args.duration} s, concurrency {args.concurrency}, malformed {args.malformed:.0%}, "
          f"disconnects {args.disconnect:.0%}, {stats.bursts} bursts of {args.burst_size} (--max-queue {args.max_queue})")
    print(f"server: {' '.join(cmd)}")
    print(f"responses received: {served}; by status: " + ", ".join(f"{s}: {c}" for s, c in sorted(by_status.items(), key=str)))
    print("by kind:")
    for kind in sorted(stats.outcomes):
        print(f"  {kind:26s} " + ", ".join(f"{s}: {c}" for s, c in sorted(stats.outcomes[kind].items(), key=str)))
    print("per minute (p50/p99 of the 200 answers): minute  responses  200  429  4xx  p50_ms  p99_ms  rss_MB(max)  threads  fds  load1")
    minutes = []
    for mn in sorted(stats.minutes):
        d = stats.minutes[mn]
        in_min = [s for s in samples if mn * 60 <= s[0] < (mn + 1) * 60] or samples[-1:]
        rss = max((s[1] for s in in_min), default=0) / 1024
        row = {"minute": mn + 1, "responses": d["n"], "ok": d["ok"], "busy": d["busy"], "client_err": d["client_err"],
               "p50_ms": round(percentile(d["lat"], 0.5) * 1000, 1), "p99_ms": round(percentile(d["lat"], 0.99) * 1000, 1),
               "rss_mb": round(rss, 1), "threads": max((s[2] for s in in_min), default=0),
               "fds": max((s[3] for s in in_min), default=0), "load1": round(in_min[-1][4], 2) if in_min else None}
        minutes.append(row)
        print("  {minute:6d} {responses:10d} {ok:5d} {busy:4d} {client_err:4d} {p50_ms:7.1f} {p99_ms:7.1f} {rss_mb:11.1f} "
              "{threads:8d} {fds:4d} {load1:6}".format(**row))
    warm = [s[1] for s in samples if args.warmup - 10 <= s[0] <= args.warmup]
    tail = [s[1] for s in samples if load_end - 10 <= s[0] <= load_end]
    growth = (max(tail) - max(warm)) / 1024 if warm and tail else float("nan")
    print(f"RSS: {samples[0][1] / 1024:.1f} MB before the load, {max(warm) / 1024:.1f} MB at warm-up end ({args.warmup} s), "
          f"{max(tail) / 1024:.1f} MB in the last 10 s of load, peak {max(s[1] for s in samples) / 1024:.1f} MB; "
          f"growth after warm-up {growth:+.1f} MB " +
          ("(ASan build: no RSS bound, LeakSanitizer checks leaks at exit)" if args.sanitized else f"(bound {args.rss_growth_mb} MB)"))
    print(f"fds: {fds_before} before the load, {fds_after} after it (idle connections closed); /health after: {health[0]}; "
          f"exit status after SIGTERM: {exit_code}")
    checks = [(not stats.failures, f"{len(stats.failures)} unexpected answers or transport errors"),
              (health[0] == 200, f"/health after the load answered {health[0]}"),
              (exit_code == 0, f"exit status {exit_code} after SIGTERM (crash or hang?)"),
              (args.sanitized or growth <= args.rss_growth_mb, f"RSS grew {growth:.1f} MB after warm-up (bound {args.rss_growth_mb} MB)"),
              (fds_after <= fds_before + 16, f"open fds {fds_before} -> {fds_after} (a descriptor leak?)"),
              (served > 0, "no response at all")]
    for f in stats.failures:
        print("  FAIL:", f)
    failed = [msg for ok, msg in checks if not ok]
    for msg in failed:
        print("FAIL:", msg)
    summary = {"args": vars(args), "server": cmd, "responses": served, "by_status": {str(k): v for k, v in by_status.items()},
               "by_kind": {k: {str(s): c for s, c in v.items()} for k, v in stats.outcomes.items()}, "minutes": minutes,
               "rss_growth_mb": growth, "fds_before": fds_before, "fds_after": fds_after, "exit_code": exit_code,
               "failures": stats.failures + failed, "bursts": stats.bursts}
    return summary, not failed


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cli", default=str(ROOT / "build/rerank"))
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--warmup", type=float, default=None, help="seconds of warm-up before the RSS bound applies (default: a third, at most 300)")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--malformed", type=float, default=0.01)
    p.add_argument("--disconnect", type=float, default=0.01)
    p.add_argument("--burst-every", type=float, default=15)
    p.add_argument("--burst-size", type=int, default=160)
    p.add_argument("--burst-docs", type=int, default=32, help="documents per burst request")
    p.add_argument("--max-queue", type=int, default=48)
    p.add_argument("--max-concurrent", type=int, default=256)
    p.add_argument("--threads", type=int, default=1, help="engine threads per model")
    p.add_argument("--timeout", type=float, default=None, help="seconds without an answer that count as a hang (60; 240 with --sanitized)")
    p.add_argument("--sanitized", action="store_true",
                   help="the CLI is an ASan build: leaks are LeakSanitizer's (exit status), not an RSS bound (the quarantine grows RSS)")
    p.add_argument("--rss-growth-mb", type=float, default=48)
    p.add_argument("--out", default=None, help="directory for summary.json, minutes.csv, samples.csv (and rss.png)")
    p.add_argument("--plot", action="store_true", help="rss.png with bench/server/soak_plot.py (needs matplotlib)")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("soak: SIGTERM"))  # stop the server (finally below) when stopped
    if args.timeout is None:
        args.timeout = 240.0 if args.sanitized else 60.0
    if args.warmup is None:
        args.warmup = min(300.0, args.duration / 3)
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "samples.csv" if out else None
    with tempfile.TemporaryDirectory(prefix="rerank-soak-") as tmp:
        proc, port, cmd = prepare(args, Path(tmp))
        try:
            stats, samples, t0, load_end, fds_before, fds_after, health = asyncio.run(run_load(port, proc.pid, args, csv_path))
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        try:
            exit_code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            exit_code = "hang on SIGTERM"
        summary, ok = report(args, stats, samples, load_end, fds_before, fds_after, health, exit_code, cmd)
        if not ok or exit_code != 0:
            print("serve.log (last lines):", *(Path(tmp) / "serve.log").read_text().splitlines()[-20:], sep="\n  ")
    if out:
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        with open(out / "minutes.csv", "w") as f:
            f.write(",".join(summary["minutes"][0]) + "\n" if summary["minutes"] else "")
            f.writelines(",".join(str(v) for v in m.values()) + "\n" for m in summary["minutes"])
        if args.plot:
            python = sys.executable if importlib.util.find_spec("matplotlib") else "/usr/bin/python3"
            subprocess.run([python, str(ROOT / "bench/server/soak_plot.py"),
                            str(out / "samples.csv"), str(out / "rss.png"), str(args.warmup), str(load_end)], check=False)
    print("soak:", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
