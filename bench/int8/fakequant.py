#!/usr/bin/env python3
"""Which GEMMs of a BERT cross-encoder can run in int8 without moving the ranking: simulated ("fake") quantisation
in PyTorch of peer-bench's minilm-l6-real model (real all-MiniLM-L6-v2 body + seeded head), judged like peer-bench
(Spearman per query, top-10 overlap, max |logit diff|) against the unquantised fp32 scores of the same pairs.

Each configuration quantises a chosen set of linear layers: weights symmetric int8 per output channel, activations
per row (token) symmetric int8 or asymmetric uint8, optionally SmoothQuant-style per-input-channel scaling first
(x / s, W * s, s_j = max|x_j|^a / max|W_j|^(1-a), activation maxima from the same pairs: an upper bound of what
calibration could give).

Usage: fakequant.py [--cache ~/.cache/peer-bench] [--threads 1] CONFIG...
  CONFIG: comma-separated KEY=VALUE: kinds=qkv+ao+up+down (subset), layers=0-5, act=s8|u8|s8t (t: per tensor),
  smooth=0|0.5 (alpha), wq=8|none (weights int8 or not), outl=N (LLM.int8()-style: the N input channels with the
  largest calibrated max|x| relative to the median kept unquantised), act=none (activations not quantised), name=LABEL. Example: kinds=qkv+ao+up+down  kinds=down,layers=0-4
"""
import argparse, json, math, os, sys
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--cache", default=os.path.expanduser("~/.cache/peer-bench"))
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--peer-bench", default=os.path.join(os.path.dirname(__file__), "../../../shared/tools/peer-bench"))
ap.add_argument("configs", nargs="*")
args = ap.parse_args()
sys.path.insert(0, os.path.abspath(args.peer_bench))
from model import Bert  # noqa: E402
import common  # noqa: E402

torch.set_num_threads(args.threads)
d = os.path.join(args.cache, "work/minilm-l6-real")
cfg = json.load(open(os.path.join(d, "config.json")))
m = Bert(cfg, num_labels=1).eval()
m.load_state_dict(torch.load(os.path.join(d, "torch_state.pt")))
sizes, pairs = common.load_pairs(os.path.join(args.cache, "work/pairs.txt"))
starts = np.cumsum([0] + sizes)
KIND = {"q": "qkv", "k": "qkv", "v": "qkv", "o": "ao", "fi": "up", "fo": "down"}
lin = {}  # (layer, name) -> module
for i, L in enumerate(m.layers):
    for n in KIND:
        lin[(i, n)] = getattr(L, n)
amax = {}  # (layer, name) -> per-input-channel max |x| (calibration, filled by the first pass)
state = {"cfg": None, "calib": False}


def qrow(x, act):
    if act == "u8":  # asymmetric per row
        lo, hi = x.amin(-1, keepdim=True).clamp(max=0), x.amax(-1, keepdim=True).clamp(min=0)
        s = ((hi - lo) / 255).clamp(min=1e-12)
        z = torch.round(-lo / s)
        return (torch.clamp(torch.round(x / s) + z, 0, 255) - z) * s
    if act == "s8t":  # one scale per tensor (sequence)
        s = (x.abs().amax() / 127).clamp(min=1e-12)
    else:
        s = (x.abs().amax(-1, keepdim=True) / 127).clamp(min=1e-12)
    return torch.clamp(torch.round(x / s), -127, 127) * s


def qweight(w):
    s = (w.abs().amax(1, keepdim=True) / 127).clamp(min=1e-12)
    return torch.round(w / s) * s


def make_forward(key, mod):
    orig = mod.forward

    def fwd(x):
        if state["calib"]:
            a = x.detach().abs().reshape(-1, x.shape[-1]).amax(0)
            amax[key] = torch.maximum(amax[key], a) if key in amax else a
            return orig(x)
        c = state["cfg"]
        if c is None or key[0] not in c["layers"] or KIND[key[1]] not in c["kinds"]:
            return orig(x)
        w = mod.weight
        if c["smooth"] > 0:
            a = c["smooth"]
            s = (amax[key].clamp(min=1e-5) ** a / w.abs().amax(0).clamp(min=1e-5) ** (1 - a))
            x, w = x / s, w * s
        wq = qweight(w) if c["wq"] == "8" else w
        if c["act"] == "none":
            return torch.nn.functional.linear(x, wq, mod.bias)
        if c["outl"] > 0:  # LLM.int8()-style: the channels with the largest calibrated max|x| / median stay unquantised
            idx = torch.topk(amax[key] / amax[key].median(), c["outl"]).indices
            xo = torch.zeros_like(x)
            xo[..., idx] = x[..., idx]
            xi = x - xo
            return torch.nn.functional.linear(qrow(xi, c["act"]), wq, mod.bias) + torch.nn.functional.linear(xo, w)
        return torch.nn.functional.linear(qrow(x, c["act"]), wq, mod.bias)
    return fwd


for key, mod in lin.items():
    mod.forward = make_forward(key, mod)


def score():
    out = np.zeros(len(pairs))
    with torch.inference_mode():
        for i, p in enumerate(pairs):
            ids = torch.tensor([p["ids"]])
            tt = torch.zeros_like(ids)
            tt[0, p["nA"]:] = 1
            out[i] = m.logits(ids, tt, torch.ones_like(ids))[0, 0].item()
    return out


def ranks(a):
    r = np.empty(len(a))
    r[np.argsort(a, kind="stable")] = np.arange(len(a))
    return r


def fidelity(s, ref):
    rho, top = [], []
    for q in range(len(sizes)):
        a, b = s[starts[q]:starts[q + 1]], ref[starts[q]:starts[q + 1]]
        rho.append(float(np.corrcoef(ranks(a), ranks(b))[0, 1]))
        top.append(len(set(np.argsort(-a, kind="stable")[:10]) & set(np.argsort(-b, kind="stable")[:10])) / 10)
    return np.mean(rho), np.min(rho), np.mean(top), np.max(np.abs(s - ref))


state["calib"] = True
ref = score()
state["calib"] = False
for kind in ["qkv", "ao", "up", "down"]:
    keys = [k for k in amax if KIND[k[1]] == kind]
    mx = [float(amax[k].max()) for k in keys]
    med = [float(amax[k].median()) for k in keys]
    print(f"# {kind}: per-channel max|x| over channels: max {max(mx):.2f}, median {np.median(med):.2f}", flush=True)
for spec in args.configs:
    c = {"kinds": "qkv+ao+up+down", "layers": "0-5", "act": "s8", "smooth": "0", "wq": "8", "outl": "0", "name": spec}
    c.update(dict(kv.split("=", 1) for kv in spec.split(",")))
    lo, hi = (c["layers"].split("-") + [c["layers"]])[:2]
    c["layers"] = set(range(int(lo), int(hi) + 1))
    c["kinds"] = set(c["kinds"].split("+"))
    c["smooth"] = float(c["smooth"])
    c["outl"] = int(c["outl"])
    state["cfg"] = c
    r = fidelity(score(), ref)
    print(f"{c['name']:50s} rho mean {r[0]:.4f} min {r[1]:.4f} top10 {r[2]:.3f} max|d| {r[3]:.2e}", flush=True)
