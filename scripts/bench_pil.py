#!/usr/bin/python3
"""Reference decode throughput for data/loader's benchmark: PIL decode (+ bilinear resize to
224x224) of the same JPEGs, as TAO's Keras load_img does it.

Usage (from the repository root): /usr/bin/python3 scripts/bench_pil.py [DATA_DIR] [--repeat N]
DATA_DIR defaults to ../shared/data/hymenoptera (train+val, every *.jpg and *.jpeg). Needs Debian's
python3-pil and python3-numpy. Prints one line per configuration: images/s, best of N passes.
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
    start = time.perf_counter()
    if procs == 1:
        for f in files:
            fn(f)
    else:
        with multiprocessing.Pool(procs) as pool:
            start = time.perf_counter()  # do not count the pool start-up
            pool.map(fn, files, chunksize=8)
    return len(files) / (time.perf_counter() - start)


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
            best = max(run(fn, files, procs) for _ in range(args.repeat))
            print(f"{name:20s} processes={procs}: {best:8.1f} images/s")


if __name__ == "__main__":
    main()
