#!/usr/bin/env python3
"""arch-bench's peer rows. Each subcommand prints one JSON line (the row) and writes the per-pair logits of its
warm-up pass to SCORES_OUT (one a line, workload order). Batches, warm-up and best-of-REPEAT timing are peer-bench's
(common.py: per query, sorted by length, BATCH pairs padded to the longest); tokenization is excluded.

  tokenize MODEL_DIR WORKLOAD MAX_LENGTH PAIRS_OUT      (reference env) the pairs as CrossEncoder.predict tokenizes
                                                        them: the model's tokenizer, pair encoding, truncation
                                                        longest_first to MAX_LENGTH; PAIRS_OUT in ort.mjs's format
  torch MODEL_DIR PAIRS THREADS BATCH REPEAT            (reference env) transformers' model, PyTorch eager, fp32
  ort MODEL_DIR PAIRS THREADS BATCH REPEAT              (peer-bench venv) onnxruntime fp32 on MODEL_DIR/model.onnx,
                                                        ORT_ENABLE_ALL, intra-op threads = THREADS
  ov fp32|bf16 MODEL_DIR PAIRS THREADS BATCH REPEAT HINT  (peer-bench venv) OpenVINO CPU, same ONNX file;
                                                        HINT latency|throughput|auto (auto: both, the faster kept)
PEER_BENCH is peer-bench's directory (its common.py is imported).
"""
import json, os, sys

sys.path.insert(0, os.environ["PEER_BENCH"])
import common  # noqa: E402  (peer-bench's)
import numpy as np  # noqa: E402


def tokenize(d, workload, max_length, out):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(d)
    sizes, rows = [], []
    for line in open(workload, encoding="utf-8"):
        r = json.loads(line)
        sizes.append(len(r["documents"]))
        for doc in r["documents"]:
            e = tok(r["query"], doc, truncation="longest_first", max_length=max_length)
            ids = e["input_ids"]
            # nA: where the second segment starts (token type ids are not used by these models)
            rows.append({"ids": ids, "nA": len(tok(r["query"])["input_ids"])})
    with open(out, "w") as f:
        f.write(json.dumps(sizes) + "\n" + "".join(json.dumps(x) + "\n" for x in rows))


def feeds(pairs, sizes, batch):
    for idx, ids, _tt, mk in common.batches(sizes, pairs, batch):
        yield idx, {"input_ids": ids, "attention_mask": mk}


def torch_row(d, pairs_file, threads, batch, repeat):
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification
    torch.set_num_threads(threads)
    m = AutoModelForSequenceClassification.from_pretrained(d).eval()
    sizes, pairs = common.load_pairs(pairs_file)

    def run_all(scores):
        with torch.inference_mode():
            for idx, f in feeds(pairs, sizes, batch):
                out = m(**{k: torch.from_numpy(v) for k, v in f.items()}).logits
                if scores is not None:
                    scores[idx] = out[:, 0].double().numpy()

    common.run("torch-fp32", f"pytorch {torch.__version__.split('+')[0]} eager, transformers {transformers.__version__}",
               pairs, repeat, run_all, attn_implementation=m.config._attn_implementation)


def ort_row(d, pairs_file, threads, batch, repeat):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(d, "model.onnx"), so, providers=["CPUExecutionProvider"])
    sizes, pairs = common.load_pairs(pairs_file)

    def run_all(scores):
        for idx, f in feeds(pairs, sizes, batch):
            out = sess.run(None, f)[0]
            if scores is not None:
                scores[idx] = out[:, 0]

    common.run("ort-py-fp32", f"onnxruntime {ort.__version__} python fp32", pairs, repeat, run_all)


def ov_row(mode, d, pairs_file, threads, batch, repeat, hint):
    import openvino as ov
    core = ov.Core()
    model = core.read_model(os.path.join(d, "model.onnx"))
    sizes, pairs = common.load_pairs(pairs_file)
    precision = {"fp32": "f32", "bf16": "bf16"}[mode]

    def compile_for(h):
        c = core.compile_model(model, "CPU", {"PERFORMANCE_HINT": h, "INFERENCE_NUM_THREADS": threads,
                                              "INFERENCE_PRECISION_HINT": precision})
        got = c.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        if got != precision:
            sys.exit(f"OpenVINO CPU gave {got} for INFERENCE_PRECISION_HINT {precision} (not supported on this CPU)")
        return c

    def latency(c):
        req = c.create_infer_request()

        def run_all(scores):
            for idx, f in feeds(pairs, sizes, batch):
                out = req.infer(f)[0]
                if scores is not None:
                    scores[idx] = out[:, 0]
        return run_all

    def throughput(c):
        queue = ov.AsyncInferQueue(c, c.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        sink = {}

        def done(req, idx):
            if sink.get("scores") is not None:
                sink["scores"][idx] = req.get_output_tensor(0).data[:, 0]
        queue.set_callback(done)

        def run_all(scores):
            sink["scores"] = scores
            for idx, f in feeds(pairs, sizes, batch):
                queue.start_async(f, idx)
            queue.wait_all()
        return run_all

    hints = ["LATENCY", "THROUGHPUT"] if hint == "auto" else [hint.upper()]
    runs = {}
    for h in hints:
        c = compile_for(h)
        scores, best = common.score_and_time(pairs, repeat, (latency if h == "LATENCY" else throughput)(c))
        runs[h] = (scores, best, int(c.get_property("NUM_STREAMS")))
        del c
    note = {}
    if len(runs) > 1:  # as peer-bench: a THROUGHPUT run whose logits disagree with LATENCY's is rejected
        note["seconds_by_hint"] = {k: v[1] for k, v in runs.items()}
        lat, tput = runs["LATENCY"][0], runs["THROUGHPUT"][0]
        dd = float(np.max(np.abs(lat - tput))) if np.all(np.isfinite(tput)) else float("inf")
        if dd > 0.05 * max(1.0, float(np.max(np.abs(lat)))):
            note["throughput_rejected"] = f"its logits differ from LATENCY's by up to {dd:.3g}"
            del runs["THROUGHPUT"]
    h = min(runs, key=lambda k: runs[k][1])
    scores, best, streams = runs[h]
    common.emit("ov-" + mode, f"openvino {ov.__version__.split('-')[0]} {mode}", pairs, scores, best, hint=h,
                streams=streams, **note)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "tokenize":
        tokenize(a[1], a[2], int(a[3]), a[4])
    elif a[0] == "torch":
        torch_row(a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
    elif a[0] == "ort":
        ort_row(a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
    elif a[0] == "ov":
        ov_row(a[1], a[2], a[3], int(a[4]), int(a[5]), int(a[6]), a[7])
    else:
        sys.exit(f"peers.py: unknown command {a[0]}")
