#!/usr/bin/env python3
"""PyTorch baseline for `bonsai bench`: ResNet training and inference images/second.

The same measurement as `bonsai bench --arch resnet --n_layers 18 --batch 16 --size 64`:
synthetic images in memory, torchvision's resnet with the requested number of classes,
SGD with momentum 0.9 and cross-entropy, one untimed first step (reported), warm-up steps, then
timed steps. Run by hand, not in CI:

    /usr/bin/python3 scripts/bench_torch.py --threads 2 --batch 16 --size 64 --steps 10

(Debian's python3-torch: `apt-get install -y python3-torch python3-torchvision`; a pyenv
python3 on PATH may lack torch, hence /usr/bin/python3.)
"""
import argparse
import platform
import time

import torch
import torchvision


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n_layers", type=int, default=18, choices=[18, 34, 50, 101])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--channels_last", action="store_true", help="NHWC memory format")
    return p.parse_args()


def build(args):
    net = getattr(torchvision.models, f"resnet{args.n_layers}")(num_classes=args.classes)
    if args.channels != 3:
        net.conv1 = torch.nn.Conv2d(args.channels, 64, 7, 2, 3, bias=False)
    net = net.to(args.device)
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


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
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    net = build(args)
    params = sum(p.numel() for p in net.parameters())
    print(f"torch bench: resnet{args.n_layers}, {args.size}x{args.size}x{args.channels}, batch {args.batch}, "
          f"{args.classes} classes, {params / 1e6:.2f}M params, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}, channels_last={args.channels_last}, "
          f"{platform.processor() or platform.machine()}", flush=True)
    x = torch.rand(args.batch, args.channels, args.size, args.size, device=args.device) * 2 - 1
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, args.classes, (args.batch,), device=args.device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    def infer_step():
        with torch.no_grad():
            torch.softmax(net(x), dim=1)

    net.train()
    time_it("train", args, train_step)
    net.eval()
    time_it("infer", args, infer_step)


if __name__ == "__main__":
    main()
