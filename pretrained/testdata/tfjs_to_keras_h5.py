#!/usr/bin/python3
"""Writes a TensorFlow.js layers model's Keras backbone as a Keras HDF5 model file, with h5py.

Usage: /usr/bin/python3 tfjs_to_keras_h5.py MODEL.JSON OUT.h5 [MODEL_NAME]

It takes the Functional model named MODEL_NAME (default: the first one) out of the TF.js
topology (Teachable Machine wraps Keras Applications' MobileNetV2 in a Sequential), and writes
it as Keras 2's model.save() does: root attributes keras_version, backend and model_config
(the Functional model's JSON), and /model_weights/<layer>/<layer>/<param>:0 datasets listed by
the layer_names and weight_names attributes, in HDF5's earliest format (as Keras writes). Tensors are copied from the weight shards as they
are (float32), so a reader must find them equal to the TF.js loader's.
"""
import json
import os
import sys

import h5py
import numpy as np


def find_model(config, name):
    layers = config["config"]["layers"] if isinstance(config["config"], dict) else config["config"]
    for layer in layers:
        if layer["class_name"] in ("Model", "Functional") and (name is None or layer["config"]["name"] == name):
            return layer
        if layer["class_name"] in ("Model", "Functional", "Sequential"):
            found = find_model(layer, name)
            if found:
                return found
    return None


def read_weights(path, manifest):
    out = {}
    for group in manifest["weightsManifest"]:
        buf = b"".join(open(os.path.join(os.path.dirname(path), p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            assert w["dtype"] == "float32" and "quantization" not in w
            out[w["name"]] = np.frombuffer(buf, dtype="<f4", count=n, offset=off).reshape(w["shape"])
            off += 4 * n
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else None
    manifest = json.load(open(src))
    topology = manifest["modelTopology"]
    topology = topology.get("model_config", topology)
    model = find_model(topology, name)
    if model is None:
        raise SystemExit("no Functional model in " + src)
    weights = read_weights(src, manifest)
    layer_names = [l["config"]["name"] for l in model["config"]["layers"]]
    with h5py.File(dst, "w") as f:
        f.attrs["keras_version"] = np.bytes_(b"2.2.4-tf")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        # a str: a variable-length string in the global heap, as tf.keras writes it (a
        # fixed-length one would exceed the 64 KiB limit of an object header message)
        f.attrs["model_config"] = json.dumps({"class_name": "Model", "config": model["config"]})
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        for layer in layer_names:
            g = mw.create_group(layer)
            names = [k for k in weights if k.split("/")[0] == layer]
            g.attrs["weight_names"] = np.array([(k + ":0").encode() for k in names], dtype="S") \
                if names else np.array([], dtype="S1")
            for k in names:
                g.create_dataset(k + ":0", data=weights[k])
    print("wrote %s: %d layers, %d tensors" % (dst, len(layer_names), sum(1 for _ in weights)))


if __name__ == "__main__":
    main()
