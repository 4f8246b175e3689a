// Package ort is ganrt's one gateway to ONNX Runtime (ORT): it finds and loads
// the ORT shared library, creates the process-wide ORT environment, and runs
// ONNX models held in memory on float32 tensors owned by Go.
//
// # Library and environment
//
// ORT is loaded at run time (through github.com/yalue/onnxruntime_go), so
// building needs no ORT files; only running does. [Init] picks the library
// (see [FindLibrary] for the search order: explicit path,
// $ONNXRUNTIME_SHARED_LIBRARY_PATH, the project's .ort/ folder, the system
// loader) and creates the single ORT environment of the process. It is
// idempotent and safe from any goroutine; [NewSession] calls it with an empty
// path when nobody has. The environment lives until the process exits: there
// is deliberately no way to destroy it, since sessions and tensors would
// dangle. The CPU library is installed with `make ort`; CUDA and TensorRT need
// an official GPU build named by $ONNXRUNTIME_SHARED_LIBRARY_PATH.
//
// # Sessions
//
// A [Session] is one loaded model on one execution provider, chosen by a
// [Device] (cpu, cuda[:N], tensorrt[:N] or auto). Its inputs and outputs are
// [Tensor] values: a shape and a flat row-major []float32 (image tensors are
// NCHW, [batch, channels, height, width]). [Session.Run] writes outputs into
// buffers the caller sized, and reuses the ORT wrappers of buffers it has
// seen before, so a steady loop allocates no tensor memory; [Session.RunAlloc]
// lets ORT size the outputs and returns new Go slices.
//
// # Memory ownership
//
// Go owns every tensor's data. ORT owns the session and the small wrappers
// (OrtValue) that point at Go data; the Session keeps those wrappers, and the
// Go slices they point at, alive until [Session.Close], which the creator of
// the Session calls exactly once. Nothing else in this package needs freeing.
//
// # Errors
//
// Errors from ORT are returned wrapped with what was being done ("ort: run
// model: ..."); a missing library is an error that says how to install one.
package ort
