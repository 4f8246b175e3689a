#!/usr/bin/python3
"""Golden values for train/data's PIL-compatible image code.

Run with Debian's python3 + python3-pil (apt-get install -y python3-pil):

    cd train/data/testdata && /usr/bin/python3 gen_pil.py

It writes pil/: deterministic input images, what Pillow's Image.resize gives
for them (BICUBIC and BILINEAR), what Image.convert("L") gives, and small
files in several formats with what Image.open(f).convert("RGB") gives, plus
pil/manifest.json describing each case. The Go tests read these files and
never need Python. Pillow's version is recorded in the manifest.
"""
import json
import os
import random

import PIL
from PIL import Image

OUT = "pil"


def pattern(w, h, seed, mode="RGB"):
    """Smooth gradients, hard edges (to make bicubic overshoot and clip), a
    checkerboard and a small noisy patch, all deterministic."""
    rng = random.Random(seed)
    im = Image.new("RGB", (w, h))
    px = []
    for y in range(h):
        for x in range(w):
            r = (x * 255) // max(w - 1, 1)
            g = (y * 255) // max(h - 1, 1)
            b = ((x + 2 * y) * 7) % 256
            if (x // 5 + y // 7) % 3 == 0:
                r, g, b = 255 - r, 255 - g, b
            if w // 3 <= x < w // 2 and h // 4 <= y < h // 2:
                r, g, b = (255, 255, 255) if (x + y) % 2 else (0, 0, 0)
            if x < 12 and y < 12:
                r, g, b = rng.randrange(256), rng.randrange(256), rng.randrange(256)
            px.append((r, g, b))
    im.putdata(px)
    if mode != "RGB":
        im = im.convert(mode)
    return im


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"pillow": PIL.__version__, "resize": [], "gray": [], "decode": []}

    inputs = {
        "in37x23": pattern(37, 23, 1),
        "in100x80": pattern(100, 80, 2),
        "in256": pattern(256, 256, 3),
        "in50x70": pattern(50, 70, 4),
        "in37x23L": pattern(37, 23, 5, "L"),
        "in300x200": pattern(300, 200, 6),
        "in101x63": pattern(101, 63, 7),
        "in178x218": pattern(178, 218, 8),
    }
    for name, im in inputs.items():
        im.save(os.path.join(OUT, name + ".png"))

    cases = [
        ("up37x23_64x64", "in37x23", 64, 64, "bicubic"),
        ("down100x80_30x20", "in100x80", 30, 20, "bicubic"),
        ("load256_286", "in256", 286, 286, "bicubic"),
        ("mixed50x70_20x90", "in50x70", 20, 90, "bicubic"),
        ("gray37x23_64x64", "in37x23L", 64, 64, "bicubic"),
        ("scalewidth300x200_256x170", "in300x200", 256, 170, "bicubic"),
        ("power4_101x63_100x64", "in101x63", 100, 64, "bicubic"),
        ("width_only100x80_57x80", "in100x80", 57, 80, "bicubic"),
        ("bilinear178_128", "in178x218", 128, 157, "bilinear"),
        ("bilinear37x23_64x64", "in37x23", 64, 64, "bilinear"),
        ("bilinear256_286", "in256", 286, 286, "bilinear"),
        ("bilinear100x80_30x20", "in100x80", 30, 20, "bilinear"),
    ]
    filters = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}
    for name, src, w, h, f in cases:
        out = inputs[src].resize((w, h), filters[f])
        out.save(os.path.join(OUT, name + ".png"))
        manifest["resize"].append(
            {"name": name, "input": src + ".png", "w": w, "h": h, "filter": f, "want": name + ".png"}
        )

    for src in ("in100x80", "in37x23"):
        inputs[src].convert("L").save(os.path.join(OUT, src + "_L.png"))
        manifest["gray"].append({"input": src + ".png", "want": src + "_L.png"})

    # Formats: what Image.open(f).convert("RGB") gives.
    base = pattern(19, 13, 9)
    rgba = base.copy()
    rgba.putalpha(Image.linear_gradient("L").resize((19, 13)))
    gray16 = Image.new("I;16", (19, 13))
    gray16.putdata([(i * 37) % 600 for i in range(19 * 13)])
    files = [
        ("rgb.png", base, {}),
        ("rgba.png", rgba, {}),
        ("gray.png", base.convert("L"), {}),
        ("la.png", rgba.convert("LA"), {}),
        ("palette.png", base.convert("P", palette=Image.ADAPTIVE, colors=16), {}),
        ("gray16.png", gray16, {}),
        ("rgb.bmp", base, {}),
        ("gray.bmp", base.convert("L"), {}),
        ("rgb.ppm", base, {}),
        ("gray.pgm", base.convert("L"), {}),
        ("bw.pbm", base.convert("1"), {}),
        ("rgb.tif", base, {}),
        ("rgb_deflate.tif", base, {"compression": "tiff_adobe_deflate"}),
        # JPEG: Go's decoder differs from libjpeg's slightly (IDCT, chroma
        # upsampling); the test states the measured difference.
        ("rgb420.jpg", pattern(64, 48, 10), {"quality": 90}),
        ("rgb444.jpg", pattern(64, 48, 10), {"quality": 90, "subsampling": 0}),
        ("gray.jpg", pattern(64, 48, 10, "L"), {"quality": 90}),
        ("odd420.jpg", pattern(37, 23, 11), {"quality": 95}),
        ("odd422.jpg", pattern(37, 23, 11), {"quality": 95, "subsampling": 1}),
        ("lossless.webp", pattern(37, 23, 12), {"lossless": True}),
        ("lossy.webp", pattern(64, 48, 12), {"quality": 90}),
        ("odd_lossy.webp", pattern(37, 23, 12), {"quality": 90}),
    ]
    for fname, im, kw in files:
        path = os.path.join(OUT, "fmt_" + fname)
        im.save(path, **kw)
        want = "fmt_" + fname.replace(".", "_") + "_rgb.png"
        Image.open(path).convert("RGB").save(os.path.join(OUT, want))
        manifest["decode"].append({"file": "fmt_" + fname, "want": want})

    # Plain PNM and a maxval other than 255, written by hand.
    hand = {
        "fmt_plain.ppm": b"P3\n# comment\n3 2\n100\n0 50 100  100 0 0  1 2 3\n99 98 97  33 66 99  50 50 50\n",
        "fmt_plain.pbm": b"P1\n4 2\n0101\n1 1 0 0\n",
        "fmt_maxval.pgm": b"P5 3 1 1000\n" + bytes([0, 0, 1, 244, 3, 232]),
        "fmt_maxval.ppm": b"P6\n2 1\n15\n" + bytes([0, 7, 8, 15, 1, 2]),
    }
    for fname, content in hand.items():
        path = os.path.join(OUT, fname)
        with open(path, "wb") as f:
            f.write(content)
        want = fname.replace(".", "_") + "_rgb.png"
        Image.open(path).convert("RGB").save(os.path.join(OUT, want))
        manifest["decode"].append({"file": fname, "want": want})

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
