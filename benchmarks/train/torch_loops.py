"""PyTorch reference training loops for benchmarks/train (run by main.go).

Times the reference implementations' iterations on CPU with the networks of
testdata/golden/gen.py (the reference module structure):
  cyclegan NGF SIZE BLOCKS ITERS: CycleGANModel.optimize_parameters with the
      image pool (50), lsgan, identity 0.5, batch 1, basic D;
  stargan CONV SIZE BATCH CDIM GREP DREP ITERS: solver.train's critic step
      every iteration (with the gradient penalty) and a generator step every
      5th; GREP residual blocks in G (--g_repeat_num), DREP strided convs in
      D (--d_repeat_num).
Prints one JSON line: seconds per iteration (CycleGAN) or per round of
n_critic critic steps and one generator step (StarGAN), after warm-up, the
per-iteration (per-round) times, the peak resident memory of the process,
and the BLAS that torch runs on.

On CPU the BLAS is checked at run time and the run refused unless it is an
optimized one (OpenBLAS, MKL or BLIS): torch.__config__.show() names the
build's BLAS (Debian's torch says BLAS_INFO=generic: it links libblas.so.3,
which the alternatives system points at the reference BLAS or OpenBLAS),
and threadpoolctl names the library actually loaded after a matrix product.
With the reference BLAS (libblas3) torch's Linear/MatMul and some conv
paths run several times slower, so a table made with it flatters ganrt.
Set GANRT_BENCH_ALLOW_REFERENCE_BLAS=1 to time it anyway (the JSON says so).

--device DEV (anywhere in the arguments; default cpu) runs on another torch
device, such as cuda or cuda:1: networks and tensors live there, the timer
waits for the device (torch.cuda.synchronize), and the JSON adds the
device's peak allocated memory (device_peak_mb).
"""
import importlib.util, itertools, json, os, re, resource, sys, time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("gen", os.path.join(HERE, "..", "..", "testdata", "golden", "gen.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)
THREADS = int(os.environ.get("THREADS", "2"))
torch.set_num_threads(THREADS)
DEVICE = torch.device("cpu")

OPTIMIZED_BLAS = ("openblas", "mkl", "blis")


def blas_info():
    """Returns what BLAS torch runs on: the build's BLAS_INFO and the BLAS
    libraries loaded in this process (threadpoolctl), after limiting their
    threads to THREADS. Exits with an error when only a reference BLAS is
    loaded, unless GANRT_BENCH_ALLOW_REFERENCE_BLAS=1."""
    from threadpoolctl import threadpool_info, threadpool_limits

    cfg = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
    build = m.group(1) if m else "unknown"
    a = torch.rand(256, 256)
    (a @ a).sum().item()  # loads the BLAS (libblas.so.3) if torch has not yet
    threadpool_limits(THREADS, user_api="blas")
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    good = [i for i in libs if i.get("internal_api") in OPTIMIZED_BLAS]
    info = {
        "build_blas_info": build,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "loaded": [
            {k: i.get(k) for k in ("internal_api", "version", "filepath", "num_threads", "threading_layer", "architecture")}
            for i in libs
        ],
    }
    if build in OPTIMIZED_BLAS or good:
        lib = good[0] if good else {"internal_api": build, "version": None, "num_threads": None, "threading_layer": None}
        info["blas"] = "%s %s (%s, %s threads)" % (lib["internal_api"], lib.get("version") or "", lib.get("threading_layer") or "", lib.get("num_threads"))
        return info
    info["blas"] = "reference (%s)" % (", ".join(i.get("filepath") or "?" for i in libs) or "libblas.so.3 not loaded")
    if os.environ.get("GANRT_BENCH_ALLOW_REFERENCE_BLAS") == "1":
        info["reference_blas_allowed"] = True
        return info
    sys.exit(
        "torch_loops.py: torch runs on no optimized BLAS (build BLAS_INFO=%s; loaded: %s); "
        "install libopenblas0-pthread (Debian: apt-get install libopenblas0-pthread, which the "
        "libblas.so.3 alternative then points at) or set GANRT_BENCH_ALLOW_REFERENCE_BLAS=1"
        % (build, json.dumps(info["loaded"]))
    )


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cyclegan(ngf, size, blocks, iters):
    GA, GB = gen.define_G("resnet", ngf, n_blocks=blocks).to(DEVICE), gen.define_G("resnet", ngf, n_blocks=blocks).to(DEVICE)
    DA, DB = gen.define_D("n_layers", ngf, n_layers=3).to(DEVICE), gen.define_D("n_layers", ngf, n_layers=3).to(DEVICE)
    optG = torch.optim.Adam(itertools.chain(GA.parameters(), GB.parameters()), lr=2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(itertools.chain(DA.parameters(), DB.parameters()), lr=2e-4, betas=(0.5, 0.999))
    gan = gen.GANLoss("lsgan").to(DEVICE)
    poolA, poolB = gen.ImagePool(50), gen.ImagePool(50)
    l1 = torch.nn.L1Loss()

    def step():
        A = torch.rand(1, 3, size, size, device=DEVICE) * 2 - 1
        B = torch.rand(1, 3, size, size, device=DEVICE) * 2 - 1
        fB = GA(A); rA = GB(fB); fA = GB(B); rB = GA(fA)
        for p in itertools.chain(DA.parameters(), DB.parameters()):
            p.requires_grad = False
        optG.zero_grad()
        iA, iB = GA(B), GB(A)
        lG = (gan(DA(fB), True) + gan(DB(fA), True) + 10 * l1(rA, A) + 10 * l1(rB, B)
              + 5 * l1(iA, B) + 5 * l1(iB, A))
        lG.backward()
        optG.step()
        for p in itertools.chain(DA.parameters(), DB.parameters()):
            p.requires_grad = True
        optD.zero_grad()
        pB, pA = poolB.query(fB), poolA.query(fA)
        lDA = 0.5 * (gan(DA(B), True) + gan(DA(pB.detach()), False))
        lDA.backward()
        lDB = 0.5 * (gan(DB(A), True) + gan(DB(pA.detach()), False))
        lDB.backward()
        optD.step()

    for _ in range(3):
        step()
    per = []
    for _ in range(iters):
        sync()
        t = time.perf_counter()
        step()
        sync()
        per.append(time.perf_counter() - t)
    return per


def stargan(conv, size, batch, cdim, grep, drep, iters):
    G = gen.Generator(conv, cdim, grep).to(DEVICE)
    D = gen.Discriminator(size, conv, cdim, drep).to(DEVICE)
    optG = torch.optim.Adam(G.parameters(), 1e-4, (0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), 1e-4, (0.5, 0.999))

    def cls(logit, target):
        return F.binary_cross_entropy_with_logits(logit, target, reduction="sum") / logit.size(0)

    def it(i):
        x = torch.rand(batch, 3, size, size, device=DEVICE) * 2 - 1
        c_org = (torch.rand(batch, cdim, device=DEVICE) > 0.5).float()
        c_trg = c_org[torch.randperm(batch, device=DEVICE)]
        out_src, out_cls = D(x)
        d_real, d_cls = -out_src.mean(), cls(out_cls, c_org)
        x_fake = G(x, c_trg)
        out_src, _ = D(x_fake.detach())
        d_fake = out_src.mean()
        alpha = torch.rand(batch, 1, 1, 1, device=DEVICE)
        x_hat = (alpha * x.data + (1 - alpha) * x_fake.data).requires_grad_(True)
        out_src, _ = D(x_hat)
        g = torch.autograd.grad(out_src, x_hat, torch.ones_like(out_src), retain_graph=True, create_graph=True, only_inputs=True)[0]
        gp = ((g.view(batch, -1).norm(2, dim=1) - 1) ** 2).mean()
        optD.zero_grad()
        (d_real + d_fake + d_cls + 10 * gp).backward()
        optD.step()
        if (i + 1) % 5 == 0:
            x_fake = G(x, c_trg)
            out_src, out_cls = D(x_fake)
            x_rec = G(x_fake, c_org)
            loss = -out_src.mean() + 10 * (x - x_rec).abs().mean() + cls(out_cls, c_trg)
            optG.zero_grad()
            loss.backward()
            optG.step()

    for i in range(5):
        it(i)
    per = []
    for r in range(1, 1 + iters):
        sync()
        t = time.perf_counter()
        for i in range(5 * r, 5 * r + 5):
            it(i)
        sync()
        per.append(time.perf_counter() - t)
    return per


def main():
    global DEVICE
    argv = sys.argv[1:]
    if "--device" in argv:
        i = argv.index("--device")
        DEVICE = torch.device(argv[i + 1])
        del argv[i : i + 2]
    kind, args = argv[0], [int(a) for a in argv[1:]]
    blas = blas_info() if DEVICE.type == "cpu" else None
    per = cyclegan(*args) if kind == "cyclegan" else stargan(*args)
    med = sorted(per)[len(per) // 2]
    out = {"sec": med, "per": per, "peak_mb": peak_mb(), "torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(DEVICE)}
    if blas is not None:
        out.update(blas)
    if DEVICE.type == "cuda":
        out["device_peak_mb"] = torch.cuda.max_memory_allocated(DEVICE) / 2**20
    print(json.dumps(out))


if __name__ == "__main__":
    main()
