package export

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/internal/atomicfile"
)

// WriteSafetensors writes the model as a ganrt checkpoint: its entries under
// the reference's state-dict keys (StarGAN's running statistics included,
// the published CycleGAN files' stray ones dropped) and its spec in the
// metadata. The write is atomic.
func WriteSafetensors(m *Model, path string) error {
	sd, err := m.Spec.StateDict(m.Weights)
	if err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	if err := atomicfile.CheckNotInput(path, m.Path); err != nil {
		return err
	}
	return ckpt.WriteSafetensors(path, sd)
}

// WriteONNX exports the model's generator to path atomically; a path that
// is the model's own file (also through a link) is refused, wrapping
// atomicfile.ErrOverwritesInput.
func WriteONNX(m *Model, path string, o ONNXOptions) error {
	if err := atomicfile.CheckNotInput(path, m.Path); err != nil {
		return err
	}
	model, err := ONNX(m, o)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, model)
}

// Convert reads src (a PyTorch state dict or a ganrt checkpoint) and writes
// dst, whose extension picks the format: .safetensors (a ganrt checkpoint)
// or .onnx (the frozen generator). It returns the model, whose Warnings say
// what dst will not know.
func Convert(src, dst string, ov Overrides, o ONNXOptions) (*Model, error) {
	ext := strings.ToLower(filepath.Ext(dst))
	if ext != ".safetensors" && ext != ".onnx" {
		return nil, fmt.Errorf("%s: unknown output format %q (want .safetensors or .onnx)", dst, ext)
	}
	if err := atomicfile.CheckNotInput(dst, src); err != nil {
		return nil, err
	}
	m, err := Load(src, ov)
	if err != nil {
		return nil, err
	}
	if ext == ".onnx" {
		return m, WriteONNX(m, dst, o)
	}
	return m, WriteSafetensors(m, dst)
}
