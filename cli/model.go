package cli

import (
	"errors"
	"fmt"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/runtime"
)

// openModel opens an exported ONNX generator, or a generator checkpoint
// (PyTorch .pth/.pt/.ckpt or safetensors, told by its bytes, not its name)
// exported in memory as `ganrt export` would with no flags. Weights that hold
// NaN or infinite values are refused (an *export.NonFiniteError) unless
// allowNonFinite.
func openModel(path string, o runtime.Options, allowNonFinite bool) (*runtime.Translator, error) {
	format, err := ckpt.SniffFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if format == ckpt.Unknown {
		if !allowNonFinite {
			// An unreadable model is left to runtime.Open to report.
			if info, err := export.Inspect(path); err == nil && len(info.NonFinite) > 0 {
				return nil, &export.NonFiniteError{Path: path, Tensors: info.NonFinite}
			}
		}
		return runtime.Open(path, o)
	}
	m, err := export.Load(path, export.Overrides{AllowNonFinite: allowNonFinite})
	if err != nil {
		if nf := (*export.NonFiniteError)(nil); errors.As(err, &nf) {
			return nil, err
		}
		return nil, fmt.Errorf("%s is a %s checkpoint, which ganrt runs by exporting it in memory, and that failed: %w "+
			"(ganrt export takes flags that may help: ganrt help export)", path, format, err)
	}
	if !m.Spec.IsGenerator() {
		return nil, fmt.Errorf("%s holds a %s, not a generator", path, m.Spec)
	}
	model, err := export.ONNX(m, export.ONNXOptions{})
	if err != nil {
		return nil, fmt.Errorf("export %s in memory: %w", path, err)
	}
	return runtime.OpenModel(path, model, o)
}
