#!/usr/bin/python3
"""Writes tao_resnet18.hdf5: a Keras HDF5 model file laid out as TAO's classification models
are (Keras 2.2.4, channels_first, TAO's layer names), with h5py.

Run from this folder: /usr/bin/python3 make_tao_resnet18.py

The architecture is TAO's ResNet-18 template (core/templates/resnet.py with utils.CNNBlock,
use_pooling False, use_bias False, batch norm on, 1x1 projection shortcut on the first
subblock of each stage) and TAO's head (AveragePooling2D over the whole map named avg_pool,
Flatten, Dense 'predictions' with softmax), for 3x224x224 inputs and 5 classes.

Weights follow a formula the Go test recomputes: for a tensor with seed s and flat index i,
((i * 7919 + s * 104729) mod 251 - 125) / 16384 (float32; moving variances take the absolute
value plus 0.5). The period of 251 values keeps the gzip-compressed file small.
"""
import json

import h5py
import numpy as np

CLASSES = 5


SEEDS = {}  # "layer/param" -> [seed, positive], for the Go test


def weights(shape, seed, positive=False):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    v = ((i * 7919 + seed * 104729) % 251 - 125).astype(np.float64) / 16384
    if positive:
        v = np.abs(v) + 0.5
    return v.astype(np.float32).reshape(shape)


class Builder:
    def __init__(self):
        self.layers = []
        self.params = []  # (layer, [(param, array)])
        self.counts = {}
        self.seed = 0

    def auto(self, base):
        self.counts[base] = self.counts.get(base, 0) + 1
        return "%s_%d" % (base, self.counts[base])

    def add(self, cls, name, config, inputs, params=()):
        config = dict(config, name=name, trainable=True)
        self.layers.append({"name": name, "class_name": cls, "config": config,
                            "inbound_nodes": [[[i, 0, 0, {}] for i in inputs]] if inputs else []})
        if params:
            self.params.append((name, list(params)))
        return name

    def conv(self, name, x, filters, kernel, stride, padding):
        self.seed += 1
        k = weights((kernel, kernel, self.channels[x], filters), self.seed)
        out = self.add("Conv2D", name, {
            "filters": filters, "kernel_size": [kernel, kernel], "strides": [stride, stride],
            "padding": padding, "data_format": "channels_first", "dilation_rate": [1, 1],
            "activation": "linear", "use_bias": False}, [x], [("kernel", k)])
        SEEDS[name + "/kernel"] = [self.seed, False]
        self.channels[out] = filters
        return out

    def bn(self, name, x):
        c = self.channels[x]
        self.seed += 1
        s = self.seed * 4
        out = self.add("BatchNormalization", name, {
            "axis": 1, "momentum": 0.99, "epsilon": 1e-3, "center": True, "scale": True}, [x],
            [("gamma", weights((c,), s)), ("beta", weights((c,), s + 1)),
             ("moving_mean", weights((c,), s + 2)), ("moving_variance", weights((c,), s + 3, True))])
        for i, p in enumerate(["gamma", "beta", "moving_mean", "moving_variance"]):
            SEEDS[name + "/" + p] = [s + i, p == "moving_variance"]
        self.channels[out] = c
        return out

    def relu(self, name, x):
        out = self.add("Activation", name, {"activation": "relu"}, [x])
        self.channels[out] = self.channels[x]
        return out


def build():
    b = Builder()
    b.channels = {"input_1": 3}
    b.add("InputLayer", "input_1", {"batch_input_shape": [None, 3, 224, 224], "dtype": "float32",
                                     "sparse": False}, [])
    x = b.conv("conv1", "input_1", 64, 7, 2, "same")
    x = b.bn("bn_conv1", x)
    x = b.relu(b.auto("activation"), x)
    for stage in range(4):
        width = 64 << stage
        stride = 2 if stage < 3 else 1  # no pooling: strides 2, 2, 2, 1
        for sub in range(2):
            prefix = "block_%d%s_" % (stage + 1, "ab"[sub])
            s = stride if sub == 0 else 1
            y = b.conv(prefix + "conv_1", x, width, 3, s, "same")
            y = b.bn(prefix + "bn_1", y)
            y = b.relu(prefix + "relu_1", y)
            y = b.conv(prefix + "conv_2", y, width, 3, 1, "same")
            y = b.bn(prefix + "bn_2", y)
            short = x
            if sub == 0:
                short = b.conv(prefix + "conv_shortcut", x, width, 1, s, "valid")
                short = b.bn(prefix + "bn_shortcut", short)
            add = b.add("Add", b.auto("add"), {}, [y, short])
            b.channels[add] = width
            x = b.relu(prefix + "relu", add)
    x = b.add("AveragePooling2D", "avg_pool", {"pool_size": [14, 14], "strides": [14, 14],
                                               "padding": "valid", "data_format": "channels_first"}, [x])
    x = b.add("Flatten", "flatten", {"data_format": "channels_first"}, [x])
    b.seed += 1
    b.add("Dense", "predictions", {"units": CLASSES, "activation": "softmax", "use_bias": True}, [x],
          [("kernel", weights((512, CLASSES), b.seed)), ("bias", weights((CLASSES,), b.seed + 1))])
    SEEDS["predictions/kernel"], SEEDS["predictions/bias"] = [b.seed, False], [b.seed + 1, False]
    config = {"class_name": "Model", "config": {
        "name": "resnet18", "layers": b.layers,
        "input_layers": [["input_1", 0, 0]], "output_layers": [["predictions", 0, 0]]}}
    return config, b


def main():
    config, b = build()
    # libver "latest": a whole-tensor chunk needs no B-tree (single-chunk index), which keeps
    # the file small; the layout of groups and attributes is Keras'.
    with h5py.File("tao_resnet18.hdf5", "w", libver="latest") as f:
        f.attrs["keras_version"] = np.bytes_(b"2.2.4")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["model_config"] = np.bytes_(json.dumps(config).encode())
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([l["name"].encode() for l in b.layers])
        mw.attrs["backend"] = np.bytes_(b"tensorflow")
        mw.attrs["keras_version"] = np.bytes_(b"2.2.4")
        params = dict(b.params)
        for layer in b.layers:
            name = layer["name"]
            g = mw.create_group(name)
            names = [("%s/%s:0" % (name, p)).encode() for p, _ in params.get(name, [])]
            g.attrs["weight_names"] = np.array(names, dtype="S") if names else np.array([], dtype="S1")
            for p, a in params.get(name, []):
                if a.size < 4096:
                    g.create_dataset("%s/%s:0" % (name, p), data=a)
                    continue
                g.create_dataset("%s/%s:0" % (name, p), data=a, compression="gzip", compression_opts=9,
                                 shuffle=True, chunks=a.shape)
    with open("tao_resnet18.json", "w") as out:
        json.dump(SEEDS, out, sort_keys=True)
        out.write("\n")
    print("wrote tao_resnet18.hdf5 and tao_resnet18.json")


if __name__ == "__main__":
    main()
