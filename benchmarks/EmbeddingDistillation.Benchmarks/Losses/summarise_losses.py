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
library = {}
for arg in sys.argv[1:]:
    only_library = arg.startswith("library=")
    folder = arg[len("library="):] if only_library else arg
    for path in sorted(glob.glob(os.path.join(folder, "*Losses*-report.csv"))):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                key = (r["Loss"], int(r["N"]), int(r["D"]))
                if only_library and r["Method"] != "Library":
                    continue
                target = library if only_library else rows
                case = target.setdefault(key, {})
                case[r["Method"]] = min(case.get(r["Method"], float("inf")), ms(r["Min"]))
for key, m in library.items():
    rows.setdefault(key, {})["Library"] = m["Library"]

print("| Loss | N | D | Floor (ms) | Library (ms) | Naive (ms) | Library / floor | Speed-up over naive |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for (loss, n, d), m in sorted(rows.items()):
    f, l, nv = m["Floor"], m["Library"], m["Naive"]
    print(f"| {loss} | {n} | {d} | {f:.3f} | {l:.3f} | {nv:.3f} | {l / f:.2f} | {nv / l:.1f}x |")
