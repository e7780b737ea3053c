#!/usr/bin/env python3
"""Write a synthetic, learnable JPEG dataset in Bonsai's folder-per-class layout.

    OUT/train/<class>/*.jpg and OUT/val/<class>/*.jpg

Class c is a filled shape (circle, square, triangle, bar, ring, cross, ...) in a colour of its own
on a noisy background, at a random place and size, so that a small CNN learns it in a few
epochs while the images stay photo-sized JPEGs to decode. Deterministic for a seed and PIL
version. Used by scripts/bench_gpu.sh (end-to-end throughput and the CPU vs GPU accuracy check).

    python3 scripts/make_jpegs.py --out /tmp/jpegs --classes 10 --train 256 --val 32 --size 256
"""
import argparse
import os
import random
from multiprocessing import Pool

from PIL import Image, ImageDraw, ImageFilter

SHAPES = ["circle", "square", "triangle", "hbar", "vbar", "ring", "cross", "diamond"]
COLOURS = [(220, 60, 60), (60, 180, 75), (60, 90, 220), (230, 200, 40), (160, 60, 200),
           (40, 200, 200), (240, 130, 40), (240, 100, 180), (120, 120, 120), (150, 100, 50)]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--train", type=int, default=100, help="training images per class")
    p.add_argument("--val", type=int, default=20, help="validation images per class")
    p.add_argument("--size", type=int, default=256, help="image width and height")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    return p.parse_args()


def draw_shape(d, kind, box, colour):
    x0, y0, x1, y1 = box
    cx, cy, w = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0
    if kind == "circle":
        d.ellipse(box, fill=colour)
    elif kind == "square":
        d.rectangle(box, fill=colour)
    elif kind == "triangle":
        d.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=colour)
    elif kind == "hbar":
        d.rectangle((x0, cy - w / 6, x1, cy + w / 6), fill=colour)
    elif kind == "vbar":
        d.rectangle((cx - w / 6, y0, cx + w / 6, y1), fill=colour)
    elif kind == "ring":
        d.ellipse(box, outline=colour, width=max(2, int(w / 8)))
    elif kind == "cross":
        d.rectangle((x0, cy - w / 8, x1, cy + w / 8), fill=colour)
        d.rectangle((cx - w / 8, y0, cx + w / 8, y1), fill=colour)
    else:  # diamond
        d.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=colour)


def make(job):
    path, cls, size, seed = job
    rng = random.Random(seed)
    bg = tuple(rng.randint(40, 200) for _ in range(3))
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    for _ in range(6):  # clutter
        x, y = rng.randint(0, size), rng.randint(0, size)
        r = rng.randint(size // 20, size // 8)
        d.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randint(0, 255) for _ in range(3)))
    w = rng.randint(size * 2 // 5, size * 3 // 4)
    x0, y0 = rng.randint(0, size - w), rng.randint(0, size - w)
    draw_shape(d, SHAPES[cls % len(SHAPES)], (x0, y0, x0 + w, y0 + w), COLOURS[cls % len(COLOURS)])
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    img.save(path, quality=90)


def main():
    a = parse_args()
    jobs = []
    for s, (split, n) in enumerate((("train", a.train), ("val", a.val))):
        for c in range(a.classes):
            folder = os.path.join(a.out, split, f"class_{c:02d}")
            os.makedirs(folder, exist_ok=True)
            for i in range(n):
                seed = ((a.seed * 2 + s) * 1000 + c) * 1000003 + i
                jobs.append((os.path.join(folder, f"{i:05d}.jpg"), c, a.size, seed))
    with Pool(max(1, a.jobs)) as pool:
        pool.map(make, jobs, chunksize=64)
    print(f"wrote {len(jobs)} JPEGs ({a.classes} classes, {a.size}x{a.size}) under {a.out}")


if __name__ == "__main__":
    main()
