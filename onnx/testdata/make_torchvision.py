#!/usr/bin/python3
"""Exports a torchvision classifier with seeded random weights to ONNX, with PyTorch's own
outputs on real photos, for the ONNX import test (Debian python3-torch 1.13, torchvision 0.14;
nothing is downloaded).

Usage: /usr/bin/python3 make_torchvision.py MODEL OUT_DIR [SHARED_DATA]

MODEL is resnet18 (torchvision.models.resnet18, 10 classes) or mobilenet_v2
(torchvision.models.mobilenet_v2, width_mult 0.25, 10 classes: small enough to check in).
Weights come from torch.manual_seed(0); batch norms get random running statistics and affine
parameters so that they are not identities. The photos (SHARED_DATA, default ../../../shared/data
beside the repository) are decoded by torchvision, resized to 64x64 (bilinear, antialiased) and
normalised with ImageNet's mean and std.

Writes OUT_DIR/MODEL.onnx (opset 13, dynamic batch) and OUT_DIR/MODEL.io.bin: five int32 (N, C,
H, W, K), the N x C x H x W float32 inputs, then PyTorch's N x K float32 logits (little-endian).
"""
import os
import struct
import sys

import torch
import torch.nn.functional as F
import torchvision

PHOTOS = ["pretrained/samples/dog.jpg", "pretrained/samples/eagle.jpg", "pretrained/samples/horses.jpg"]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def build(name):
    torch.manual_seed(0)
    if name == "resnet18":
        m = torchvision.models.resnet18(num_classes=10)
    elif name == "mobilenet_v2":
        m = torchvision.models.mobilenet_v2(width_mult=0.25, num_classes=10)
    else:
        raise SystemExit("unknown model " + name)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            n = mod.num_features
            mod.running_mean.copy_(torch.randn(n) * 0.1)
            mod.running_var.copy_(torch.rand(n) + 0.5)
            mod.weight.data.copy_(torch.rand(n) + 0.5)
            mod.bias.data.copy_(torch.randn(n) * 0.1)
    return m.eval()


def photos(shared):
    xs = []
    for p in PHOTOS:
        img = torchvision.io.read_image(os.path.join(shared, p), torchvision.io.ImageReadMode.RGB)
        x = img.float().unsqueeze(0) / 255
        x = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False, antialias=True)
        xs.append((x - MEAN) / STD)
    return torch.cat(xs)


def main():
    name, out = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    shared = sys.argv[3] if len(sys.argv) > 3 else os.path.join(here, "..", "..", "..", "shared", "data")
    model = build(name)
    x = photos(shared)
    with torch.no_grad():
        y = model(x)
    os.makedirs(out, exist_ok=True)
    torch.onnx.export(model, x, os.path.join(out, name + ".onnx"), opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    with open(os.path.join(out, name + ".io.bin"), "wb") as f:
        f.write(struct.pack("<5i", *x.shape, y.shape[1]))
        f.write(x.contiguous().numpy().astype("<f4").tobytes())
        f.write(y.contiguous().numpy().astype("<f4").tobytes())
    print("wrote %s.onnx and %s.io.bin: inputs %s, logits %s" % (name, name, tuple(x.shape), tuple(y.shape)))


if __name__ == "__main__":
    main()
