#!/usr/bin/python3
"""Golden values for train/data's copy of Python's random module and the
CelebA split.

Run with Debian's python3:

    cd train/data/testdata && /usr/bin/python3 gen_pyrandom.py

It writes pyrandom.json: for several seeds, the first getrandbits(32) words,
random.shuffle of range(n) for small n in full and for n = 202599 (CelebA's
size) as a SHA-256 of the comma-joined result, and the split of a synthetic
list_attr_celeba.txt (the same text that celeba_test.go builds) into test
and train entries, computed as the StarGAN reference does: rstrip each line,
attribute names from line 1, random.seed(1234), random.shuffle(lines[2:]),
entry i goes to test when i + 1 < 2000, labels in the selected attributes'
order, 1 for '1'.
"""
import hashlib
import json
import random
import sys


def celeba_text(n=2100):
    """A synthetic attribute file in CelebA's layout (count, names, then
    'file  v  v ...' with values right-aligned in two columns)."""
    names = ["5_o_Clock_Shadow", "Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Smiling", "Young"]
    out = [str(n), " ".join(names) + " "]
    for i in range(1, n + 1):
        vals = ["1" if (i * 31 + j * 17) % 7 < 3 else "-1" for j in range(len(names))]
        out.append("%06d.jpg " % i + " ".join("%2s" % v for v in vals))
    return "\n".join(out) + "\n"


def main():
    res = {"python": sys.version.split()[0], "seeds": []}
    for seed in [1234, 0, 1, 42, 2**32 - 1, 2**32 + 7, 2**63 + 5]:
        r = random.Random(seed)
        words = [r.getrandbits(32) for _ in range(5)]
        r = random.Random(seed)
        bits = [r.getrandbits(k) for k in (1, 7, 31, 33, 64)]
        shuffles = {}
        for n in (1, 2, 3, 10, 100) + ((2000,) if seed == 1234 else ()):
            x = list(range(n))
            random.Random(seed).shuffle(x)
            shuffles[str(n)] = x
        x = list(range(202599))
        random.Random(seed).shuffle(x)
        big = hashlib.sha256(",".join(map(str, x)).encode()).hexdigest()
        res["seeds"].append(
            {"seed": str(seed), "words": words, "bits": [str(b) for b in bits], "shuffles": shuffles, "sha256_202599": big, "head_202599": x[:10]}
        )

    # The CelebA split of the synthetic file.
    lines = [line.rstrip() for line in celeba_text().splitlines(True)]
    names = lines[1].split()
    idx = {a: i for i, a in enumerate(names)}
    selected = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    lines = lines[2:]
    random.seed(1234)
    random.shuffle(lines)
    test, train = [], []
    for i, line in enumerate(lines):
        sp = line.split()
        label = "".join("1" if sp[1:][idx[a]] == "1" else "0" for a in selected)
        (test if (i + 1) < 2000 else train).append([sp[0], label])
    res["celeba"] = {"selected": selected, "test": test, "train": train}

    with open("pyrandom.json", "w") as f:
        json.dump(res, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
