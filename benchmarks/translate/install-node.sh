#!/usr/bin/env bash
# install-node.sh installs onnxruntime-node (the version pinned in
# package.json and package-lock.json, the same ONNX Runtime release as
# `make ort`) into benchmarks/translate/node_modules (git-ignored), for
# bare_ort.mjs. Install scripts are not run: the package ships its CPU
# binaries, and its script only fetches optional GPU ones.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v npm >/dev/null || { echo "install-node: npm not found (apt-get install npm)" >&2; exit 1; }
if [[ -f package-lock.json ]]; then
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
else
	npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi
node -e 'import("onnxruntime-node").then(o => console.log("install-node: onnxruntime-node", o.default.env.versions.common))'
