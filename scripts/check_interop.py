"""Check that ganrt's checkpoints load into the reference PyTorch networks.

Run by hand (needs Debian's python3-torch and a built ganrt binary); the Go
tests never run it:

    go build -o /tmp/ganrt ./cmd/ganrt
    /usr/bin/python3 scripts/check_interop.py /tmp/ganrt

For each full-width reference network (CycleGAN resnet_9blocks, resnet_6blocks,
unet_256, basic PatchGAN; StarGAN G with c_dim 5 and D at 128) it saves a
PyTorch state dict, converts it with `ganrt convert` to .safetensors, loads
that file back with load_state_dict(strict=True) into a fresh reference
network, and checks that both networks give the same output. It also loads
the networks of a short `ganrt train cyclegan` run with strict=True.
"""
import collections, importlib.util, json, os, struct, subprocess, sys, tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("gen", os.path.join(HERE, "..", "testdata", "golden", "gen.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

DTYPES = {"F32": ("<f4", torch.float32), "I64": ("<i8", torch.int64)}


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n], object_pairs_hook=collections.OrderedDict)
    header.pop("__metadata__", None)
    out = collections.OrderedDict()
    for k, e in header.items():
        a, b = e["data_offsets"]
        np_dtype, _ = DTYPES[e["dtype"]]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np_dtype).reshape(e["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def check(name, make, inputs, ganrt, tmp):
    torch.manual_seed(0)
    net = make()
    pth = os.path.join(tmp, name + ".pth")
    st = os.path.join(tmp, name + ".safetensors")
    torch.save(net.state_dict(), pth)
    subprocess.run([ganrt, "convert", pth, st], check=True, stdout=subprocess.DEVNULL)
    fresh = make()
    fresh.load_state_dict(read_safetensors(st), strict=True)
    net.train(False)
    fresh.train(False)
    if name.startswith("stargan_G"):
        # StarGAN's instance norms track running statistics; compare in
        # train mode (per-image statistics), as the reference runs them.
        net.train(True)
        fresh.train(True)
    with torch.no_grad():
        a, b = net(*inputs), fresh(*inputs)
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    diff = max(float((x - y).abs().max()) for x, y in zip(a, b))
    print(f"{name}: {len(fresh.state_dict())} entries loaded strictly, max |diff| {diff:.3g}")
    assert diff == 0, name
    return st


def main():
    ganrt = sys.argv[1]
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        x256 = torch.rand(1, 3, 256, 256) * 2 - 1
        x128 = torch.rand(1, 3, 128, 128) * 2 - 1
        c = torch.tensor([[1.0, 0, 0, 1, 0]])
        check("resnet_9blocks", lambda: gen.define_G("resnet", 64, n_blocks=9), (x256,), ganrt, tmp)
        check("resnet_6blocks", lambda: gen.define_G("resnet", 64, n_blocks=6), (x256,), ganrt, tmp)
        check("unet_256", lambda: gen.define_G("unet", 64, num_downs=8), (x256,), ganrt, tmp)
        check("basic_D", lambda: gen.define_D("n_layers", 64, n_layers=3), (x256,), ganrt, tmp)
        check("stargan_G", lambda: gen.Generator(64, 5, 6), (x128, c), ganrt, tmp)
        check("stargan_D", lambda: gen.Discriminator(128, 64, 5, 6), (x128,), ganrt, tmp)

        data, run = os.path.join(tmp, "data"), os.path.join(tmp, "run")
        subprocess.run([ganrt, "data", "synth", "--out", data, "--size", "32", "--n", "4", "--test-n", "1"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([ganrt, "train", "cyclegan", "--data", data, "--out", run, "--netg", "resnet_6blocks", "--ngf", "8",
                        "--ndf", "8", "--load-size", "36", "--crop-size", "32", "--max-iters", "2"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for net, make in [("G_A", lambda: gen.define_G("resnet", 8, n_blocks=6)), ("D_B", lambda: gen.define_D("n_layers", 8, n_layers=3))]:
            m = make()
            m.load_state_dict(read_safetensors(os.path.join(run, f"latest_net_{net}.safetensors")), strict=True)
            print(f"trained {net}: loaded strictly")
    print("ok")


if __name__ == "__main__":
    main()
