// Package graph is ganrt's tensor IR: a small symbolic graph of float32
// tensors in NCHW layout that every network, loss and optimizer is written
// against once, and that serves three uses.
//
//   - Export: an inference graph is serialized to ONNX (see onnx.go) with its
//     parameters as initializers and dynamic batch/height/width.
//   - Training: Grad (autodiff.go) turns a loss into gradient nodes that are
//     ordinary nodes, so they can be differentiated again (second order, as
//     StarGAN's gradient penalty needs). A whole training step is one graph
//     that ONNX Runtime runs.
//   - Testing: Eval (eval.go) is a plain-Go float64 reference evaluator for any
//     graph; it is the oracle for finite-difference checks and for agreement
//     with ONNX Runtime. It is not a product path.
//
// # Graphs and nodes
//
// A Graph owns Nodes. Every node produces exactly one tensor value with a
// DType and a Shape; a negative dimension is dynamic (unknown until run
// time). Node ids follow creation order, so the node list is already in
// topological order and backpropagation is a reverse loop over it.
//
// Ops are verbs (Add, Conv, ReduceMean, ...) that take nodes and return a
// new node in the same graph. Every op has one row in each of four tables
// keyed by Op: its definition with arity and shape rule (ops.go), its
// gradient rule (autodiff.go), its reference kernel (eval.go) and its ONNX
// lowering (onnx.go). A test walks the tables and fails on a missing piece.
//
// # Errors
//
// Building a graph with inconsistent shapes panics with an *Error that names
// the node and the shapes; Build, Grad and the other package entry points
// recover it and return it as an ordinary error, so callers outside the
// package never see the panic:
//
//	g, err := graph.Build(func(g *graph.Graph) {
//		x := g.Input("x", graph.Float32, graph.Shape{-1, 3, -1, -1})
//		g.Output("y", graph.Tanh(x))
//	})
package graph
