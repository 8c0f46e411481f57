#!/usr/bin/python3
"""Reference values for the loss tests: each formula written straightforwardly (loops where the original papers'
code loops, their pdist where they use it), evaluated in float64 with PyTorch autograd.

Run with Debian's PyTorch:  /usr/bin/python3 make_reference.py  (writes losses_reference.json next to this file).
The C# tests read the JSON; they never need Python.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20190601)
DT = torch.float64
CASES = []


def tolist(t):
    return t.detach().tolist()


def record(loss, options, inputs, value, grads, params=None):
    CASES.append({
        "loss": loss,
        "options": options,
        "inputs": {k: tolist(v) for k, v in inputs.items()},
        "value": float(value),
        "grads": {k: tolist(v) for k, v in grads.items()},
        "params": {k: tolist(v) for k, v in (params or {}).items()},
    })


def batch(n, d, normalised):
    x = torch.randn(n, d, dtype=DT)
    return F.normalize(x, dim=1) if normalised else x * 1.7


def labels_for(n, classes=4):
    return torch.arange(n) % classes


def pdist(e, squared=False, eps=1e-12):
    """As in the RKD authors' code: Gram form, clamp, sqrt, zero diagonal."""
    e_square = e.pow(2).sum(dim=1)
    prod = e @ e.t()
    res = (e_square.unsqueeze(1) + e_square.unsqueeze(0) - 2 * prod).clamp(min=eps)
    if not squared:
        res = res.sqrt()
    res = res.clone()
    res[range(len(e)), range(len(e))] = 0
    return res


def paper_dist(e):
    """The paper's distance matrix: sqrt(clamp(|x|^2+|y|^2-2x.y, 1e-12)) (diagonal kept)."""
    sq = e.pow(2).sum(1)
    return (sq[:, None] + sq[None, :] - 2 * e @ e.t()).clamp(min=1e-12).sqrt()


# ---------------------------------------------------------------- distillation losses on embeddings
def absolute(s, t, squared=False, proj=None):
    if proj is not None:
        s = proj(s)
    if squared:
        return F.mse_loss(s, t)
    return F.pairwise_distance(s, t, eps=1e-6).mean()


def relative(s, t, distance="euclidean", reduction="frobenius"):
    def dist(e):
        if distance == "euclidean":
            return paper_dist(e)
        if distance == "squared":
            sq = e.pow(2).sum(1)
            return (sq[:, None] + sq[None, :] - 2 * e @ e.t()).clamp(min=0)
        en = F.normalize(e, dim=1, eps=1e-12)
        return 1 - en @ en.t()
    diff = dist(s) - dist(t)
    if reduction == "frobenius":
        return torch.norm(diff, p="fro")
    if reduction == "mean_abs":
        return diff.abs().mean()
    return diff.pow(2).mean()


def rkd_distance(student, teacher):
    s, t = student, teacher
    with torch.no_grad():
        t_d = pdist(t)
        t_d = t_d / t_d[t_d > 0].mean()
    d = pdist(s)
    d = d / d[d > 0].mean()
    return F.smooth_l1_loss(d, t_d, reduction="mean")


def rkd_angle(student, teacher):
    s, t = student, teacher
    with torch.no_grad():
        td = t.unsqueeze(0) - t.unsqueeze(1)
        norm_td = F.normalize(td, p=2, dim=2)
        t_angle = torch.bmm(norm_td, norm_td.transpose(1, 2)).view(-1)
    sd = s.unsqueeze(0) - s.unsqueeze(1)
    norm_sd = F.normalize(sd, p=2, dim=2)
    s_angle = torch.bmm(norm_sd, norm_sd.transpose(1, 2)).view(-1)
    return F.smooth_l1_loss(s_angle, t_angle, reduction="mean")


def relaxed_contrastive(s, t, sigma=1.0, delta=1.0, row_mean=True):
    """Relaxed_Contra of the authors' code (LabelRelaxation-CVPR21, code/Relaxed_losses.py; there the trained network's
    embedding is the first argument): the student's distances with a zero diagonal, each divided by its row mean over
    all n entries (diagonal included); soft labels exp(-|t_i - t_j|^2 / sigma) of the L2-normalised teacher; pull and
    push summed over the off-diagonal pairs and divided by n (not n(n-1))."""
    n = len(s)
    tn = F.normalize(t, dim=1)
    loss = 0.0
    d = paper_dist(s)
    for i in range(n):
        mean_i = sum(d[i, k] for k in range(n) if k != i) / n
        for j in range(n):
            if i == j:
                continue
            w = math.exp(-float((tn[i] - tn[j]).pow(2).sum()) / sigma)
            dij = d[i, j] / mean_i if row_mean else d[i, j]
            loss = loss + w * dij ** 2 + (1 - w) * torch.relu(delta - dij) ** 2
    return loss / n


# ---------------------------------------------------------------- metric losses
def triplet_batch_hard(x, y, m):
    d = paper_dist(x)
    n = len(x)
    terms = []
    for a in range(n):
        pos = [d[a, p] for p in range(n) if p != a and y[p] == y[a]]
        neg = [d[a, k] for k in range(n) if y[k] != y[a]]
        if not pos or not neg:
            continue
        terms.append(torch.relu(max(pos) - min(neg) + m))
    return sum(terms) / len(terms) if terms else (x * 0).sum()


def triplet_semi_hard(x, y, m):
    d = paper_dist(x)
    n = len(x)
    terms = []
    for a in range(n):
        negs = [k for k in range(n) if y[k] != y[a]]
        if not negs:
            continue
        for p in range(n):
            if p == a or y[p] != y[a]:
                continue
            farther = [d[a, k] for k in negs if float(d[a, k]) > float(d[a, p])]
            dan = min(farther) if farther else max(d[a, k] for k in negs)
            terms.append(torch.relu(d[a, p] - dan + m))
    return sum(terms) / len(terms) if terms else (x * 0).sum()


def triplet_batch_all(x, y, m):
    d = paper_dist(x)
    n = len(x)
    total, count = (x * 0).sum(), 0
    for a in range(n):
        for p in range(n):
            if p == a or y[p] != y[a]:
                continue
            for k in range(n):
                if y[k] == y[a]:
                    continue
                v = torch.relu(d[a, p] - d[a, k] + m)
                if float(v) > 1e-16:
                    count += 1
                total = total + v
    return total / max(count, 1)


def contrastive(x, y, pos_margin=0.0, neg_margin=1.0, squared=True):
    """Hadsell et al.'s squared hinges (default), or pytorch-metric-learning's linear ones; mean over ordered pairs."""
    d = paper_dist(x)
    n = len(x)
    p = 2 if squared else 1
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            if y[i] == y[j]:
                total = total + torch.relu(d[i, j] - pos_margin) ** p
            else:
                total = total + torch.relu(neg_margin - d[i, j]) ** p
    return total / (n * (n - 1))


def multi_similarity(x, y, alpha=2.0, beta=50.0, lam=1.0, eps=0.1):
    """As the authors' loop: mine against the hardest pair of the other kind, skip anchors left without pairs."""
    sim = x @ x.t()
    n = len(x)
    losses = []
    for i in range(n):
        pos = torch.stack([sim[i, j] for j in range(n) if j != i and y[j] == y[i]]) if any(j != i and y[j] == y[i] for j in range(n)) else None
        neg = torch.stack([sim[i, j] for j in range(n) if y[j] != y[i]]) if any(y[j] != y[i] for j in range(n)) else None
        if pos is None or neg is None:
            continue
        neg_pair = neg[neg + eps > pos.min()]
        pos_pair = pos[pos - eps < neg.max()]
        if len(neg_pair) < 1 or len(pos_pair) < 1:
            continue
        pos_loss = 1.0 / alpha * torch.log(1 + torch.sum(torch.exp(-alpha * (pos_pair - lam))))
        neg_loss = 1.0 / beta * torch.log(1 + torch.sum(torch.exp(beta * (neg_pair - lam))))
        losses.append(pos_loss + neg_loss)
    return sum(losses) / n if losses else (x * 0).sum()


def proxy_anchor(x, y, proxies, alpha=32.0, delta=0.1):
    c = proxies.shape[0]
    cos = F.linear(F.normalize(x, dim=1), F.normalize(proxies, dim=1))
    p_one_hot = F.one_hot(y, c).to(x.dtype)
    n_one_hot = 1 - p_one_hot
    pos_exp = torch.exp(-alpha * (cos - delta))
    neg_exp = torch.exp(alpha * (cos + delta))
    with_pos = torch.nonzero(p_one_hot.sum(dim=0) != 0).squeeze(dim=1)
    p_sim_sum = torch.where(p_one_hot == 1, pos_exp, torch.zeros_like(pos_exp)).sum(dim=0)
    n_sim_sum = torch.where(n_one_hot == 1, neg_exp, torch.zeros_like(neg_exp)).sum(dim=0)
    pos_term = torch.log(1 + p_sim_sum).sum() / len(with_pos)
    neg_term = torch.log(1 + n_sim_sum).sum() / c
    return pos_term + neg_term


# ---------------------------------------------------------------- map losses
def at(x):
    return F.normalize(x.pow(2).mean(1).view(x.size(0), -1))


def attention(s, t):
    if s.shape[2:] != t.shape[2:]:
        s = F.interpolate(s, size=t.shape[2:], mode="bilinear", align_corners=False)
    return (at(s) - at(t)).pow(2).mean()


def run(loss, options, fn, inputs, grad_names, params=None):
    leaves = {k: v.clone().requires_grad_(k in grad_names) for k, v in inputs.items()}
    value = fn(**leaves)
    value.backward()
    grads = {k: leaves[k].grad for k in grad_names}
    record(loss, options, inputs, value, grads, params)


CONFIGS = [(8, 4, False), (16, 16, True), (16, 4, False)]

for n, d, normalised in CONFIGS:
    opt = {"n": n, "d": d, "normalised": normalised}
    s = batch(n, d, normalised)
    t = batch(n, d, normalised)
    t_wide = batch(n, d + 3, normalised)
    y = labels_for(n)

    run("absolute", dict(opt), lambda student, teacher: absolute(student, teacher), {"student": s, "teacher": t}, ["student"])
    run("absolute", dict(opt, squared=True), lambda student, teacher: absolute(student, teacher, squared=True), {"student": s, "teacher": t}, ["student"])
    proj = torch.nn.Linear(d, d + 3).to(DT)
    run("absolute", dict(opt, projection=True), lambda student, teacher: absolute(student, teacher, proj=proj),
        {"student": s, "teacher": t_wide}, ["student"], {"weight": proj.weight, "bias": proj.bias})
    for distance in ["euclidean", "squared", "cosine"]:
        for reduction in ["frobenius", "mean_abs", "mean_squared"]:
            run("relative", dict(opt, distance=distance, reduction=reduction),
                lambda student, teacher: relative(student, teacher, distance, reduction), {"student": s, "teacher": t_wide}, ["student"])
    run("rkd_distance", dict(opt), rkd_distance, {"student": s, "teacher": t_wide}, ["student"])
    run("rkd_angle", dict(opt), rkd_angle, {"student": s, "teacher": t_wide}, ["student"])
    run("relaxed_contrastive", dict(opt), lambda student, teacher: relaxed_contrastive(student, teacher), {"student": s, "teacher": t_wide}, ["student"])
    run("relaxed_contrastive", dict(opt, sigma=0.5, delta=1.5, row_mean=False),
        lambda student, teacher: relaxed_contrastive(student, teacher, 0.5, 1.5, False), {"student": s, "teacher": t_wide}, ["student"])

    for margin in [0.0, 0.2]:
        for mining, fn in [("batch_hard", triplet_batch_hard), ("semi_hard", triplet_semi_hard), ("batch_all", triplet_batch_all)]:
            run("triplet", dict(opt, margin=margin, mining=mining), lambda embeddings, labels, fn=fn, margin=margin: fn(embeddings, labels, margin),
                {"embeddings": s, "labels": y}, ["embeddings"])
    run("contrastive", dict(opt, pos_margin=0.0, neg_margin=1.0), lambda embeddings, labels: contrastive(embeddings, labels),
        {"embeddings": s, "labels": y}, ["embeddings"])
    run("contrastive", dict(opt, pos_margin=0.1, neg_margin=1.5), lambda embeddings, labels: contrastive(embeddings, labels, 0.1, 1.5),
        {"embeddings": s, "labels": y}, ["embeddings"])
    run("contrastive", dict(opt, pos_margin=0.1, neg_margin=1.5, squared=0), lambda embeddings, labels: contrastive(embeddings, labels, 0.1, 1.5, False),
        {"embeddings": s, "labels": y}, ["embeddings"])
    sn = F.normalize(s, dim=1)
    run("multi_similarity", dict(opt), lambda embeddings, labels: multi_similarity(embeddings, labels),
        {"embeddings": sn, "labels": y}, ["embeddings"])
    run("multi_similarity", dict(opt, alpha=2.0, beta=40.0, lam=0.5, eps=0.1), lambda embeddings, labels: multi_similarity(embeddings, labels, 2.0, 40.0, 0.5, 0.1),
        {"embeddings": sn, "labels": y}, ["embeddings"])
    proxies = torch.randn(5, d, dtype=DT)
    run("proxy_anchor", dict(opt, classes=5), lambda embeddings, labels, proxies: proxy_anchor(embeddings, labels, proxies),
        {"embeddings": s, "labels": y, "proxies": proxies}, ["embeddings", "proxies"])

# Feature maps: same and different spatial sizes, different channel counts.
for hs, ht in [(4, 4), (3, 5)]:
    sm = torch.randn(4, 3, hs, hs + 1, dtype=DT)
    tm = torch.randn(4, 5, ht, ht + 1, dtype=DT)
    opt = {"student_size": hs, "teacher_size": ht}
    run("attention", opt, lambda student, teacher: attention(student, teacher), {"student": sm, "teacher": tm}, ["student"])
    for bn in [False, True]:
        conv = torch.nn.Conv2d(3, 5, 1).to(DT)
        norm = torch.nn.BatchNorm2d(5).to(DT) if bn else None

        def hint(student, teacher, conv=conv, norm=norm):
            if student.shape[2:] != teacher.shape[2:]:
                student = F.interpolate(student, size=teacher.shape[2:], mode="bilinear", align_corners=False)
            r = conv(student)
            if norm is not None:
                r = norm(r)
            return F.mse_loss(r, teacher)
        run("hint", dict(opt, batch_norm=bn), hint, {"student": sm, "teacher": tm}, ["student"],
            {"weight": conv.weight, "bias": conv.bias})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses_reference.json")
with open(out, "w") as f:
    json.dump({"generator": "make_reference.py", "torch": torch.__version__, "cases": CASES}, f, separators=(",", ":"))
print(f"{len(CASES)} cases -> {out} ({os.path.getsize(out)} bytes)")
