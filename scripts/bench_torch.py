#!/usr/bin/env python3
"""PyTorch baseline for `bonsai bench`: training and inference images/second of one architecture.

The same measurement as `bonsai bench --arch resnet --n_layers 18 --batch 16 --size 64`:
synthetic images in memory, a torch model of the same family with the requested number of
classes, SGD with momentum 0.9 and cross-entropy, one untimed first step (reported), warm-up
steps, then timed steps. Run by hand or by scripts/bench_cpu.sh, not in CI:

    /usr/bin/python3 scripts/bench_torch.py --threads 2 --batch 16 --size 64 --steps 10
    /usr/bin/python3 scripts/bench_torch.py --arch mobilenet_v2 --batch 8 --size 224 --no_train

Architectures (--arch, with --n_layers for resnet, darknet and vgg as in bonsai):
  resnet 18/34/50/101   torchvision resnet
  mobilenet_v2          torchvision mobilenet_v2
  efficientnet_b0       torchvision efficientnet_b0
  vgg 16                torchvision vgg16_bn's convolutions with TAO's head (global average pool
                        and one dense layer, instead of torchvision's 4096-wide dense layers)
  darknet 53            DarkNet-53 (YOLOv3's backbone) written here: conv-BN-leaky ReLU 0.1,
                        residual stages of 1, 2, 8, 8, 4 blocks, global average pool, dense
The header line gives the model's multiply-adds per image (convolutions and dense layers, as
`bonsai model summary` counts them), for FLOP-normalised comparisons.

(Debian's python3-torch: `apt-get install -y python3-torch python3-torchvision`; a pyenv
python3 on PATH may lack torch, hence /usr/bin/python3.)
"""
import argparse
import platform
import time

import torch
import torchvision
from torch import nn


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="resnet", choices=["resnet", "mobilenet_v2", "efficientnet_b0", "vgg", "darknet"])
    p.add_argument("--n_layers", type=int, default=0, help="depth (resnet: 18 by default, vgg 16, darknet 53)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--channels_last", action="store_true", help="NHWC memory format")
    p.add_argument("--amp", choices=["none", "bf16"], default="none",
                   help="bf16: torch.autocast(bfloat16) around the forward pass and the loss, as mixed precision")
    p.add_argument("--cudnn_benchmark", action="store_true", help="torch.backends.cudnn.benchmark = True")
    p.add_argument("--no_train", dest="train", action="store_false", help="measure inference only")
    p.add_argument("--no_infer", dest="infer", action="store_false", help="measure training only")
    return p.parse_args()


def conv_bn_leaky(cin, cout, k, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.LeakyReLU(0.1, inplace=True))


class DarkResidual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(conv_bn_leaky(c, c // 2, 1), conv_bn_leaky(c // 2, c, 3))

    def forward(self, x):
        return x + self.body(x)


def darknet53(channels, classes):
    layers = [conv_bn_leaky(channels, 32, 3)]
    c = 32
    for blocks in (1, 2, 8, 8, 4):
        layers.append(conv_bn_leaky(c, 2 * c, 3, 2))
        c *= 2
        layers += [DarkResidual(c) for _ in range(blocks)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


def vgg_tao_head(n_layers, channels, classes):
    features = getattr(torchvision.models, f"vgg{n_layers}_bn")().features
    if channels != 3:
        features[0] = nn.Conv2d(channels, 64, 3, padding=1)
    return nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))


def build(args):
    if args.arch == "resnet":
        net = getattr(torchvision.models, f"resnet{args.n_layers}")(num_classes=args.classes)
        if args.channels != 3:
            net.conv1 = nn.Conv2d(args.channels, 64, 7, 2, 3, bias=False)
    elif args.arch == "darknet":
        if args.n_layers != 53:
            raise SystemExit("darknet: only --n_layers 53")
        net = darknet53(args.channels, args.classes)
    elif args.arch == "vgg":
        net = vgg_tao_head(args.n_layers, args.channels, args.classes)
    else:
        net = getattr(torchvision.models, args.arch)(num_classes=args.classes)
        if args.channels != 3:
            raise SystemExit(f"{args.arch}: only 3 channels")
    net = net.to(args.device)
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


def count_macs(net, x):
    """Multiply-adds per image of the convolutions and dense layers for input x."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    net.eval()
    with torch.no_grad():
        net(x[:1])
    for h in handles:
        h.remove()
    return total[0]


def device_name(args):
    if args.device.startswith("cuda"):
        return f"{args.device} ({torch.cuda.get_device_name()})"
    return args.device


def sync(args):
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()


def time_it(name, args, fn):
    start = time.perf_counter()
    fn()
    sync(args)
    first = time.perf_counter() - start
    for _ in range(args.warmup):
        fn()
    sync(args)
    start, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        fn()
    sync(args)
    d, cpu = time.perf_counter() - start, time.process_time() - cpu0
    imgs = args.steps * args.batch
    print(f"{name}: first step {first:.2f} s; {args.steps} steps in {d:.2f} s: "
          f"{imgs / d:.1f} img/s ({d * 1000 / args.steps:.1f} ms/step); {imgs / cpu:.1f} img per CPU-second",
          flush=True)


def main():
    args = parse_args()
    if args.n_layers == 0:
        args.n_layers = {"resnet": 18, "vgg": 16, "darknet": 53}.get(args.arch, 0)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.manual_seed(1)
    net = build(args)
    params = sum(p.numel() for p in net.parameters())
    x = torch.rand(args.batch, args.channels, args.size, args.size, device=args.device) * 2 - 1
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    macs = count_macs(net, x)
    name = args.arch + (str(args.n_layers) if args.arch in ("resnet", "vgg", "darknet") else "")
    print(f"torch bench: {name}, {args.size}x{args.size}x{args.channels}, batch {args.batch}, "
          f"{args.classes} classes, {params / 1e6:.2f}M params, {macs} MACs per image, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {device_name(args)}, channels_last={args.channels_last}, "
          f"amp={args.amp}, cudnn.benchmark={args.cudnn_benchmark}, "
          f"{platform.processor() or platform.machine()}", flush=True)
    y = torch.randint(0, args.classes, (args.batch,), device=args.device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def autocast():
        return torch.autocast(device_type=args.device.split(":")[0], dtype=torch.bfloat16, enabled=args.amp == "bf16")

    def train_step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    def infer_step():
        with torch.no_grad(), autocast():
            torch.softmax(net(x), dim=1)

    if args.train:
        net.train()
        time_it("train", args, train_step)
    if args.infer:
        net.eval()
        time_it("infer", args, infer_step)


if __name__ == "__main__":
    main()
