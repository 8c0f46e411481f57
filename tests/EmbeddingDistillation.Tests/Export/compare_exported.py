"""Loads the networks PyTorchExporter wrote into torchvision's models and compares PyTorch's outputs with TorchSharp's.

Run with Debian's PyTorch and torchvision (python3-torch 1.13, python3-torchvision 0.14), not another Python:

    ED_PYTORCH_EXPORT_DIR=/tmp/ed-pytorch-export dotnet test -c Release --no-build tests/EmbeddingDistillation.Tests \
        --filter FullyQualifiedName~PyTorchInteropFiles
    /usr/bin/python3 tests/EmbeddingDistillation.Tests/Export/compare_exported.py /tmp/ed-pytorch-export

For every CASE.io.safetensors in the folder (a fixed input and TorchSharp's eval-mode embedding of it) the script
1. reads CASE.safetensors with struct + json + torch.frombuffer (no safetensors package needed) and rebuilds the
   network from its __metadata__: torchvision's resnetN / mobilenet_v2 (the MobileNetV1 of the library is defined
   below: torchvision has none) with its classifier replaced by nn.Identity(), as the child `backbone` of
   EmbeddingModel, whose `head` is the Linear of the paper's head; small-input stems are patched in;
2. loads the state dict strictly (every key and shape must match), runs the input in eval mode and compares;
3. does the same with CASE.pth through torch.load, and checks that both files hold identical tensors.
Prints the maximum absolute difference per case and exits with 1 if one is above 1e-4 or a file does not load.
"""
import glob
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "Networks"))
from make_fixtures import MobileNetV1  # noqa: E402  (the library's MobileNetV1, one definition)

TOLERANCE = 1e-4
DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    """Returns ({key: tensor}, metadata) of a safetensors file: u64 LE header size, JSON header, raw LE data."""
    if sys.byteorder != "little":
        raise SystemExit("safetensors data is little-endian; this reader assumes a little-endian machine")
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    start = 8 + n
    # The reference loader's rule: the data is covered exactly, tensor after tensor, from 0 to the end of the file.
    spans = sorted(tuple(e["data_offsets"]) for e in header.values())
    if [b for b, _ in spans] != [0] + [e for _, e in spans[:-1]] or (spans and spans[-1][1] != len(data) - start):
        raise ValueError(f"{path}: data offsets are not contiguous or do not end at the end of the file")
    tensors = {}
    for key, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        flat = torch.frombuffer(bytearray(data[start + begin:start + end]), dtype=dtype) if end > begin \
            else torch.empty(0, dtype=dtype)
        tensors[key] = flat.reshape(entry["shape"])
    return tensors, metadata


class PooledMobileNetV1(MobileNetV1):
    """The library's MobileNetV1 (defined once, in the fixtures script) with its global average pool."""

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3))


def build_backbone(meta):
    """A backbone that maps images to pooled features [N, C], with the exported file's key names."""
    arch = meta["architecture"]
    small = meta.get("small_input_stem") == "true"
    if arch.startswith("resnet"):
        if meta.get("torchvision_model") != arch:
            raise ValueError(f"{arch} with base width {meta.get('base_width')}: torchvision's ResNets have base width 64")
        model = getattr(torchvision.models, arch)()  # no weights: the file brings them
        model.fc = nn.Identity()
        if small:  # the library's small-input stem: 3x3 stride-1 conv1, no maxpool
            model.conv1 = nn.Conv2d(3, model.conv1.out_channels, 3, 1, 1, bias=False)
            model.maxpool = nn.Identity()
        return model
    if arch == "mobilenetv2":
        model = torchvision.models.mobilenet_v2(width_mult=float(meta["width"]))
        model.classifier = nn.Identity()
        if small:  # the library's small-input stem: stride 1 in the first conv
            model.features[0][0].stride = (1, 1)
        return model
    if arch == "mobilenetv1":
        return PooledMobileNetV1(float(meta["width"]), small)
    raise ValueError(f"no PyTorch definition for architecture '{arch}'")


class EmbeddingModel(nn.Module):
    """The library's EmbeddingNetwork: backbone -> global average pool -> head Linear -> L2 normalise."""

    def __init__(self, backbone, channels, dim, normalize):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(channels, dim)
        self.normalize = normalize

    def forward(self, x):
        e = self.head(self.backbone(x))
        return F.normalize(e, p=2, dim=1, eps=1e-12) if self.normalize else e


def build_model(meta):
    return EmbeddingModel(build_backbone(meta), int(meta["backbone_channels"]), int(meta["embedding_dim"]),
                          meta["normalize"] == "true")


def max_abs_diff(model, state_dict, images, expected):
    model.load_state_dict(state_dict, strict=True)
    model.eval()
    with torch.no_grad():
        actual = model(images)
    if actual.shape != expected.shape:
        raise ValueError(f"output shape {tuple(actual.shape)} vs TorchSharp's {tuple(expected.shape)}")
    return (actual - expected).abs().max().item()


def compare(folder, case):
    io, _ = read_safetensors(os.path.join(folder, case + ".io.safetensors"))
    images, expected = io["input"], io["embedding"]
    st, meta = read_safetensors(os.path.join(folder, case + ".safetensors"))
    pth = torch.load(os.path.join(folder, case + ".pth"), map_location="cpu")
    if sorted(pth) != sorted(st) or any(not torch.equal(pth[k], st[k]) for k in st):
        raise ValueError(".pth and .safetensors hold different tensors")
    scale = expected.abs().max().item()
    d_st = max_abs_diff(build_model(meta), st, images, expected)
    d_pth = max_abs_diff(build_model(meta), pth, images, expected)
    ok = max(d_st, d_pth) <= TOLERANCE
    print(f"{case:30s} {meta['network']:22s} {len(st):4d} tensors  input {tuple(images.shape)}  "
          f"max |PyTorch - TorchSharp|: safetensors {d_st:.2e}, pth {d_pth:.2e}  (max |e| {scale:.3g}, "
          f"tolerance {TOLERANCE:.0e}) {'ok' if ok else 'FAIL'}")
    return ok


def main():
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} FOLDER (written by the PyTorchInteropFiles test)")
    folder = sys.argv[1]
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")
    cases = sorted(os.path.basename(p)[:-len(".io.safetensors")] for p in glob.glob(os.path.join(folder, "*.io.safetensors")))
    if not cases:
        raise SystemExit(f"no *.io.safetensors in {folder}")
    failed = 0
    for case in cases:
        try:
            failed += not compare(folder, case)
        except Exception as e:  # report every case, then fail
            print(f"{case:30s} FAIL: {type(e).__name__}: {e}")
            failed += 1
    print(f"{len(cases) - failed}/{len(cases)} cases match")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
