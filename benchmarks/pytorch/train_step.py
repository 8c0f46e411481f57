#!/usr/bin/env python3
"""One training step of the library's networks, in PyTorch: the reference for docs/benchmarks.md "Training step vs PyTorch".

The same step as the library's trainer (Trainer.Fit, metric objective): images [B, 3, S, S] -> backbone -> global average
pool -> Linear(C, 512) -> L2 normalise -> batch-hard triplet loss (margin 0, plain Euclidean distance) -> backward ->
Adam (lr 1e-5, weight decay 2e-4, L2 added to the gradient as torch.optim.Adam does) -> the loss read on the host.
Batches are P x K (8 images per class). Backbones: torchvision's resnet18, resnet101 and mobilenet_v2 (training mode,
fresh initialisation), and MobileNetV1 with a width multiplier written here with the library's layout.

The distillation step (--distill) adds a frozen teacher (eval mode, no_grad) on the same images and the paper's absolute
(weight 1) and relative (weight 0.3) teacher terms to the student's triplet loss; it also times the teacher forward alone
and the student step alone, so the distillation step can be compared with their sum.

Usage (Debian's python3-torch: /usr/bin/python3):
  /usr/bin/python3 benchmarks/pytorch/train_step.py --threads 1 --nets resnet18,mobilenetv2,mobilenetv1-0.25 --sizes 64,224
  /usr/bin/python3 benchmarks/pytorch/train_step.py --threads 1 --distill --sizes 224
  /usr/bin/python3 benchmarks/pytorch/train_step.py --serve --threads 1      # worker of the C# tool (`step --python ...`)
  /usr/bin/python3 benchmarks/pytorch/train_step.py --layers --nets mobilenetv1-0.25 --sizes 224 --threads 1   # per-layer CSV
Output: one JSON object per case on stdout: {"side": "pytorch", "net", "size", "batch", "threads", "kind", "ms": [...],
"min_ms", "images_per_s", "params"}. kind is "step" (one training step), "teacher" (teacher forward), "distill" (distillation step).
Needs torch and torchvision; nothing else.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v, divisor=8):
    """torchvision's _make_divisible: nearest multiple of 8, at least 8, at most 10% below v."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def conv_bn_relu(cin, cout, k, stride, groups):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class MobileNetV1(nn.Module):
    """MobileNetV1 features as the library builds them (stem conv-bn-relu, 13 depthwise separable blocks)."""

    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, width):
        super().__init__()
        c = make_divisible(32 * width)
        layers = [conv_bn_relu(3, c, 3, 2, 1)]
        for channels, stride in self.BLOCKS:
            oc = make_divisible(channels * width)
            layers.append(nn.Sequential(conv_bn_relu(c, c, 3, stride, c), conv_bn_relu(c, oc, 1, 1, 1)))
            c = oc
        self.features = nn.Sequential(*layers)
        self.out_channels = c
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.features(x)


class Embedder(nn.Module):
    """Backbone -> GAP -> Linear(C, D) -> L2 normalise (the paper's head)."""

    def __init__(self, name, dim=512):
        super().__init__()
        import torchvision

        if name in ("resnet18", "resnet101"):
            net = getattr(torchvision.models, name)()
            channels = net.fc.in_features
            net.fc = nn.Identity()
            net.avgpool = nn.Identity()
            self.backbone = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
        elif name in ("mobilenetv2", "mobilenetv2-1", "mobilenetv2-1.0"):
            net = torchvision.models.mobilenet_v2()
            channels = net.last_channel
            self.backbone = net.features
        elif name.startswith("mobilenetv1"):
            width = float(name.split("-", 1)[1]) if "-" in name else 1.0
            self.backbone = MobileNetV1(width)
            channels = self.backbone.out_channels
        else:
            raise SystemExit(f"unknown network '{name}' (resnet18, resnet101, mobilenetv2, mobilenetv1-W)")
        self.head = nn.Linear(channels, dim)
        nn.init.kaiming_normal_(self.head.weight, mode="fan_out")
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        return F.normalize(self.head(self.backbone(x).mean((2, 3))), p=2, dim=1, eps=1e-12)


def distances(x):
    """Plain Euclidean distance matrix, sqrt(clamp(|x|^2 + |y|^2 - 2 x.y, 1e-12)) (the paper's formula)."""
    sq = (x * x).sum(1)
    return (sq[:, None] + sq[None, :] - 2 * x @ x.t()).clamp_min(1e-12).sqrt()


def triplet_batch_hard(e, labels, margin=0.0):
    d = distances(e)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    hardest_pos = d.masked_fill(~same | eye, float("-inf")).max(1).values
    hardest_neg = d.masked_fill(same, float("inf")).min(1).values
    return (hardest_pos - hardest_neg + margin).clamp_min(0).mean()


def absolute_teacher(s, t):
    return F.pairwise_distance(s, t, eps=1e-6).mean()


def relative_teacher(s, t):
    return (distances(s) - distances(t)).norm()


class Case:
    """One network at one size: model, optimiser, fixed inputs; runs and times steps."""

    def __init__(self, net, size, batch, teacher=None):
        torch.manual_seed(0)
        self.model = Embedder(net).train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-5, weight_decay=2e-4)
        self.images = torch.randn(batch, 3, size, size)
        self.labels = torch.arange(batch) // 8
        self.teacher = None
        if teacher:
            self.teacher = Embedder(teacher).eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)
        self.warm = set()

    def step(self, distill):
        t0 = time.perf_counter()
        e = self.model(self.images)
        loss = triplet_batch_hard(e, self.labels)
        if distill:
            with torch.no_grad():
                t = self.teacher(self.images)
            loss = loss + 1.0 * absolute_teacher(e, t) + 0.3 * relative_teacher(e, t)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        loss.item()
        return (time.perf_counter() - t0) * 1e3

    def teacher_forward(self):
        t0 = time.perf_counter()
        with torch.no_grad():
            t = self.teacher(self.images)
        t.sum().item()
        return (time.perf_counter() - t0) * 1e3

    def params(self, kind):
        """Parameter count of the network the kind times (the teacher for "teacher", else the student)."""
        model = self.teacher if kind == "teacher" else self.model
        return sum(p.numel() for p in model.parameters())

    def run(self, kind, steps):
        fn = {"step": lambda: self.step(False), "distill": lambda: self.step(True), "teacher": self.teacher_forward}[kind]
        if kind not in self.warm:
            fn()
            self.warm.add(kind)
        return [fn() for _ in range(steps)]


def layer_profile(net, size, batch, rounds):
    """Per top-level layer of the backbone: forward, and forward + backward with a ones gradient (training mode), min of rounds.
    The C# twin: `dotnet run -c Release --project benchmarks/EmbeddingDistillation.Benchmarks -- layers`."""
    torch.manual_seed(0)
    b = Embedder(net).train().backbone
    if hasattr(b, "features"):
        layers = [(f"features.{n}", m) for n, m in b.features.named_children()]
    elif isinstance(b, nn.Sequential) and len(b) == 8:  # ResNet: stem, layer1..4
        layers = [("stem", b[:4])] + [(f"layer{i}", b[3 + i]) for i in range(1, 5)]
    else:
        layers = [("backbone", b)]
    x = torch.randn(batch, 3, size, size)
    inputs = []
    with torch.no_grad():
        for _, m in layers:
            inputs.append(x)
            x = m(x)
    fwd = [float("inf")] * len(layers)
    both = [float("inf")] * len(layers)
    for _ in range(rounds):
        for i, (_, m) in enumerate(layers):
            xin = inputs[i].detach().requires_grad_(i > 0)
            t = time.perf_counter()
            y = m(xin)
            f = time.perf_counter() - t
            g = torch.ones_like(y)
            t = time.perf_counter()
            y.backward(g)
            bwd = time.perf_counter() - t
            fwd[i] = min(fwd[i], f * 1e3)
            both[i] = min(both[i], (f + bwd) * 1e3)
            b.zero_grad()
    print("layer,shape_in,forward_ms,forward_backward_ms")
    for i, (n, _) in enumerate(layers):
        print(f"{n},{'x'.join(map(str, inputs[i].shape))},{fwd[i]:.2f},{both[i]:.2f}")
    print(f"total,,{sum(fwd):.2f},{sum(both):.2f}")


def report(net, size, batch, threads, kind, ms, params):
    best = min(ms)
    return {"side": "pytorch", "net": net, "size": size, "batch": batch, "threads": threads, "kind": kind, "params": params,
            "ms": [round(m, 3) for m in ms], "min_ms": round(best, 3), "images_per_s": round(batch * 1e3 / best, 3),
            "torch": torch.__version__}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--nets", default="resnet18,mobilenetv2,mobilenetv1-0.25")
    p.add_argument("--sizes", default="64,224")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=3, help="timed steps per case (after one warm-up step)")
    p.add_argument("--distill", action="store_true", help="time the distillation step (teacher --teacher, student --student)")
    p.add_argument("--teacher", default="resnet101")
    p.add_argument("--student", default="mobilenetv1-0.25")
    p.add_argument("--layers", action="store_true", help="per-layer forward/backward profile of the first --nets at the first --sizes (CSV)")
    p.add_argument("--rounds", type=int, default=3, help="--layers: rounds (minimum kept)")
    p.add_argument("--serve", action="store_true", help="read JSON requests {net, size, batch, kind, steps, teacher} from stdin")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.serve:
        cases = {}
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            r = json.loads(line)
            key = (r["net"], r["size"], r["batch"], r.get("teacher"))
            if key not in cases:
                cases.clear()  # one case alive at a time: the C# side interleaves cases, memory stays bounded
                cases[key] = Case(r["net"], r["size"], r["batch"], r.get("teacher"))
            ms = cases[key].run(r["kind"], r["steps"])
            print(json.dumps(report(r["net"], r["size"], r["batch"], a.threads, r["kind"], ms, cases[key].params(r["kind"]))), flush=True)
        return
    sizes = [int(s) for s in a.sizes.split(",")]
    if a.layers:
        layer_profile(a.nets.split(",")[0], sizes[0], a.batch, a.rounds)
        return
    if a.distill:
        for size in sizes:
            case = Case(a.student, size, a.batch, a.teacher)
            for kind in ("teacher", "step", "distill"):
                name = a.teacher if kind == "teacher" else a.student
                print(json.dumps(report(name, size, a.batch, a.threads, kind, case.run(kind, a.steps), case.params(kind))), flush=True)
        return
    for net in a.nets.split(","):
        for size in sizes:
            case = Case(net, size, a.batch)
            print(json.dumps(report(net, size, a.batch, a.threads, "step", case.run("step", a.steps), case.params("step"))), flush=True)


if __name__ == "__main__":
    main()
