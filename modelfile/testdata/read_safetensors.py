#!/usr/bin/env python3
"""Cross-check of Bonsai's model file layout with a hand-written safetensors reader.

Uses only json, struct and numpy (Debian has no safetensors package). Not run by the Go tests;
run by hand:  python3 modelfile/testdata/read_safetensors.py FILE.safetensors
Prints each tensor's name, shape and float64 sum, then the metadata keys and the graph summary.
"""
import json
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    spans = []
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        spans.append((begin, end))
        arr = np.frombuffer(body[begin:end], dtype="<f4").reshape(info["shape"])
        tensors[name] = arr
    # The reference implementation requires contiguous tensors covering the whole data.
    spans.sort()
    pos = 0
    for begin, end in spans:
        assert begin == pos, ("hole or overlap at", begin, pos)
        pos = end
    assert pos == len(body), ("data has trailing bytes", pos, len(body))
    assert (8 + n) % 8 == 0, "data not 8-byte aligned"
    return tensors, meta


def main():
    tensors, meta = read(sys.argv[1])
    for name in sorted(tensors):
        t = tensors[name]
        with np.errstate(invalid="ignore"):
            print(f"{name} {list(t.shape)} {float(np.sum(t.astype(np.float64))):.9g}")
    print("metadata:", sorted(meta))
    graph = json.loads(meta["graph"])
    print("graph:", graph["arch"], graph["n_layers"], len(graph["layers"]), "layers, output", graph["output"])
    print("classmap:", json.loads(meta["classmap"]))
    print("preprocessing:", json.loads(meta["preprocessing"]))
    print("epoch:", meta["epoch"])


if __name__ == "__main__":
    main()
