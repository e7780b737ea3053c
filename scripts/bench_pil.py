#!/usr/bin/python3
"""Reference decode throughput for data/loader's benchmark: PIL decode (+ bilinear resize to
224x224) of the same JPEGs, as TAO's Keras load_img does it.

Usage (from the repository root): /usr/bin/python3 scripts/bench_pil.py [DATA_DIR] [--repeat N]
DATA_DIR defaults to ../shared/data/hymenoptera (train+val, every *.jpg and *.jpeg). Needs Debian's
python3-pil and python3-numpy. Prints one line per configuration, best of N passes: images per
wall-clock second, and images per CPU second (steadier on a shared machine; with 2 processes the
CPU time of the pool's workers, including their start-up).
"""
import argparse
import glob
import multiprocessing
import os
import sys
import time

import numpy as np
import PIL
from PIL import Image


def decode(path):
    with Image.open(path) as im:
        return im.convert("RGB")


def decode_resize(path):
    return np.asarray(decode(path).resize((224, 224), Image.BILINEAR), dtype=np.uint8)


def decode_only(path):
    return np.asarray(decode(path), dtype=np.uint8)


def run(fn, files, procs):
    """Returns (images per wall second, images per CPU second) for one pass."""
    if procs == 1:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for f in files:
            fn(f)
        return len(files) / (time.perf_counter() - wall0), len(files) / (time.process_time() - cpu0)
    pool = multiprocessing.Pool(procs)
    pool.map(abs, range(procs))  # start the workers before timing
    t0 = os.times()
    wall0 = time.perf_counter()
    pool.map(fn, files, chunksize=8)
    wall = time.perf_counter() - wall0
    pool.close()
    pool.join()  # reaped children report their CPU time in os.times()
    t1 = os.times()
    cpu = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
    return len(files) / wall, len(files) / cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=os.path.join("..", "shared", "data", "hymenoptera"))
    parser.add_argument("--repeat", type=int, default=3, help="passes per configuration (best is kept)")
    args = parser.parse_args()
    files = sorted(f for ext in ("jpg", "jpeg")
                   for f in glob.glob(os.path.join(args.data_dir, "**", "*." + ext), recursive=True))
    if not files:
        sys.exit(f"no JPEGs under {args.data_dir}")
    for f in files:  # warm the page cache
        with open(f, "rb") as fh:
            fh.read()
    print(f"PIL {PIL.__version__}, numpy {np.__version__}, {len(files)} JPEGs under {args.data_dir}")
    for name, fn in [("decode+bilinear-224", decode_resize), ("decode-only", decode_only)]:
        for procs in (1, 2):
            runs = [run(fn, files, procs) for _ in range(args.repeat)]
            wall, cpu = max(r[0] for r in runs), max(r[1] for r in runs)
            print(f"{name:20s} processes={procs}: {wall:8.1f} images/s {cpu:8.1f} images/cpu-s")


if __name__ == "__main__":
    main()
