"""Convert an ImageNet MobileNetV1 state dict to EmbeddingDistillation's MobileNetV1 keys.

torchvision has no MobileNetV1. Third-party PyTorch checkpoints name their layers differently, but all of them
store the 27 convolutions in network order (stem, then depthwise and pointwise for each of the 13 blocks), each
followed by its BatchNorm. This script maps them by that order:

    stem conv / BN                   -> features.0.0 / features.0.1
    block i depthwise conv / BN      -> features.i.dw.0 / features.i.dw.1
    block i pointwise conv / BN      -> features.i.pw.0 / features.i.pw.1
    classifier (2-D weights)         -> dropped (the embedding head replaces it)

Usage: /usr/bin/python3 convert_mobilenetv1.py SOURCE.pth(.tar) mobilenetv1_025_imagenet.pth
Then pass the output with --student-weights; strict loading names any missing or mis-shaped key (for instance
when the checkpoint's width multiplier is not the student's).
"""
import sys
from collections import OrderedDict

import torch


def convert(src):
    if "state_dict" in src:
        src = src["state_dict"]
    src = OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in src.items())
    keys = list(src)
    convs = [k for k in keys if k.endswith("weight") and src[k].dim() == 4]
    if len(convs) != 27:
        raise SystemExit(f"expected 27 convolution weights (1 stem + 13 x 2), found {len(convs)}: {convs[:5]}...")
    targets = ["features.0.0"] + [f"features.{i}.{part}.0" for i in range(1, 14) for part in ("dw", "pw")]
    out = OrderedDict()
    for conv, target in zip(convs, targets):
        out[target + ".weight"] = src[conv]
        start = keys.index(conv)
        bn = next((k[: -len("running_mean")] for k in keys[start:] if k.endswith("running_mean")), None)
        if bn is None:
            raise SystemExit(f"no BatchNorm after {conv}")
        bn_target = target[:-2] + ".1"
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            if bn + name in src:
                out[f"{bn_target}.{name}"] = src[bn + name]
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    state = convert(torch.load(sys.argv[1], map_location="cpu"))
    torch.save(state, sys.argv[2])
    print(f"wrote {len(state)} tensors to {sys.argv[2]}")
