#!/usr/bin/env python3
"""Turns the loss benchmarks' CSV reports into the docs/benchmarks.md table (ratios from the Min column, the most
robust statistic on a shared machine). Usage: summarise_losses.py <results dir> [<results dir> ...]; with several
runs each case/method keeps its smallest Min over the runs."""
import csv
import glob
import os
import sys

UNITS = {"ns": 1e-6, "us": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1e3}


def ms(text):
    value, unit = text.replace(",", "").split()
    return float(value) * UNITS[unit]


rows = {}
paths = [p for d in sys.argv[1:] for p in sorted(glob.glob(os.path.join(d, "*Losses*-report.csv")))]
for path in paths:
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            case = rows.setdefault((r["Loss"], int(r["N"]), int(r["D"])), {})
            case[r["Method"]] = min(case.get(r["Method"], float("inf")), ms(r["Min"]))

print("| Loss | N | D | Floor (ms) | Library (ms) | Naive (ms) | Library / floor | Speed-up over naive |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for (loss, n, d), m in sorted(rows.items()):
    f, l, nv = m["Floor"], m["Library"], m["Naive"]
    print(f"| {loss} | {n} | {d} | {f:.3f} | {l:.3f} | {nv:.3f} | {l / f:.2f} | {nv / l:.1f}x |")
