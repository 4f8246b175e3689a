#!/usr/bin/env bash
# install-ort.sh installs the official Linux x64 ONNX Runtime shared library
# (CPU build) at .ort/libonnxruntime.so.1 in the repository root, where
# internal/ort finds it.
#
# The library comes from the npm package onnxruntime-node, which ships the
# official release binary. The package is fetched with `npm pack` (a plain
# download of the tarball: no install scripts run), both the tarball and the
# extracted library are checked against pinned sha256 sums, and the library is
# moved into place atomically. Running it again is a no-op when the installed
# file already has the expected sha256.
#
# ORT 1.24.1 matches github.com/yalue/onnxruntime_go v1.27.0 (C API 24).
#
# Environment:
#   ORT_INSTALL_DIR     install folder (default: <repo>/.ort)
#   ORT_NPM_TARBALL     an already downloaded onnxruntime-node-1.24.1.tgz to use
#                       instead of running npm (still sha256-checked)
#
# For CUDA or TensorRT, install an official GPU build of ONNX Runtime instead
# and set ONNXRUNTIME_SHARED_LIBRARY_PATH to its libonnxruntime.so.
set -euo pipefail

ORT_VERSION=1.24.1
NPM_PKG="onnxruntime-node@${ORT_VERSION}"
TGZ_SHA256=57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772
LIB_MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
LIB_SHA256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4

die() {
	echo "install-ort: error: $*" >&2
	exit 1
}
log() { echo "install-ort: $*" >&2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_dir="${ORT_INSTALL_DIR:-$root/.ort}"
dest="$dest_dir/libonnxruntime.so.1"

os="$(uname -s)"
arch="$(uname -m)"
if [[ "$os" != Linux || "$arch" != x86_64 ]]; then
	die "this script installs the Linux x86_64 build only (this is $os/$arch);
  install an official ONNX Runtime ${ORT_VERSION} release for your platform and set
  ONNXRUNTIME_SHARED_LIBRARY_PATH to its shared library"
fi

command -v sha256sum >/dev/null || die "sha256sum not found (install coreutils)"
sha256() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$dest" ]]; then
	have="$(sha256 "$dest")"
	if [[ "$have" == "$LIB_SHA256" ]]; then
		log "ONNX Runtime ${ORT_VERSION} already installed at $dest (sha256 ok)"
		exit 0
	fi
	log "replacing $dest: sha256 $have, want $LIB_SHA256"
fi

command -v tar >/dev/null || die "tar not found"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/install-ort.XXXXXX")"
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

if [[ -n "${ORT_NPM_TARBALL:-}" ]]; then
	[[ -f "$ORT_NPM_TARBALL" ]] || die "ORT_NPM_TARBALL=$ORT_NPM_TARBALL: no such file"
	tgz="$ORT_NPM_TARBALL"
	log "using $tgz"
else
	command -v npm >/dev/null || die "npm not found; install it (Debian: apt-get install -y npm),
  or set ORT_NPM_TARBALL to a downloaded onnxruntime-node-${ORT_VERSION}.tgz"
	log "fetching $NPM_PKG with npm pack (no install scripts are run)"
	# npm pack of a registry spec only downloads the tarball; --ignore-scripts
	# makes sure no lifecycle script can run either way.
	if ! (cd "$tmp" && npm pack "$NPM_PKG" --ignore-scripts --silent >"$tmp/npm.out" 2>"$tmp/npm.err"); then
		cat "$tmp/npm.err" >&2 || true
		die "npm pack $NPM_PKG failed (is the npm registry reachable?)"
	fi
	tgz="$tmp/onnxruntime-node-${ORT_VERSION}.tgz"
	[[ -f "$tgz" ]] || die "npm pack did not produce $(basename "$tgz"); it printed: $(cat "$tmp/npm.out")"
fi

got="$(sha256 "$tgz")"
[[ "$got" == "$TGZ_SHA256" ]] || die "sha256 mismatch for $(basename "$tgz"): got $got, want $TGZ_SHA256"

mkdir -p "$tmp/x"
tar -xzf "$tgz" -C "$tmp/x" "$LIB_MEMBER" || die "cannot extract $LIB_MEMBER from $(basename "$tgz")"
lib="$tmp/x/$LIB_MEMBER"
got="$(sha256 "$lib")"
[[ "$got" == "$LIB_SHA256" ]] || die "sha256 mismatch for $LIB_MEMBER: got $got, want $LIB_SHA256"

mkdir -p "$dest_dir" || die "cannot create $dest_dir"
# Copy next to the destination first so the final mv is a same-filesystem
# rename: readers see either the old file or the complete new one.
part="$(mktemp "$dest_dir/.libonnxruntime.so.1.XXXXXX")"
if ! cp "$lib" "$part" || ! chmod 0755 "$part"; then
	rm -f "$part"
	die "cannot write into $dest_dir"
fi
got="$(sha256 "$part")"
if [[ "$got" != "$LIB_SHA256" ]]; then
	rm -f "$part"
	die "sha256 mismatch after copying to $part: got $got"
fi
mv -f "$part" "$dest" || { rm -f "$part"; die "cannot move library to $dest"; }
log "installed ONNX Runtime ${ORT_VERSION} (CPU) at $dest"
