"""Reads TensorBoard event files with python3-protobuf and python3-crc32c, independently of
Bonsai's Go encoder, and prints every event as JSON on one line each.

The message types are declared here from TensorFlow's event.proto and summary.proto (only the
fields Bonsai writes), built at run time with descriptor_pb2; the TFRecord framing is checked
with crc32c: every length and data CRC must match, or the script exits with status 1.

Usage: read_events.py FILE
"""
import base64
import hashlib
import json
import struct
import sys

import crc32c
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def add_message(fdp, name, fields):
    m = fdp.message_type.add(name=name)
    for fname, number, ftype, label, type_name in fields:
        f = m.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name
    return m


def build_classes():
    fdp = descriptor_pb2.FileDescriptorProto(name="tb_subset.proto", package="tb", syntax="proto3")
    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    add_message(fdp, "HistogramProto", [
        ("min", 1, F.TYPE_DOUBLE, opt, None), ("max", 2, F.TYPE_DOUBLE, opt, None),
        ("num", 3, F.TYPE_DOUBLE, opt, None), ("sum", 4, F.TYPE_DOUBLE, opt, None),
        ("sum_squares", 5, F.TYPE_DOUBLE, opt, None),
        ("bucket_limit", 6, F.TYPE_DOUBLE, rep, None), ("bucket", 7, F.TYPE_DOUBLE, rep, None)])
    add_message(fdp, "Image", [
        ("height", 1, F.TYPE_INT32, opt, None), ("width", 2, F.TYPE_INT32, opt, None),
        ("colorspace", 3, F.TYPE_INT32, opt, None), ("encoded_image_string", 4, F.TYPE_BYTES, opt, None)])
    add_message(fdp, "Value", [
        ("tag", 1, F.TYPE_STRING, opt, None), ("simple_value", 2, F.TYPE_FLOAT, opt, None),
        ("image", 4, F.TYPE_MESSAGE, opt, ".tb.Image"), ("histo", 5, F.TYPE_MESSAGE, opt, ".tb.HistogramProto")])
    add_message(fdp, "Summary", [("value", 1, F.TYPE_MESSAGE, rep, ".tb.Value")])
    add_message(fdp, "Event", [
        ("wall_time", 1, F.TYPE_DOUBLE, opt, None), ("step", 2, F.TYPE_INT64, opt, None),
        ("file_version", 3, F.TYPE_STRING, opt, None), ("summary", 5, F.TYPE_MESSAGE, opt, ".tb.Summary")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("tb.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def masked_crc(data):
    c = crc32c.crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(raw):
    pos = 0
    while pos < len(raw):
        head = raw[pos:pos + 12]
        if len(head) < 12:
            sys.exit("truncated record header at byte %d" % pos)
        (length,) = struct.unpack("<Q", head[:8])
        (len_crc,) = struct.unpack("<I", head[8:])
        if masked_crc(head[:8]) != len_crc:
            sys.exit("bad length CRC at byte %d" % pos)
        data = raw[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])
        if masked_crc(data) != data_crc:
            sys.exit("bad data CRC at byte %d" % pos)
        yield data
        pos += 16 + length


def main():
    Event = build_classes()
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    for data in records(raw):
        ev = Event()
        ev.ParseFromString(data)
        out = {"wall_time": ev.wall_time, "step": ev.step}
        if ev.file_version:
            out["file_version"] = ev.file_version
        values = []
        for v in ev.summary.value:
            item = {"tag": v.tag}
            if v.HasField("image"):
                png = v.image.encoded_image_string
                item["image"] = {"height": v.image.height, "width": v.image.width,
                                 "colorspace": v.image.colorspace, "png_sha256": hashlib.sha256(png).hexdigest(),
                                 "png_magic": base64.b64encode(png[:8]).decode()}
            elif v.HasField("histo"):
                h = v.histo
                item["histo"] = {"min": h.min, "max": h.max, "num": h.num, "sum": h.sum,
                                 "sum_squares": h.sum_squares, "bucket_limit": list(h.bucket_limit),
                                 "bucket": list(h.bucket)}
            else:
                item["simple_value"] = v.simple_value
            values.append(item)
        if values:
            out["values"] = values
        print(json.dumps(out))


main()
