"""PyTorch reference training loops for benchmarks/train (run by main.go).

Times the reference implementations' iterations on CPU with the networks of
testdata/golden/gen.py (the reference module structure):
  cyclegan NGF SIZE BLOCKS ITERS: CycleGANModel.optimize_parameters with the
      image pool (50), lsgan, identity 0.5, batch 1, basic D;
  stargan CONV SIZE BATCH CDIM ITERS: solver.train's critic step every
      iteration (with the gradient penalty) and a generator step every 5th.
Prints one JSON line: seconds per iteration (CycleGAN) or per round of
n_critic critic steps and one generator step (StarGAN), after warm-up, and
the peak resident memory of the process.

--device DEV (anywhere in the arguments; default cpu) runs on another torch
device, such as cuda or cuda:1: networks and tensors live there, the timer
waits for the device (torch.cuda.synchronize), and the JSON adds the
device's peak allocated memory (device_peak_mb).
"""
import importlib.util, itertools, json, os, resource, sys, time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("gen", os.path.join(HERE, "..", "..", "testdata", "golden", "gen.py"))
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
DEVICE = torch.device("cpu")


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
    sync()
    t = time.perf_counter()
    for _ in range(iters):
        step()
    sync()
    return (time.perf_counter() - t) / iters


def stargan(conv, size, batch, cdim, iters):
    G = gen.Generator(conv, cdim, 6).to(DEVICE)
    D = gen.Discriminator(size, conv, cdim, 6).to(DEVICE)
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
    sync()
    t = time.perf_counter()
    for i in range(5, 5 + 5 * iters):
        it(i)
    sync()
    return (time.perf_counter() - t) / iters


def main():
    global DEVICE
    argv = sys.argv[1:]
    if "--device" in argv:
        i = argv.index("--device")
        DEVICE = torch.device(argv[i + 1])
        del argv[i : i + 2]
    kind, args = argv[0], [int(a) for a in argv[1:]]
    sec = cyclegan(*args) if kind == "cyclegan" else stargan(*args)
    out = {"sec": sec, "peak_mb": peak_mb(), "torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(DEVICE)}
    if DEVICE.type == "cuda":
        out["device_peak_mb"] = torch.cuda.max_memory_allocated(DEVICE) / 2**20
    print(json.dumps(out))


if __name__ == "__main__":
    main()
