# ganrt build targets. `make test` installs the CPU ONNX Runtime library into
# .ort/ first (see scripts/install-ort.sh); `make ort-gpu` installs ONNX
# Runtime 1.29 with its CUDA 13 plugin into .ort-gpu/. Set
# ONNXRUNTIME_SHARED_LIBRARY_PATH to use another build.

GO ?= go
# Packages whose tests also run under the race detector (`make race`).
RACE_PKGS ?= ./internal/ort ./runtime ./serve
PROTOC_GEN_GO_VERSION := $(shell $(GO) list -m -f '{{.Version}}' google.golang.org/protobuf 2>/dev/null)
# Where `make install` puts the binary (PREFIX/bin) and the ONNX Runtime
# libraries (PREFIX/lib/ganrt, PREFIX/lib/ganrt/gpu), which the binary finds
# relative to itself.
PREFIX ?= /usr/local
# The commit `make build` stamps into the binary (`ganrt version`), for
# checkouts where the Go command does not (git worktrees).
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
MODIFIED := $(shell test -n "$$(git status --porcelain 2>/dev/null)" && echo true)
LDFLAGS := -X github.com/ganrt/ganrt/internal/version.commit=$(COMMIT) -X github.com/ganrt/ganrt/internal/version.modified=$(MODIFIED)

.PHONY: ort ort-gpu build install test race demo bench proto vet fuzz

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 30s
# The fuzz targets `make fuzz` runs, as package:target.
FUZZ_TARGETS ?= ./ckpt:FuzzUnpickle ./ckpt:FuzzReadTorchZip ./ckpt:FuzzReadTorchLegacy ./ckpt:FuzzReadSafetensors \
	./internal/ort:FuzzInlineExternalData ./runtime:FuzzTarget ./serve:FuzzTranslateRequest ./eval:FuzzSSIM

## ort: install the pinned, sha256-checked ONNX Runtime CPU library at .ort/
ort:
	bash scripts/install-ort.sh

## ort-gpu: install ONNX Runtime 1.29 and its CUDA plugin (sha256-checked) at .ort-gpu/
ort-gpu:
	bash scripts/install-ort.sh gpu

## build: build bin/ganrt (commit stamped), which finds the library in .ort/ above it
build: ort
	$(GO) build -buildvcs=auto -ldflags '$(LDFLAGS)' -o bin/ganrt ./cmd/ganrt

## install: install bin/ganrt and the ONNX Runtime libraries under PREFIX
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/ganrt
	install -m 0755 bin/ganrt $(DESTDIR)$(PREFIX)/bin/.ganrt.new
	mv -f $(DESTDIR)$(PREFIX)/bin/.ganrt.new $(DESTDIR)$(PREFIX)/bin/ganrt
	install -m 0755 .ort/libonnxruntime.so.1 $(DESTDIR)$(PREFIX)/lib/ganrt/.libonnxruntime.so.1.new
	mv -f $(DESTDIR)$(PREFIX)/lib/ganrt/.libonnxruntime.so.1.new $(DESTDIR)$(PREFIX)/lib/ganrt/libonnxruntime.so.1
	@if [ -e .ort-gpu/libonnxruntime.so.1 ]; then \
		set -e; install -d $(DESTDIR)$(PREFIX)/lib/ganrt/gpu; \
		for f in .ort-gpu/*.so*; do \
			install -m 0755 $$f $(DESTDIR)$(PREFIX)/lib/ganrt/gpu/.$$(basename $$f).new; \
			mv -f $(DESTDIR)$(PREFIX)/lib/ganrt/gpu/.$$(basename $$f).new $(DESTDIR)$(PREFIX)/lib/ganrt/gpu/$$(basename $$f); \
		done; \
		echo "installed the GPU libraries of .ort-gpu/ in $(DESTDIR)$(PREFIX)/lib/ganrt/gpu"; \
	fi
	@echo "installed $(DESTDIR)$(PREFIX)/bin/ganrt; check it with: $(DESTDIR)$(PREFIX)/bin/ganrt version"

## test: run every package's tests
test: ort
	$(GO) test ./...

## race: run the concurrency-sensitive packages' tests with the race detector
race: ort
	$(GO) test -race $(RACE_PKGS)

## demo: run the end-to-end demo
demo: ort
	$(GO) run ./cmd/ganrt demo

## bench: run all benchmarks (no tests)
bench: ort
	$(GO) test -run '^$$' -bench . -benchmem ./...

## proto: regenerate internal/onnxpb/onnx.pb.go (needs protoc)
proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) generate ./internal/onnxpb

## fuzz: run each fuzz target for FUZZTIME (default 30s); `make test` runs their seed corpora
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

## vet: go vet every package
vet:
	$(GO) vet ./...
