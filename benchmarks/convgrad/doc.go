// Package convgrad benchmarks the ONNX lowerings of the convolution-gradient
// ops (graph.OpConvTranspose as a Conv's input gradient or a decoder's
// upsampling, graph.OpConvFilterGrad as its filter gradient) on ONNX Runtime
// at the layer shapes of a 256x256 CycleGAN generator, batch 1, against the
// forward Conv of the same layer. The benchmarks live in convgrad_test.go;
// benchmarks/README.md has the command and the results, from which the
// defaults of graph.ONNXOptions were chosen.
package convgrad
