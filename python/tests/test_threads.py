"""The GIL is released during tokenization and the forward pass; one object may be shared by threads (its calls are
serialized); Ctrl-C (KeyboardInterrupt) stops a long predict within a batch. The speed-up of two threads with their
own CrossEncoder is measured by bench/python/bench_predict.py (a number, not a test: the machine is shared)."""
from __future__ import annotations

import _thread
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import rerank

DOC = "The quick brown fox jumps over the lazy dog near the river bank while the sun sets slowly. " * 4


def workload(n: int) -> list[tuple[str, str]]:
    return [(f"query number {i}", f"{DOC} document {i}") for i in range(n)]


def seconds_per_pair(model) -> float:
    pairs = workload(64)
    model.predict(pairs[:8])
    t0 = time.perf_counter()
    model.predict(pairs)
    return (time.perf_counter() - t0) / len(pairs)


def test_one_object_shared_by_threads_is_serialized_and_correct(ce):
    pairs = workload(40)
    want = ce.predict(pairs, batch_size=8)
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda k: ce.predict(pairs[k:] + pairs[:k], batch_size=8), range(8)))
    for k, g in enumerate(got):
        np.testing.assert_allclose(g, np.roll(want, -k), atol=1e-5)


def test_threads_with_their_own_objects(ce_dir, bi_dir):
    pairs = workload(30)
    texts = [d for _, d in pairs]
    want_ce = rerank.CrossEncoder(ce_dir, threads=1).predict(pairs)
    want_bi = rerank.SentenceTransformer(bi_dir, threads=1).encode(texts)

    def job(k: int):
        if k % 2:
            return rerank.CrossEncoder(ce_dir, threads=1).predict(pairs)
        return rerank.SentenceTransformer(bi_dir, threads=1).encode(texts)

    with ThreadPoolExecutor(4) as ex:
        for k, r in enumerate(ex.map(job, range(8))):
            np.testing.assert_allclose(r, want_ce if k % 2 else want_bi, atol=1e-5)


def test_gil_is_released_during_predict(ce_dir):
    """One C++ call (a single batch) lasting about a second: if it held the GIL, this thread could not run."""
    m = rerank.CrossEncoder(ce_dir, threads=1)
    n = max(64, int(1.0 / seconds_per_pair(m)))
    pairs = workload(n)
    done = threading.Event()

    def run():
        m.predict(pairs, batch_size=n)
        done.set()

    t = threading.Thread(target=run)
    start = time.perf_counter()
    t.start()
    last, max_gap, ticks = start, 0.0, 0
    while not done.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        max_gap, last, ticks = max(max_gap, now - last), now, ticks + 1
    t.join()
    elapsed = time.perf_counter() - start
    assert elapsed > 0.3, f"workload too small to tell ({elapsed:.2f} s)"
    assert max_gap < elapsed / 2, f"this thread was blocked for {max_gap:.2f} s of a {elapsed:.2f} s predict"
    assert ticks > 10


def test_keyboard_interrupt_stops_a_long_predict(ce_dir):
    m = rerank.CrossEncoder(ce_dir, threads=1)
    per_pair = seconds_per_pair(m)
    n = int(20.0 / per_pair)  # about 20 s of work in batches of 8
    pairs = workload(n)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        m.predict(pairs, batch_size=8)
    stopped = time.perf_counter() - t0
    timer.join()
    assert stopped < 5.0, f"KeyboardInterrupt took {stopped:.2f} s (batch of 8 = {8 * per_pair:.3f} s)"
    assert m.predict(pairs[:2]).shape == (2,)  # the object is still usable
