"""Compares resizecmp's results with Pillow's BICUBIC resize (the CycleGAN
reference's test-time resize): PSNR and largest difference per case and
resizer. Needs Debian's python3-pil and python3-numpy; run with
/usr/bin/python3 pil_compare.py OUTDIR."""
import glob
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1] if len(sys.argv) > 1 else "resizecmp-out"
for src in sorted(glob.glob(os.path.join(out, "*.src.png"))):
    name = os.path.basename(src)[: -len(".src.png")]
    got0 = Image.open(os.path.join(out, name + ".xdraw.png"))
    ref = np.asarray(Image.open(src).convert("RGB").resize(got0.size, Image.BICUBIC), dtype=np.float64)
    for lib in ("nfnt", "xdraw", "ganrt"):
        got = np.asarray(Image.open(os.path.join(out, f"{name}.{lib}.png")).convert("RGB"), dtype=np.float64)
        mse = np.mean((ref - got) ** 2)
        psnr = "   inf" if mse == 0 else f"{10 * np.log10(255**2 / mse):6.2f}"
        print(f"{name:16s} {lib:6s} PSNR vs Pillow BICUBIC {psnr} dB, max |diff| {int(np.abs(ref - got).max())}")
