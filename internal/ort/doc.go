// Package ort is ganrt's one gateway to ONNX Runtime (ORT): it finds and loads
// the ORT shared library, creates the process-wide ORT environment, and runs
// ONNX models held in memory on float32 tensors owned by Go.
//
// # Library and environment
//
// ORT is loaded at run time (through github.com/yalue/onnxruntime_go), so
// building needs no ORT files; only running does. [InitWith] picks the
// library (see [FindLibraryFor] for the search order: explicit path,
// $ONNXRUNTIME_SHARED_LIBRARY_PATH, a library installed with the
// executable, the project's .ort-gpu/ and .ort/ folders, the system loader)
// and creates the single ORT environment of the process. It is idempotent
// and safe from any goroutine; [NewSession] calls it with an empty path when
// nobody has. The environment lives until the process exits: there is
// deliberately no way to destroy it, since sessions and tensors would
// dangle. The CPU library is installed with `make ort`.
//
// # CUDA
//
// A cuda device gets the CUDA provider one of two ways (see CheckProvider):
// from a core with CUDA built in (an official GPU build), through the
// classic provider options; or, for a core without it such as the ORT 1.29
// that `make ort-gpu` installs, from the CUDA plugin library beside it,
// registered once per process (RegisterExecutionProviderLibrary) and
// appended as an EP device (SessionOptionsAppendExecutionProvider_V2). The
// calls onnxruntime_go does not wrap go through the OrtApi table (capi.c).
// A plugin that does not load gives an error naming the CUDA libraries that
// do not (CheckLibraries); [Diagnose] reports all of it.
//
// # I/O binding and device memory
//
// A [Memory] allocates [Value] tensors in a device's memory, where they stay
// between runs; a [Binding] ties a session's inputs and outputs to Values
// and to Go buffers. GPU sessions run [Session.Run] through a binding
// (inputs staged in pinned host memory where the provider has it); with
// SessionOptions.Binding the CPU does too, which is how tests run the GPU's
// code. [Traffic] counts the bytes that cross.
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
