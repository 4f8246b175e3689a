# ganrt build targets. `make test` installs the CPU ONNX Runtime library into
# .ort/ first (see scripts/install-ort.sh); set ONNXRUNTIME_SHARED_LIBRARY_PATH
# to use another build (a GPU one for CUDA/TensorRT).

GO ?= go
# Packages whose tests also run under the race detector (`make race`).
RACE_PKGS ?= ./internal/ort ./runtime ./serve
PROTOC_GEN_GO_VERSION := $(shell $(GO) list -m -f '{{.Version}}' google.golang.org/protobuf 2>/dev/null)

.PHONY: ort test race demo bench proto vet

## ort: install the pinned, sha256-checked ONNX Runtime CPU library at .ort/
ort:
	bash scripts/install-ort.sh

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

## vet: go vet every package
vet:
	$(GO) vet ./...
