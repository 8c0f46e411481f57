"""Writes the PyTorch reference fixtures of the Networks tests.

Run with Debian's PyTorch (1.13):  /usr/bin/python3 make_fixtures.py
torchvision is not needed: the script defines the torchvision-layout ResNet-18 (base width 8) and our
MobileNetV1-0.25 layout itself (same module names, so the state-dict keys are those the C# code expects).

Writes:
  resnet18_w8.pth                 state dict of ResNet-18, base width 8, no fc (torch.save zip format)
  resnet18_w8_io.pth              {"input": [2,3,32,32], "features": layer4 map, "pooled": GAP of it} (eval mode)
  mobilenetv1_025.safetensors     state dict of MobileNetV1-0.25 (safetensors written by hand)
  mobilenetv1_025_io.pth          {"input", "features", "pooled"} (eval mode)
BatchNorm affine parameters and running statistics are randomised so that eval-mode outputs depend on them.
"""
import json
import os
import struct

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + identity)


class ResNet18(nn.Module):
    """torchvision.models.resnet18 layout with a configurable base width and without fc."""

    def __init__(self, base):
        super().__init__()
        self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = base
        for i in range(4):
            planes = base << i
            blocks = []
            for b in range(2):
                stride = 2 if (i > 0 and b == 0) else 1
                down = None
                if stride != 1 or inplanes != planes:
                    down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
                blocks.append(BasicBlock(inplanes, planes, stride, down))
                inplanes = planes
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def conv_bn_relu(cin, cout, k, stride, groups):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


class DepthwiseSeparable(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.dw = conv_bn_relu(cin, cin, 3, stride, cin)
        self.pw = conv_bn_relu(cin, cout, 1, 1, 1)

    def forward(self, x):
        return self.pw(self.dw(x))


class MobileNetV1(nn.Module):
    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
              (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, width, small_input_stem=False):
        super().__init__()
        c = make_divisible(32 * width)
        layers = [conv_bn_relu(3, c, 3, 1 if small_input_stem else 2, 1)]
        for out, s in self.BLOCKS:
            oc = make_divisible(out * width)
            layers.append(DepthwiseSeparable(c, oc, s))
            c = oc
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x)


def randomise_bn(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1 + 0.2 * torch.randn(n, generator=gen))
                m.bias.copy_(0.1 * torch.randn(n, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(n, generator=gen))
                m.num_batches_tracked.fill_(7)


def save_safetensors(state, path):
    """The safetensors format: u64 little-endian header size, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    dtypes = {torch.float32: "F32", torch.int64: "I64"}
    for key, t in state.items():
        t = t.contiguous().cpu()
        data = t.numpy().tobytes()
        header[key] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # align the data to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def reference(model, gen, name):
    model.eval()
    x = torch.randn(2, 3, 32, 32, generator=gen)
    with torch.no_grad():
        f = model(x)
    torch.save({"input": x, "features": f, "pooled": f.mean(dim=(2, 3))}, os.path.join(HERE, name))


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)

    resnet = ResNet18(8)
    randomise_bn(resnet, gen)
    torch.save(resnet.state_dict(), os.path.join(HERE, "resnet18_w8.pth"))
    reference(resnet, gen, "resnet18_w8_io.pth")

    mobilenet = MobileNetV1(0.25)
    randomise_bn(mobilenet, gen)
    save_safetensors(mobilenet.state_dict(), os.path.join(HERE, "mobilenetv1_025.safetensors"))
    reference(mobilenet, gen, "mobilenetv1_025_io.pth")


if __name__ == "__main__":
    main()
