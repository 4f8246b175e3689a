#!/usr/bin/env bash
# install-ort.sh installs a pinned, sha256-checked ONNX Runtime for Linux x64
# where internal/ort finds it.
#
#   scripts/install-ort.sh        # `make ort`: the CPU library, .ort/libonnxruntime.so.1
#   scripts/install-ort.sh gpu    # `make ort-gpu`: ORT 1.29.0 with its CUDA 13 plugin, .ort-gpu/
#
# cpu: the official CPU build of ONNX Runtime 1.24.1 (C API 24, as
# github.com/yalue/onnxruntime_go v1.27.0 expects) from the npm package
# onnxruntime-node@1.24.1.
#
# gpu: ONNX Runtime 1.29.0 for Linux x64 from two MIT-licensed npm packages:
# com.github.asus4.onnxruntime@0.4.9 holds the core library (a CPU build: its
# providers are [CPUExecutionProvider]), and
# com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 holds the CUDA 13 and
# TensorRT 10 provider libraries. The CUDA library is a plugin execution
# provider that ganrt registers at run time. It needs the NVIDIA driver
# (libcuda.so.1), the CUDA 13 runtime (libcudart.so.13, libcublas.so.13,
# libcublasLt.so.13, libcurand.so.10) and cuDNN 9 (libcudnn.so.9), none of
# which this script installs; `ganrt doctor --device cuda` says which load.
# The set lands in .ort-gpu.d/1.29.0-XXXXXX/ and the symlink .ort-gpu points
# at it: the link is replaced in one rename, so a reader sees the old set or
# the new one, never a mix.
#
# Packages are fetched with `npm pack` (a plain download of the tarball: no
# install scripts run); the tarballs and every extracted library are checked
# against pinned sha256 sums, and libraries are moved into place only once
# all of them check. Running it again is a no-op when the installed files
# already have the expected sums.
#
# Environment:
#   ORT_INSTALL_DIR     install folder of the CPU library (default: <repo>/.ort)
#   ORT_GPU_INSTALL_DIR the GPU set's link (default: <repo>/.ort-gpu)
#   ORT_NPM_CACHE       folder keeping downloaded tarballs for reuse (default:
#                       none: download into a temporary folder); tarballs already
#                       there are used when their sha256 checks
#   ORT_NPM_TARBALL     an already downloaded onnxruntime-node-1.24.1.tgz to use
#                       for the CPU library instead of running npm (still checked)
set -euo pipefail

die() {
	echo "install-ort: error: $*" >&2
	exit 1
}
log() { echo "install-ort: $*" >&2; }

mode="${1:-cpu}"
case "$mode" in
cpu | gpu) ;;
*) die "unknown mode '$mode'; usage: scripts/install-ort.sh [cpu|gpu]" ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

os="$(uname -s)"
arch="$(uname -m)"
if [[ "$os" != Linux || "$arch" != x86_64 ]]; then
	die "this script installs the Linux x86_64 builds only (this is $os/$arch);
  install an official ONNX Runtime release for your platform and set
  ONNXRUNTIME_SHARED_LIBRARY_PATH to its shared library"
fi

command -v sha256sum >/dev/null || die "sha256sum not found (install coreutils)"
command -v tar >/dev/null || die "tar not found"
sha256() { sha256sum "$1" | cut -d' ' -f1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/install-ort.XXXXXX")"
partial="" # a GPU set being assembled; removed unless it was put in place
cleanup() { rm -rf "$tmp" ${partial:+"$partial"}; }
trap cleanup EXIT

# fetch PKG@VERSION FILE SHA256 prints the path of the package's checked
# tarball FILE: from $ORT_NPM_CACHE when a copy there checks, else fetched with
# npm pack (into the cache when one is set).
fetch() {
	local spec="$1" file="$2" want="$3" dir="$tmp/npm"
	if [[ -n "${ORT_NPM_CACHE:-}" ]]; then
		dir="$ORT_NPM_CACHE"
		mkdir -p "$dir" || die "cannot create ORT_NPM_CACHE=$dir"
		if [[ -f "$dir/$file" && "$(sha256 "$dir/$file")" == "$want" ]]; then
			log "using $dir/$file (sha256 ok)"
			echo "$dir/$file"
			return
		fi
	fi
	command -v npm >/dev/null || die "npm not found; install it (Debian: apt-get install -y npm)"
	log "fetching $spec with npm pack (no install scripts are run)"
	local work
	work="$(mktemp -d "$tmp/pack.XXXXXX")"
	# npm pack of a registry spec only downloads the tarball; --ignore-scripts
	# makes sure no lifecycle script can run either way.
	if ! (cd "$work" && npm pack "$spec" --ignore-scripts --silent >"$work/npm.out" 2>"$work/npm.err"); then
		cat "$work/npm.err" >&2 || true
		die "npm pack $spec failed (is the npm registry reachable?)"
	fi
	[[ -f "$work/$file" ]] || die "npm pack did not produce $file; it printed: $(cat "$work/npm.out")"
	local got
	got="$(sha256 "$work/$file")"
	[[ "$got" == "$want" ]] || die "sha256 mismatch for $file: got $got, want $want"
	mkdir -p "$dir"
	# Into the cache by rename, so that a cached tarball is always complete.
	mv -f "$work/$file" "$dir/$file" || die "cannot move $file into $dir"
	echo "$dir/$file"
}

# extract TGZ MEMBER SHA256 DEST extracts MEMBER from TGZ and copies it to
# DEST (a new file beside its final place) after checking its sha256.
extract() {
	local tgz="$1" member="$2" want="$3" dest="$4" x got
	x="$(mktemp -d "$tmp/x.XXXXXX")"
	tar -xzf "$tgz" -C "$x" "$member" || die "cannot extract $member from $(basename "$tgz")"
	got="$(sha256 "$x/$member")"
	[[ "$got" == "$want" ]] || die "sha256 mismatch for $member of $(basename "$tgz"): got $got, want $want"
	cp "$x/$member" "$dest" && chmod 0755 "$dest" || die "cannot write $dest"
	got="$(sha256 "$dest")"
	[[ "$got" == "$want" ]] || die "sha256 mismatch after copying to $dest: got $got"
	rm -rf "$x"
}

install_cpu() {
	local version=1.24.1
	local tgz_sha=57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772
	local member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
	local lib_sha=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
	local dest_dir="${ORT_INSTALL_DIR:-$root/.ort}"
	local dest="$dest_dir/libonnxruntime.so.1"

	if [[ -f "$dest" ]]; then
		local have
		have="$(sha256 "$dest")"
		if [[ "$have" == "$lib_sha" ]]; then
			log "ONNX Runtime $version already installed at $dest (sha256 ok)"
			return
		fi
		log "replacing $dest: sha256 $have, want $lib_sha"
	fi
	local tgz
	if [[ -n "${ORT_NPM_TARBALL:-}" ]]; then
		[[ -f "$ORT_NPM_TARBALL" ]] || die "ORT_NPM_TARBALL=$ORT_NPM_TARBALL: no such file"
		tgz="$ORT_NPM_TARBALL"
		[[ "$(sha256 "$tgz")" == "$tgz_sha" ]] || die "sha256 mismatch for $tgz: got $(sha256 "$tgz"), want $tgz_sha"
		log "using $tgz"
	else
		tgz="$(fetch "onnxruntime-node@$version" "onnxruntime-node-$version.tgz" "$tgz_sha")"
	fi
	mkdir -p "$dest_dir" || die "cannot create $dest_dir"
	# Copy next to the destination first so the final mv is a same-filesystem
	# rename: readers see either the old file or the complete new one.
	local part
	part="$(mktemp "$dest_dir/.libonnxruntime.so.1.XXXXXX")"
	extract "$tgz" "$member" "$lib_sha" "$part"
	mv -f "$part" "$dest" || {
		rm -f "$part"
		die "cannot move library to $dest"
	}
	log "installed ONNX Runtime $version (CPU) at $dest"
}

install_gpu() {
	local version=1.29.0 pkg=0.4.9
	local core_tgz="com.github.asus4.onnxruntime-$pkg.tgz"
	local core_tgz_sha=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
	local gpu_tgz="com.github.asus4.onnxruntime.linux-x64-gpu-$pkg.tgz"
	local gpu_tgz_sha=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
	local dir=package/Plugins/Linux/x64
	# installed name, tarball, member, sha256
	local -a files=(
		"libonnxruntime.so.1 core $dir/libonnxruntime.so 5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca"
		"libonnxruntime_providers_shared.so gpu $dir/libonnxruntime_providers_shared.so c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772"
		"libonnxruntime_providers_cuda.so gpu $dir/libonnxruntime_providers_cuda.so 56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037"
		"libonnxruntime_providers_tensorrt.so gpu $dir/libonnxruntime_providers_tensorrt.so ef6071798a339038ad66c428fb1a809cf8e499bffc3b6870e4e8bc4f4c6a6320"
	)
	local link="${ORT_GPU_INSTALL_DIR:-$root/.ort-gpu}"
	local store="$link.d"

	if [[ -e "$link" ]]; then
		local ok=1 f name member sum
		for f in "${files[@]}"; do
			read -r name _ member sum <<<"$f"
			if [[ ! -f "$link/$name" || "$(sha256 "$link/$name")" != "$sum" ]]; then
				ok=0
				break
			fi
		done
		if ((ok)); then
			log "ONNX Runtime $version with the CUDA plugin already installed at $link (sha256 ok)"
			return
		fi
		[[ -L "$link" ]] || die "$link exists and is not the link this script makes; move it away first"
		log "replacing $link: $name is missing or has another sha256"
	fi
	local core gpu
	core="$(fetch "com.github.asus4.onnxruntime@$pkg" "$core_tgz" "$core_tgz_sha")"
	gpu="$(fetch "com.github.asus4.onnxruntime.linux-x64-gpu@$pkg" "$gpu_tgz" "$gpu_tgz_sha")"

	mkdir -p "$store" || die "cannot create $store"
	local set
	set="$(mktemp -d "$store/$version-XXXXXX")"
	partial="$set"
	chmod 0755 "$set"
	local f name from member sum
	for f in "${files[@]}"; do
		read -r name from member sum <<<"$f"
		local tgz="$core"
		[[ "$from" == gpu ]] && tgz="$gpu"
		extract "$tgz" "$member" "$sum" "$set/$name"
	done
	(cd "$set" && for f in "${files[@]}"; do
		read -r name _ _ sum <<<"$f"
		echo "$sum  $name"
	done >SHA256SUMS)
	# Swap the link in one rename, then drop the sets it no longer names.
	local old=""
	[[ -L "$link" ]] && old="$(readlink "$link")"
	ln -sfn "$(basename "$store")/$(basename "$set")" "$link.new" || die "cannot create $link.new"
	mv -Tf "$link.new" "$link" || die "cannot move $link.new to $link"
	partial=""
	if [[ -n "$old" && "$old" != "$(readlink "$link")" ]]; then
		rm -rf "$(dirname "$link")/$old"
	fi
	log "installed ONNX Runtime $version (CPU core + CUDA 13 and TensorRT provider libraries) at $link -> $(readlink "$link")"
	log "the CUDA plugin needs the NVIDIA driver, CUDA 13 and cuDNN 9; check with: ganrt doctor --device cuda"
}

"install_$mode"
