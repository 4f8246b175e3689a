"""PyTorch eager inference timing for benchmarks/gpu (run by main.go).

  torch_infer.py NGF SIZE BLOCKS BATCH ITERS [--device DEV] [--half]

Times the CycleGAN reference generator (resnet, NGF, BLOCKS blocks, instance
norm, from testdata/golden/gen.py) in eval mode under torch.no_grad on a
random BATCH x 3 x SIZE x SIZE input already on the device: 5 warm-up runs,
then ITERS measured runs, each ended by torch.cuda.synchronize on CUDA.
--half runs the network and input in float16. Prints one JSON line: the
median milliseconds per run and per image.
"""
import importlib.util, json, os, statistics, sys, time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("gen", os.path.join(HERE, "..", "..", "testdata", "golden", "gen.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


def main():
    argv = sys.argv[1:]
    device, half = torch.device("cpu"), False
    if "--device" in argv:
        i = argv.index("--device")
        device = torch.device(argv[i + 1])
        del argv[i : i + 2]
    if "--half" in argv:
        half = True
        argv.remove("--half")
    ngf, size, blocks, batch, iters = (int(a) for a in argv)
    net = gen.define_G("resnet", ngf, n_blocks=blocks).to(device).eval()
    x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    if half:
        net, x = net.half(), x.half()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    times = []
    with torch.no_grad():
        for i in range(5 + iters):
            sync()
            t = time.perf_counter()
            net(x)
            sync()
            if i >= 5:
                times.append(time.perf_counter() - t)
    ms = 1000 * statistics.median(times)
    print(json.dumps({"ms": ms, "ms_per_image": ms / batch, "device": str(device), "half": half, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
