#!/usr/bin/python3
"""Writes the HDF5 fixtures of package hdf5 with h5py (Debian python3-h5py 3.7, HDF5 1.10).

Run from this folder: /usr/bin/python3 make_fixtures.py

Each <name>.h5 comes with <name>.json, the manifest the Go test checks the reader against:
every dataset and attribute as h5py reads it back (dtype, shape, values). The files cover the
superblock versions 0-3 and what each library version writes: symbol-table groups with
multi-level B-trees, compact and dense links, compact and dense attributes (one of them a huge
heap object), contiguous / compact / chunked data (v1 B-tree, single chunk, implicit and fixed
array indexes, paged and not) with deflate, shuffle and fletcher32, float16/32/64 (both byte
orders), integers, fixed and variable-length strings.
"""
import ctypes
import json

import h5py
import numpy as np


def values(a):
    """Strings as they are; numbers as the shortest decimal that parses back to the same value
    of the array's precision (a string, so that JSON does not round it to float64)."""
    a = np.asarray(a)
    if a.dtype.kind in "SOU":
        return [x.decode() if isinstance(x, bytes) else str(x) for x in a.reshape(-1)]
    if a.dtype.kind == "f" and a.dtype.itemsize == 2:  # half values are exact as float64
        return [repr(float(x)) for x in a.reshape(-1)]
    if a.dtype.kind == "f":
        return [np.format_float_positional(x, unique=True, trim="-") for x in a.reshape(-1)]
    return [str(int(x)) for x in a.reshape(-1)]


def describe(obj):
    """The manifest: path -> {kind, dtype, shape, values, attrs}."""
    out = {}

    def attrs_of(o):
        res = {}
        for k in o.attrs:
            v = o.attrs[k]
            a = np.asarray(v)
            res[k] = {"shape": list(a.shape), "values": values(a)}
        return res

    def visit(name, o):
        p = "/" + name
        if isinstance(o, h5py.Dataset):
            out[p] = {"kind": "dataset", "dtype": o.dtype.str, "shape": list(o.shape),
                      "values": values(o[()]), "attrs": attrs_of(o)}
        else:
            out[p] = {"kind": "group", "members": sorted(o.keys()), "attrs": attrs_of(o)}

    out["/"] = {"kind": "group", "members": sorted(obj.keys()),
                "attrs": attrs_of(obj)}
    obj.visititems(visit)
    return out


def pattern(shape, seed, dtype="f4"):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    v = np.sin(i * 0.7 + seed) * (1 + (i % 7)) / 3
    return v.reshape(shape).astype(dtype)


def compact(group, name, data):
    """A dataset with compact storage (data inside the object header)."""
    space = h5py.h5s.create_simple(data.shape)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    tid = h5py.h5t.py_create(data.dtype)
    ds = h5py.h5d.create(group.id, name.encode(), tid, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def fill(f, many_chunks, dense_attrs, items):
    f.attrs["title"] = "fixture"                       # variable-length string
    f.attrs["version"] = np.int64(-3)
    f.attrs["scale"] = np.array([0.5, -1.25, 3.0])
    f.attrs["names"] = np.array([b"conv1", b"bn_conv1", b"predictions"])  # fixed-length
    f.attrs["vnames"] = np.array(["a", "bb", "ccc"], dtype=h5py.string_dtype())
    w = f.create_group("weights")
    w.create_dataset("conv/kernel:0", data=pattern((3, 3, 4, 8), 1))
    w.create_dataset("dense/bias:0", data=pattern((10,), 2, "f8"))
    w.create_dataset("half", data=pattern((5, 7), 3, "f2"))
    w.create_dataset("big_endian", data=pattern((4, 6), 4, ">f4"))
    w.create_dataset("big_endian64", data=pattern((3,), 5, ">f8"))
    w.create_dataset("ints", data=(np.arange(15).reshape(3, 5) - 7).astype("i2"))
    w.create_dataset("uints", data=np.arange(250, 260, dtype="u2").astype("u1"), dtype="u1")
    w.create_dataset("chunked", data=pattern((37, 23), 6), chunks=(8, 5),
                     compression="gzip", compression_opts=6, shuffle=True)
    w.create_dataset("chunked_plain", data=pattern((20, 20), 7), chunks=(7, 7))
    w.create_dataset("single_chunk", data=pattern((6, 6), 8), chunks=(6, 6), compression="gzip")
    w.create_dataset("fletcher", data=pattern((10, 10), 9), chunks=(5, 5), fletcher32=True)
    w.create_dataset("chunk3d", data=pattern((5, 4, 9), 10, "f8"), chunks=(2, 3, 4),
                     compression="gzip", shuffle=True)
    w.create_dataset("manychunks", data=pattern((many_chunks,), 11), chunks=(1,))
    compact(w, "compact", pattern((2, 3), 12))
    w.create_dataset("scalar", data=np.float64(2.75))
    w.create_dataset("unwritten", shape=(2, 2), dtype="f4")
    w.create_dataset("strings", data=np.array([b"alpha", b"be", b""], dtype="S6"))
    w.create_dataset("vstrings", data=np.array(["x", "yy", "zzz z"], dtype=h5py.string_dtype()))
    w["conv/kernel:0"].attrs["note"] = "kernel"
    many = f.create_group("many")
    for i in range(items):
        many.create_dataset("item_%03d" % i, data=np.int32(i * 3 - 100))
    deep = f.create_group("deep/a/b/c")
    deep.create_dataset("leaf", data=pattern((2, 2), 13))
    a = f.create_group("attrs_group")
    for i in range(20 if dense_attrs else 6):
        a.attrs["attr_%02d" % i] = np.float32(i / 4)
    if dense_attrs:
        # fixed-length (as Keras with h5py 2 wrote model_config): a huge heap object
        a.attrs["model_config"] = np.bytes_(("{\"layers\": [" + ", ".join(
            "{\"name\": \"layer_%d\"}" % i for i in range(300)) + "]}").encode())
        a.attrs["long_vlen"] = "v" * 5000
    f["soft"] = h5py.SoftLink("/weights")


def write(name, many_chunks=100, dense_attrs=False, items=60, fcpl=None, **kw):
    if fcpl is None:
        f = h5py.File(name + ".h5", "w", **kw)
    else:
        fid = h5py.h5f.create(name.encode() + b".h5", h5py.h5f.ACC_TRUNC, fcpl=fcpl)
        f = h5py.File(fid)
    with f:
        fill(f, many_chunks, dense_attrs, items)
    with h5py.File(name + ".h5", "r") as f:
        with open(name + ".json", "w") as out:
            json.dump(describe(f), out, indent=None, sort_keys=True)
            out.write("\n")


def hdf5():
    """The HDF5 library h5py runs on, for the property setters h5py does not wrap."""
    return ctypes.CDLL("libhdf5_serial.so.103")


def write_istore(name):
    """Superblock version 1: a non-default indexed-storage B-tree K, set through the HDF5
    library h5py uses (h5py does not wrap H5Pset_istore_k). A 512-byte user block moves the
    superblock and the base address."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    if hdf5().H5Pset_istore_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(8)) < 0:
        raise SystemExit("H5Pset_istore_k failed")
    fcpl.set_userblock(512)
    write(name, items=20, fcpl=fcpl)


def write_small_k(name):
    """Superblock version 0 with the smallest symbol-table K: multi-level group B-trees."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    if hdf5().H5Pset_sym_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(1), ctypes.c_uint(1)) < 0:
        raise SystemExit("H5Pset_sym_k failed")
    write(name, items=20, fcpl=fcpl)


if __name__ == "__main__":
    write_small_k("earliest")                       # superblock 0, v1 headers, symbol tables
    write_istore("istore")                          # superblock 1
    write("v108", dense_attrs=True, libver=("v108", "v108"))  # superblock 2, v2 headers
    write("latest", many_chunks=1100, dense_attrs=True, libver="latest")  # superblock 3, layout 4
