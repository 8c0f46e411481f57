"""Reference values for the evaluation tests (run with Debian's PyTorch 1.13: /usr/bin/python3 make_reference.py).

Straightforward definitions, independent of the C# chunked kNN:
full distance matrix, self-match set to +inf, stable full argsort (ties -> lower index),
Recall@K (K clipped to N-1), R-Precision and MAP@R (Musgrave et al.), and NMI (arithmetic mean) from a
contingency table of given cluster assignments. Writes reference.json next to this script.
"""
import json
import os

import numpy as np
import torch


def retrieval(x, labels, ks):
    n = x.shape[0]
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)  # exact pairwise squared distances, float64
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, : n - 1]
    rel = labels[order] == labels[:, None]
    recall = {k: float(rel[:, : min(k, n - 1)].any(1).mean()) for k in ks}
    aps, rps = [], []
    for i in range(n):
        r = int((labels == labels[i]).sum()) - 1
        if r == 0:
            continue
        hits = rel[i, :r].astype(np.float64)
        precision = np.cumsum(hits) / np.arange(1, r + 1)
        aps.append(float((precision * hits).sum() / r))
        rps.append(float(hits.sum() / r))
    return recall, float(np.mean(aps)), float(np.mean(rps))


def nmi(clusters, labels):
    _, ci = np.unique(clusters, return_inverse=True)
    _, li = np.unique(labels, return_inverse=True)
    table = np.zeros((ci.max() + 1, li.max() + 1))
    np.add.at(table, (ci, li), 1)
    n = table.sum()
    pc, pl, pj = table.sum(1) / n, table.sum(0) / n, table / n
    hc = -(pc * np.log(pc)).sum()
    hl = -(pl * np.log(pl)).sum()
    nz = pj > 0
    mi = (pj[nz] * np.log(pj[nz] / (pc[:, None] * pl[None, :])[nz])).sum()
    if hc == 0 and hl == 0:
        return 1.0
    return float(mi / ((hc + hl) / 2))


def main():
    g = torch.Generator().manual_seed(20190616)
    ks = [1, 2, 4, 8, 16, 100, 1000]
    cases = []
    # Continuous random embeddings (L2-normalised, like the paper's), no ties.
    for n, classes, dim in [(200, 10, 16), (120, 30, 8)]:
        x = torch.nn.functional.normalize(torch.randn(n, dim, generator=g, dtype=torch.float64), dim=1).numpy()
        labels = torch.randint(0, classes, (n,), generator=g).numpy()
        # Pull each point toward a class centre so that the metrics are far from 0 and 1.
        centres = torch.randn(classes, dim, generator=g, dtype=torch.float64).numpy()
        x = x + 0.25 * centres[labels]
        cases.append((f"random_{n}x{dim}_{classes}classes", x, labels))
    # Small integer coordinates: many exact duplicates, so the tie rule (lower index first) decides.
    x = torch.randint(0, 3, (60, 3), generator=g).double().numpy()
    labels = torch.randint(0, 4, (60,), generator=g).numpy()
    cases.append(("integer_ties_60x3_4classes", x, labels))

    out = {"ks": ks, "retrieval": [], "nmi": []}
    for name, x, labels in cases:
        recall, map_r, rp = retrieval(x, labels, ks)
        out["retrieval"].append({
            "name": name, "embeddings": x.tolist(), "labels": labels.tolist(),
            "recall": {str(k): v for k, v in recall.items()}, "map_at_r": map_r, "r_precision": rp,
        })
    for name, n, nc, nl in [("random_300_8x10", 300, 8, 10), ("random_500_20x5", 500, 20, 5)]:
        clusters = torch.randint(0, nc, (n,), generator=g).numpy()
        labels = torch.randint(0, nl, (n,), generator=g).numpy()
        # Half of the points copy their label into the cluster id, so that the NMI is clearly above 0.
        half = np.arange(n) % 2 == 0
        clusters[half] = labels[half] % nc
        out["nmi"].append({"name": name, "clusters": clusters.tolist(), "labels": labels.tolist(), "nmi": nmi(clusters, labels)})

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
    with open(path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
