#!/usr/bin/env bash
# gpu-check.sh checks ganrt's GPU paths once on a machine with an NVIDIA GPU,
# installing nothing, within 5 minutes of GPU work (each test package is cut
# off at 120 s and the benchmark at 180 s; building takes what Go takes): it prints the providers and
# devices (ganrt doctor), runs the GPU tests (every golden inference case on
# CUDA within 1e-3 and fp16 within its PSNR floor; two CycleGAN iterations
# and one StarGAN critic + generator step against the PyTorch goldens; a
# --resume on CUDA against a straight run; binding and device memory), then
# prints the table of benchmarks/gpu (inference ms per image at batch 1 and
# 8, fp32 and fp16; seconds per CycleGAN iteration and StarGAN round; the
# same with PyTorch eager on the GPU when python3 there has a CUDA torch).
#
#   scripts/gpu-check.sh [--ort-dir DIR] [--cuda-libs DIR[:DIR...]]
#                        [--plugin-parts DIR] [--prebuilt DIR] [--iters N]
#   scripts/gpu-check.sh --build DIR      # on a machine with Go: prebuild for one without
#
#   --ort-dir DIR      ONNX Runtime 1.29 with the CUDA plugin, as `make ort-gpu`
#                      installs it (default $GANRT_GPU_ORT_DIR, else .ort-gpu);
#                      its SHA256SUMS, when there, is checked
#   --cuda-libs DIRS   folders holding the CUDA 13 runtime (libcudart.so.13,
#                      libcublas.so.13, libcublasLt.so.13, libcurand.so.10) and
#                      cuDNN 9 (libcudnn*.so.9), colon-separated, put first on
#                      LD_LIBRARY_PATH (default $GANRT_CUDA_LIBS); the driver's
#                      libcuda.so.1 comes from the system
#   --plugin-parts DIR the CUDA plugin in pieces (see below), joined into
#                      DIR/../ort-dir before anything runs (default
#                      $GANRT_PLUGIN_PARTS)
#   --prebuilt DIR     binaries made by --build, used when there is no Go here
#                      (default $GANRT_PREBUILT; about 67 MiB: ganrt and
#                      gpu-bench in one call, the *.test binaries in another)
#   --iters N          measured iterations per benchmark row (default 10)
#
# Moving the libraries through a tool that carries at most 64 MiB per call
# (the plugin is 230 MB): on the machine that ran `make ort-gpu`,
#
#   mkdir -p .gpu-carry            # git-ignored
#   cp .ort-gpu/libonnxruntime.so.1 .ort-gpu/libonnxruntime_providers_shared.so .ort-gpu/SHA256SUMS .gpu-carry/
#   split -b 60M -d .ort-gpu/libonnxruntime_providers_cuda.so .gpu-carry/libonnxruntime_providers_cuda.so.part.
#
# gives libonnxruntime.so.1 (28 MB) and four parts .part.00 to .part.03.
# Carry .gpu-carry/libonnxruntime.so.1 with the two small files in one call
# and one part per call after it (files a call does not name stay on the
# warm machine), then run
#
#   scripts/gpu-check.sh --ort-dir .gpu-carry --plugin-parts .gpu-carry
#
# which joins the parts in name order into .gpu-carry/libonnxruntime_providers_cuda.so
# and checks its sha256 (SHA256SUMS). The CUDA 13 and cuDNN 9 libraries are
# not part of ganrt; a machine without them needs them carried the same way
# and named with --cuda-libs.
set -euo pipefail

die() {
	echo "gpu-check: error: $*" >&2
	exit 1
}
log() { echo "gpu-check: $*" >&2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
ort_dir="${GANRT_GPU_ORT_DIR:-.ort-gpu}"
cuda_libs="${GANRT_CUDA_LIBS:-}"
parts="${GANRT_PLUGIN_PARTS:-}"
prebuilt="${GANRT_PREBUILT:-}"
iters=10
build=""
while (($#)); do
	case "$1" in
	--ort-dir) ort_dir="$2"; shift 2 ;;
	--cuda-libs) cuda_libs="$2"; shift 2 ;;
	--plugin-parts) parts="$2"; shift 2 ;;
	--prebuilt) prebuilt="$2"; shift 2 ;;
	--iters) iters="$2"; shift 2 ;;
	--build) build="$2"; shift 2 ;;
	*) die "unknown argument $1 (see the comment at the top of scripts/gpu-check.sh)" ;;
	esac
done

# The packages with GPU tests, and the tests' names.
pkgs=(internal/ort export train runtime)
tests='CUDA|GPU|TensorRT'

if [[ -n "$build" ]]; then
	command -v go >/dev/null || die "--build needs Go"
	mkdir -p "$build"
	go build -ldflags '-s -w' -o "$build/ganrt" ./cmd/ganrt
	go build -ldflags '-s -w' -o "$build/gpu-bench" ./benchmarks/gpu
	for p in "${pkgs[@]}"; do
		go test -c -ldflags '-s -w' -o "$build/$(basename "$p").test" "./$p"
	done
	ls -l "$build" >&2
	log "built into $build; carry it and run scripts/gpu-check.sh --prebuilt $build"
	exit 0
fi

start=$SECONDS
plugin="$ort_dir/libonnxruntime_providers_cuda.so"
if [[ -n "$parts" ]]; then
	shopt -s nullglob
	pieces=("$parts"/libonnxruntime_providers_cuda.so.part.*)
	shopt -u nullglob
	((${#pieces[@]})) || die "no $parts/libonnxruntime_providers_cuda.so.part.* to join"
	cat "${pieces[@]}" >"$plugin.tmp"
	mv -f "$plugin.tmp" "$plugin"
	log "joined ${#pieces[@]} parts into $plugin"
fi
[[ -f "$ort_dir/libonnxruntime.so.1" ]] || die "no $ort_dir/libonnxruntime.so.1 (run make ort-gpu, or give --ort-dir)"
[[ -f "$plugin" ]] || die "no $plugin (run make ort-gpu, or give --ort-dir / --plugin-parts)"
if [[ -f "$ort_dir/SHA256SUMS" ]]; then
	(cd "$ort_dir" && sha256sum --quiet --ignore-missing -c SHA256SUMS) || die "sha256 of the libraries in $ort_dir does not match its SHA256SUMS"
	log "libraries in $ort_dir match SHA256SUMS"
else
	log "warning: no $ort_dir/SHA256SUMS; the libraries are not checked"
fi

ort_abs="$(cd "$ort_dir" && pwd)"
export ONNXRUNTIME_SHARED_LIBRARY_PATH="$ort_abs/libonnxruntime.so.1"
export GANRT_CUDA_PLUGIN="$ort_abs/libonnxruntime_providers_cuda.so"
if [[ -n "$cuda_libs" ]]; then
	export LD_LIBRARY_PATH="$cuda_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

if [[ -n "$prebuilt" ]]; then
	prebuilt="$(cd "$prebuilt" && pwd)"
	ganrt=("$prebuilt/ganrt")
	bench=("$prebuilt/gpu-bench")
elif command -v go >/dev/null; then
	bin="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")"
	trap 'rm -rf "$bin"' EXIT
	go build -o "$bin/ganrt" ./cmd/ganrt
	ganrt=("$bin/ganrt")
	bench=(go run ./benchmarks/gpu)
else
	die "no Go here and no --prebuilt folder (make one with scripts/gpu-check.sh --build DIR)"
fi

echo "== GPUs"
if command -v nvidia-smi >/dev/null; then nvidia-smi -L || true; else echo "(no nvidia-smi)"; fi
echo "== ganrt doctor --device cuda"
if ! "${ganrt[@]}" doctor --device cuda; then
	die "CUDA does not work here (see above); nothing else was run"
fi

echo "== GPU tests ($tests)"
failed=0
for p in "${pkgs[@]}"; do
	if [[ -n "$prebuilt" ]]; then
		(cd "$p" && timeout 120 "$prebuilt/$(basename "$p").test" -test.count=1 -test.v -test.run "$tests") || failed=1
	else
		timeout 120 go test -count=1 -v -run "$tests" "./$p" || failed=1
	fi
done

echo "== benchmarks/gpu (ganrt vs PyTorch eager on the same GPU)"
timeout 180 "${bench[@]}" -device cuda -iters "$iters" || failed=1
log "done in $((SECONDS - start)) s"
exit "$failed"
