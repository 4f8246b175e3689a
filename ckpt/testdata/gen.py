#!/usr/bin/env python3
"""Generates the fixtures for package ckpt's tests (github.com/ganrt/ganrt/ckpt).

Run it from any directory with Python 3 and PyTorch (written against 1.13):

    python3 ckpt/testdata/gen.py

It (re)writes, next to this script:

  state_zip.pt        a state dict in the zip format (torch.save default since 1.6)
  state_legacy.pt     the same state dict in the legacy non-zip format
  nested_zip.pt       {'state_dict': OrderedDict, plus epoch/arch/... metadata,
                      a torch.Size and a bytes value (_codecs.encode)}
  module_zip.pt       a whole nn.Module (refused: it needs torch.nn classes)
  evil_zip.pt         a pickle whose __reduce__ calls os.system (must be refused)
  evil.pkl            the same object as a bare protocol-2 pickle
  legacy_view.pt      a hand-built legacy file with a storage view (what PyTorch
                      before 1.0 wrote; 1.13 still loads it), checked with torch.load
  ref.safetensors     the state dict's float/int tensors as safetensors, written
                      by an independent writer below (not by the Go code)
  expected.json       names, dtypes, shapes and exact values the Go tests check

The Go tests never run Python; the outputs are committed. Keep them tiny.
"""
import collections
import json
import os
import pickle
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPE = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
    torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}


def state_dict():
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) / 8 - 1
    sd["conv.bias"] = torch.tensor([0.5, -0.25])
    sd["norm.num_batches_tracked"] = torch.tensor(12345678901, dtype=torch.int64)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd["view.transposed"] = base.t()  # stride (1, 4), shares base's storage
    sd["view.sliced"] = base[1:, 1::2]  # storage offset 5, stride (4, 2)
    sd["half"] = torch.tensor([1.0, -2.5, 65504.0, 6e-8, 0.1], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.0, -2.5, 3.140625, 1e30], dtype=torch.bfloat16)
    sd["f64"] = torch.tensor([[0.1, -1e-3]], dtype=torch.float64)
    sd["i32"] = torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 1, 255], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True])
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.full((2,), 0.75))
    return sd


def describe(sd):
    out = []
    for name, t in sd.items():
        t = t.detach()
        vals = t.contiguous().reshape(-1)
        if t.dtype.is_floating_point:
            vals = vals.float().tolist()
        else:
            vals = [int(v) for v in vals.long().tolist()]
        out.append({"name": name, "dtype": DTYPE[t.dtype], "shape": list(t.shape), "values": vals})
    return out


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class _StorageRef:
    """Stands for a storage in a hand-built legacy pickle."""

    def __init__(self, pid):
        self.pid = pid


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class _LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _StorageRef) else None


def write_legacy_view(path):
    """Writes the legacy format by hand, with view metadata on a storage."""
    root = ("storage", torch.FloatStorage, "root", "cpu", 6, None)
    view = ("storage", torch.FloatStorage, "root", "cpu", 6, ("view0", 2, 3))
    obj = collections.OrderedDict()
    obj["whole"] = _TensorRef(_StorageRef(root), 0, (2, 3), (3, 1))
    obj["view"] = _TensorRef(_StorageRef(view), 1, (2,), (1,))  # elements 3, 4 of root
    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        _LegacyPickler(f, protocol=2).dump(obj)
        pickle.dump(["root"], f, protocol=2)
        f.write(struct.pack("<q6f", 6, 0, 1, 2, 3, 4, 5))
    got = torch.load(path)
    assert got["whole"].tolist() == [[0, 1, 2], [3, 4, 5]], got
    assert got["view"].tolist() == [3, 4], got


def write_safetensors(path, sd, metadata):
    """An independent safetensors writer (spec: 8-byte LE header length, JSON, data)."""
    header, blobs, offset = {}, [], 0
    for name, t in sd.items():
        t = t.detach().contiguous()
        # Little-endian bytes of the contiguous tensor (the machine is little-endian).
        raw = bytes(t.reshape(-1).view(torch.uint8).tolist())
        header[name] = {"dtype": DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    torch.manual_seed(0)
    sd = state_dict()
    torch.save(sd, os.path.join(HERE, "state_zip.pt"))
    torch.save(sd, os.path.join(HERE, "state_legacy.pt"), _use_new_zipfile_serialization=False)

    inner = collections.OrderedDict()
    inner["model.1.weight"] = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    inner["model.1.bias"] = torch.tensor([-1.0, 1.0])
    nested = {"state_dict": inner, "epoch": 7, "arch": "unet_256", "lr": 0.0002,
              "betas": (0.5, 0.999), "best": None, "ema": True,
              "size": torch.Size([2, 3]), "blob": b"\x00\xffab"}
    torch.save(nested, os.path.join(HERE, "nested_zip.pt"))

    torch.save(torch.nn.Linear(2, 1), os.path.join(HERE, "module_zip.pt"))
    torch.save(Evil(), os.path.join(HERE, "evil_zip.pt"))
    with open(os.path.join(HERE, "evil.pkl"), "wb") as f:
        pickle.dump(Evil(), f, protocol=2)

    write_legacy_view(os.path.join(HERE, "legacy_view.pt"))

    st = collections.OrderedDict((k, v) for k, v in sd.items() if not k.startswith("view."))
    write_safetensors(os.path.join(HERE, "ref.safetensors"), st, {"format": "pt", "arch": "test"})

    expected = {
        "state": describe(sd),
        "nested": describe(inner),
        "safetensors": describe(st),
    }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        # One tensor per line keeps diffs readable.
        f.write("{\n")
        for i, (key, tensors) in enumerate(expected.items()):
            f.write(" %s: [\n  " % json.dumps(key))
            f.write(",\n  ".join(json.dumps(t) for t in tensors))
            f.write("\n ]%s\n" % ("," if i + 1 < len(expected) else ""))
        f.write("}\n")


if __name__ == "__main__":
    main()
