#!/usr/bin/env python3
"""Plots the server's resident memory (and threads) over a soak: soak_plot.py samples.csv out.png [WARMUP_S] [LOAD_END_S].
samples.csv is what bench/server/soak.py --out writes (t_s, rss_kb, threads, fds, load1). Needs matplotlib
(Debian: python3-matplotlib, run with /usr/bin/python3)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = list(csv.DictReader(open(sys.argv[1])))
t = [float(r["t_s"]) / 60 for r in rows]
rss = [int(r["rss_kb"]) / 1024 for r in rows]
fds = [int(r["fds"]) for r in rows]
fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
ax.plot(t, rss, lw=1, color="tab:blue", label="server RSS (MB, /proc/PID/status VmRSS)")
ax.set_xlabel("minutes since the load started")
ax.set_ylabel("resident memory (MB)")
ax.set_ylim(0, max(rss) * 1.15)
ax2 = ax.twinx()
ax2.plot(t, fds, lw=0.7, color="tab:gray", alpha=0.6, label="open file descriptors")
ax2.set_ylabel("open fds")
ax2.set_ylim(0, max(fds) * 1.5)
if len(sys.argv) > 3:
    ax.axvline(float(sys.argv[3]) / 60, color="tab:green", ls="--", lw=0.8, label="end of warm-up")
if len(sys.argv) > 4:
    ax.axvline(float(sys.argv[4]) / 60, color="tab:red", ls="--", lw=0.8, label="end of load")
h1, l1 = ax.get_legend_handles_labels()
h2, l2 = ax2.get_legend_handles_labels()
ax.legend(h1 + h2, l1 + l2, loc="lower right", fontsize=8)
ax.set_title("rerank serve under the soak (bench/server/soak.py)")
fig.tight_layout()
fig.savefig(sys.argv[2])
print("wrote", sys.argv[2])
