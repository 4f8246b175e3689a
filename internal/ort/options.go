package ort

import (
	"fmt"
	"log/slog"
	"maps"
	"strconv"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// GraphOptLevel is how much ORT rewrites a graph before running it.
type GraphOptLevel int

const (
	// GraphOptDefault is ORT's default, which is GraphOptAll. It is the zero
	// value.
	GraphOptDefault GraphOptLevel = iota
	// GraphOptDisabled runs the graph as written.
	GraphOptDisabled
	// GraphOptBasic applies semantics-preserving rewrites such as constant
	// folding and redundant node removal.
	GraphOptBasic
	// GraphOptExtended adds fusions (for example Conv+Add, Gelu).
	GraphOptExtended
	// GraphOptAll adds layout optimizations.
	GraphOptAll
)

// ConvAlgoSearch is how the CUDA provider picks cuDNN convolution algorithms
// (ORT's cudnn_conv_algo_search option).
type ConvAlgoSearch string

const (
	// ConvAlgoUnset leaves ORT's default, which is ConvAlgoExhaustive.
	ConvAlgoUnset ConvAlgoSearch = ""
	// ConvAlgoExhaustive benchmarks the algorithms on the first run of each
	// shape and keeps the fastest: a slow first run, the fastest later ones.
	ConvAlgoExhaustive ConvAlgoSearch = "EXHAUSTIVE"
	// ConvAlgoHeuristic asks cuDNN's heuristics: no benchmarking.
	ConvAlgoHeuristic ConvAlgoSearch = "HEURISTIC"
	// ConvAlgoDefault uses cuDNN's default algorithm, with no search at all.
	ConvAlgoDefault ConvAlgoSearch = "DEFAULT"
)

// CUDAOptions configures the CUDA execution provider (devices cuda:N, auto,
// and the CUDA fallback of tensorrt:N). The GPU is the Device's ID.
type CUDAOptions struct {
	// ConvAlgoSearch selects the cuDNN algorithm search.
	ConvAlgoSearch ConvAlgoSearch
	// Extra holds further CUDA provider options under ORT's names (for
	// example "gpu_mem_limit", "arena_extend_strategy"); they override the
	// fields above.
	Extra map[string]string
}

// TensorRTOptions configures the TensorRT execution provider (tensorrt:N).
type TensorRTOptions struct {
	// FP16 lets TensorRT run layers in half precision.
	FP16 bool
	// EngineCacheDir, when not empty, is the folder where TensorRT engines
	// are cached between processes; building an engine takes minutes.
	EngineCacheDir string
	// Extra holds further TensorRT provider options under ORT's names (for
	// example "trt_max_workspace_size"); they override the fields above.
	Extra map[string]string
}

// SessionOptions configures NewSession. The zero value runs on the CPU with
// ORT's defaults.
type SessionOptions struct {
	// Device selects the execution provider.
	Device Device
	// IntraOpThreads is the number of threads one operator may use; 0 keeps
	// ORT's default (one per physical core).
	IntraOpThreads int
	// InterOpThreads is the number of threads running independent operators
	// in parallel; 0 keeps ORT's default.
	InterOpThreads int
	// GraphOptLevel is the graph optimization level.
	GraphOptLevel GraphOptLevel
	// CUDA configures the CUDA provider; ignored on the CPU.
	CUDA CUDAOptions
	// TensorRT configures the TensorRT provider; used by tensorrt:N only.
	TensorRT TensorRTOptions
	// TensorCacheSize bounds how many ORT tensor wrappers Run keeps for reuse
	// (see Session.Run); 0 picks 4 per model input and output, at least 64;
	// a negative value disables the cache.
	TensorCacheSize int
	// Logger, when not nil, receives a warning when device auto falls back
	// to the CPU.
	Logger *slog.Logger
	// NoMemPattern turns off ORT's memory pattern, which preallocates one
	// block for a run's intermediate values as they were laid out in the
	// first run. Training steps hold hundreds of intermediates; without the
	// pattern a CycleGAN step at 128x128 peaks at 1.8 GB instead of 2.4 GB,
	// at the same speed.
	NoMemPattern bool
	// NoSpinning stops the intra-op worker threads from spinning while they
	// wait for work (ORT's session.intra_op.allow_spinning = 0): they sleep
	// instead, which leaves the cores to other processes on a shared machine
	// at the cost of a wake-up per parallel section (benchmarks/README.md,
	// Training).
	NoSpinning bool
	// Binding says whether Run goes through ORT I/O binding (BindAuto: on
	// GPU sessions, where inputs then come from pinned host memory and
	// outputs are bound so that ORT allocates no output buffers).
	Binding BindingMode
	// ModelDir is the folder of the model file, where the files of its
	// external data are read (only there: locations that leave it are
	// refused); "" refuses models with external data.
	ModelDir string
	// ProfilePrefix, when not empty, turns on ORT's profiler: each session
	// writes a Chrome-trace JSON file named PREFIX_<time>.json with the time
	// of every node run, when it is closed.
	ProfilePrefix string
}

// BindingMode says whether Session.Run uses ORT I/O binding.
type BindingMode int

const (
	// BindAuto binds on GPU sessions and not on the CPU, where binding Go
	// buffers directly is what Run does anyway. It is the zero value.
	BindAuto BindingMode = iota
	// BindAlways binds on every device (the CPU too: tests run the GPU's
	// code path this way).
	BindAlways
	// BindNever runs without binding.
	BindNever
)

// cudaProviderOptions returns the CUDA provider options for GPU id.
func cudaProviderOptions(o CUDAOptions, id int) map[string]string {
	m := map[string]string{"device_id": strconv.Itoa(id)}
	if o.ConvAlgoSearch != ConvAlgoUnset {
		m["cudnn_conv_algo_search"] = string(o.ConvAlgoSearch)
	}
	maps.Copy(m, o.Extra)
	return m
}

// tensorRTProviderOptions returns the TensorRT provider options for GPU id.
func tensorRTProviderOptions(o TensorRTOptions, id int) map[string]string {
	m := map[string]string{"device_id": strconv.Itoa(id)}
	if o.FP16 {
		m["trt_fp16_enable"] = "1"
	}
	if o.EngineCacheDir != "" {
		m["trt_engine_cache_enable"] = "1"
		m["trt_engine_cache_path"] = o.EngineCacheDir
	}
	maps.Copy(m, o.Extra)
	return m
}

// newORTOptions builds ORT session options that run on provider kind
// (KindCPU, KindCUDA or KindTensorRT) on GPU id. The caller destroys them
// once the session is created.
func newORTOptions(o SessionOptions, kind Kind, id int) (_ *onnxruntime.SessionOptions, err error) {
	so, err := onnxruntime.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: create session options: %w", err)
	}
	defer func() {
		if err != nil {
			so.Destroy()
		}
	}()
	if o.IntraOpThreads < 0 || o.InterOpThreads < 0 {
		return nil, fmt.Errorf("ort: negative thread count (intra-op %d, inter-op %d)", o.IntraOpThreads, o.InterOpThreads)
	}
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("ort: set intra-op threads: %w", err)
		}
	}
	if o.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(o.InterOpThreads); err != nil {
			return nil, fmt.Errorf("ort: set inter-op threads: %w", err)
		}
	}
	var level onnxruntime.GraphOptimizationLevel
	switch o.GraphOptLevel {
	case GraphOptDefault, GraphOptAll:
		level = onnxruntime.GraphOptimizationLevelEnableAll
	case GraphOptDisabled:
		level = onnxruntime.GraphOptimizationLevelDisableAll
	case GraphOptBasic:
		level = onnxruntime.GraphOptimizationLevelEnableBasic
	case GraphOptExtended:
		level = onnxruntime.GraphOptimizationLevelEnableExtended
	default:
		return nil, fmt.Errorf("ort: unknown graph optimization level %d", o.GraphOptLevel)
	}
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		return nil, fmt.Errorf("ort: set graph optimization level: %w", err)
	}
	if o.NoMemPattern {
		if err := so.SetMemPattern(false); err != nil {
			return nil, fmt.Errorf("ort: disable memory pattern: %w", err)
		}
	}
	if o.NoSpinning {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("ort: disable intra-op spinning: %w", err)
		}
	}
	if o.ProfilePrefix != "" {
		if err := so.EnableProfiling(o.ProfilePrefix); err != nil {
			return nil, fmt.Errorf("ort: enable profiling: %w", err)
		}
	}
	switch kind {
	case KindCPU:
	case KindTensorRT:
		if err := appendTensorRT(so, tensorRTProviderOptions(o.TensorRT, id)); err != nil {
			return nil, err
		}
		// Nodes TensorRT does not take run on CUDA, then on the CPU.
		if err := appendCUDA(so, cudaProviderOptions(o.CUDA, id)); err != nil {
			return nil, err
		}
	case KindCUDA:
		st, err := cudaFor(id)
		if err != nil {
			return nil, err
		}
		if !st.plugin {
			if err := appendCUDA(so, cudaProviderOptions(o.CUDA, id)); err != nil {
				return nil, err
			}
			break
		}
		h, err := sessionOptionsHandle(so)
		if err != nil {
			return nil, err
		}
		// The device is the chosen EP device; device_id would contradict it.
		opts := cudaProviderOptions(o.CUDA, id)
		delete(opts, "device_id")
		if err := appendEPDevice(h, st.devices[id], opts); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("ort: internal error: no provider for %v", kind)
	}
	return so, nil
}

// appendCUDA adds the CUDA provider with options m to so.
func appendCUDA(so *onnxruntime.SessionOptions, m map[string]string) error {
	po, err := onnxruntime.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("ort: create CUDA provider options: %w", err)
	}
	defer po.Destroy()
	if err := po.Update(m); err != nil {
		return fmt.Errorf("ort: set CUDA provider options %v: %w", m, err)
	}
	if err := so.AppendExecutionProviderCUDA(po); err != nil {
		return fmt.Errorf("ort: enable CUDA provider: %w", err)
	}
	return nil
}

// appendTensorRT adds the TensorRT provider with options m to so.
func appendTensorRT(so *onnxruntime.SessionOptions, m map[string]string) error {
	po, err := onnxruntime.NewTensorRTProviderOptions()
	if err != nil {
		return fmt.Errorf("ort: create TensorRT provider options: %w", err)
	}
	defer po.Destroy()
	if err := po.Update(m); err != nil {
		return fmt.Errorf("ort: set TensorRT provider options %v: %w", m, err)
	}
	if err := so.AppendExecutionProviderTensorRT(po); err != nil {
		return fmt.Errorf("ort: enable TensorRT provider: %w", err)
	}
	return nil
}
