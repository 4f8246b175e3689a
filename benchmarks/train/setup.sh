#!/usr/bin/env bash
# Installs what benchmarks/train needs on Debian 12: PyTorch, OpenBLAS (the
# libblas.so.3 alternative that Debian's torch then loads instead of the
# reference BLAS) and threadpoolctl (which torch_loops.py uses to check the
# BLAS at run time), then prints the BLAS torch runs on.
set -euo pipefail
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get install -y python3-torch libopenblas0-pthread python3-threadpoolctl
/usr/bin/python3 - <<'PY'
import torch
from threadpoolctl import threadpool_info
(torch.rand(64, 64) @ torch.rand(64, 64)).sum().item()
blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
print("torch", torch.__version__, "BLAS:", [(i["internal_api"], i.get("version"), i["filepath"]) for i in blas])
if not any(i["internal_api"] in ("openblas", "mkl", "blis") for i in blas):
    raise SystemExit("torch still loads a reference BLAS: check update-alternatives --display libblas.so.3-x86_64-linux-gnu")
PY
