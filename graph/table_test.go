package graph

import "testing"

// TestOpTablesComplete walks the op list and fails on an op that lacks any
// of its four rows: definition with a shape rule, gradient rule (noGrad for
// a non-differentiable op), reference kernel and ONNX lowering.
func TestOpTablesComplete(t *testing.T) {
	for _, op := range Ops() {
		def := opTable[op]
		if def.name == "" || def.shape == nil {
			t.Errorf("op %d has no name or shape rule", op)
		}
		if def.maxArity >= 0 && def.maxArity < def.minArity {
			t.Errorf("op %s: max arity %d below min arity %d", op, def.maxArity, def.minArity)
		}
		if gradRules[op] == nil {
			t.Errorf("op %s has no gradient rule (use noGrad for a non-differentiable op)", op)
		}
		if evalKernels[op] == nil {
			t.Errorf("op %s has no reference kernel", op)
		}
		if onnxLowerings[op] == nil {
			t.Errorf("op %s has no ONNX lowering", op)
		}
	}
}
