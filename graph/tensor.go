package graph

import "fmt"

// Tensor is a dense row-major value of the reference evaluator and of
// constants: Data holds Shape.Size() elements (bools as 0 or 1). It is
// float64 so that finite-difference checks have precision to spare.
type Tensor struct {
	Shape Shape
	Data  []float64
}

// NewTensor returns a zero tensor of a static shape.
func NewTensor(shape Shape) *Tensor {
	if !shape.Static() {
		panic(fmt.Sprintf("graph: NewTensor of dynamic shape %v", shape))
	}
	return &Tensor{Shape: shape.Clone(), Data: make([]float64, shape.Size())}
}

// TensorOf wraps data (not copied) with a shape; it panics if the sizes
// disagree.
func TensorOf(shape Shape, data []float64) *Tensor {
	if shape.Size() != len(data) {
		panic(fmt.Sprintf("graph: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: shape.Clone(), Data: data}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: t.Shape.Clone(), Data: append([]float64(nil), t.Data...)}
}

// Float32 returns the data converted to float32.
func (t *Tensor) Float32() []float32 {
	out := make([]float32, len(t.Data))
	for i, v := range t.Data {
		out[i] = float32(v)
	}
	return out
}

// TensorFromFloat32 converts float32 data to a tensor.
func TensorFromFloat32(shape Shape, data []float32) *Tensor {
	t := NewTensor(shape)
	if len(data) != len(t.Data) {
		panic(fmt.Sprintf("graph: %d values for shape %v", len(data), shape))
	}
	for i, v := range data {
		t.Data[i] = float64(v)
	}
	return t
}
