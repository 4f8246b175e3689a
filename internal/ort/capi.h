// capi.h declares the calls into ONNX Runtime's C API that onnxruntime_go
// v1.27.0 does not wrap: execution-provider libraries and devices (plugin
// EPs), memory information, allocators, tensors in ORT-owned memory and I/O
// binding. They go through the OrtApi function table of the library that
// onnxruntime_go loaded. The table's layout is fixed across releases (new
// entries are only appended), so the indexes in capi.c, read off the C API
// 24 header that onnxruntime_go vendors, hold for every library of API 24 or
// later; apiIndexes in api.go exposes them to a test that checks them
// against that header.
//
// Every function that can fail returns NULL, or an error message that the
// caller frees with free().
#ifndef GANRT_CAPI_H
#define GANRT_CAPI_H

#include <stddef.h>
#include <stdint.h>

typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtIoBinding OrtIoBinding;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtAllocator OrtAllocator;
typedef struct OrtEpDevice OrtEpDevice;
typedef struct OrtKeyValuePairs OrtKeyValuePairs;
typedef struct OrtRunOptions OrtRunOptions;

// The C API version ganrt asks for: ORT_API_VERSION of onnxruntime_go v1.27.0.
enum { ganrtApiVersion = 24 };

// Enumerations of the C API that ganrt passes or reads.
enum {
	ganrtFloat = 1,             // ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT
	ganrtHardwareCPU = 0,       // OrtHardwareDeviceType_CPU
	ganrtHardwareGPU = 1,       // OrtHardwareDeviceType_GPU
	ganrtHardwareNPU = 2,       // OrtHardwareDeviceType_NPU
	ganrtMemoryDefault = 0,     // OrtDeviceMemoryType_DEFAULT
	ganrtMemoryHostAccessible = 5, // OrtDeviceMemoryType_HOST_ACCESSIBLE
	ganrtMemDeviceCPU = 0,      // OrtMemoryInfoDeviceType_CPU
	ganrtMemDeviceGPU = 1,      // OrtMemoryInfoDeviceType_GPU
};

// ganrt_load looks up the API table of the loaded library lib (dlopen with
// RTLD_NOLOAD: it must already be loaded) and the process's ORT environment
// (CreateEnv returns the one environment of the process, which
// onnxruntime_go created). Later calls use them.
char *ganrt_load(const char *lib);
int ganrt_api_index(const char *name);

// Providers compiled into the library.
char *ganrt_providers(char ***out, int *n);
void ganrt_release_providers(char **p, int n);

// Execution-provider libraries and devices.
char *ganrt_register_ep_library(const char *name, const char *path);
char *ganrt_ep_devices(const OrtEpDevice *const **out, size_t *n);
const char *ganrt_ep_name(const OrtEpDevice *d);
const char *ganrt_ep_vendor(const OrtEpDevice *d);
int ganrt_hw_type(const OrtEpDevice *d);
uint32_t ganrt_hw_vendor_id(const OrtEpDevice *d);
uint32_t ganrt_hw_device_id(const OrtEpDevice *d);
const char *ganrt_hw_vendor(const OrtEpDevice *d);
// ganrt_ep_pairs reads one of the device's key-value lists: which is 0 for
// the EP's metadata, 1 for its default options, 2 for the hardware's
// metadata. The strings belong to ORT.
void ganrt_ep_pairs(const OrtEpDevice *d, int which, const char *const **keys, const char *const **vals, size_t *n);
char *ganrt_append_ep(OrtSessionOptions *so, const OrtEpDevice *const *devs, size_t n,
	const char *const *keys, const char *const *vals, size_t nopts);
const OrtMemoryInfo *ganrt_ep_memory(const OrtEpDevice *d, int memoryType);

// Memory information and allocators.
char *ganrt_session_memory(OrtSession *s, int outputs, const OrtMemoryInfo **out, size_t n);
char *ganrt_memory_desc(const OrtMemoryInfo *m, const char **name, int *id, int *memType, int *deviceType);
char *ganrt_cpu_memory(OrtMemoryInfo **out);
// ganrt_memory_new describes device-allocator memory by its classic name
// ("CudaPinned"), device id and OrtMemType (-1: CPU output memory).
char *ganrt_memory_new(const char *name, int id, int memType, OrtMemoryInfo **out);
void ganrt_release_memory(OrtMemoryInfo *m);
char *ganrt_allocator(OrtSession *s, const OrtMemoryInfo *m, OrtAllocator **out);
void ganrt_release_allocator(OrtAllocator *a);

// Float32 tensors: allocated by an allocator, or wrapping caller memory.
char *ganrt_tensor_new(OrtAllocator *a, const int64_t *shape, size_t rank, OrtValue **out);
char *ganrt_tensor_wrap(const OrtMemoryInfo *m, void *data, size_t bytes, const int64_t *shape, size_t rank, OrtValue **out);
char *ganrt_tensor_data(OrtValue *v, void **out);
char *ganrt_value_memory(const OrtValue *v, const OrtMemoryInfo **out);
void ganrt_release_value(OrtValue *v);

// I/O binding.
char *ganrt_binding_new(OrtSession *s, OrtIoBinding **out);
void ganrt_binding_release(OrtIoBinding *b);
char *ganrt_bind_input(OrtIoBinding *b, const char *name, const OrtValue *v);
char *ganrt_bind_output(OrtIoBinding *b, const char *name, const OrtValue *v);
void ganrt_binding_clear(OrtIoBinding *b);
// Run options: ganrt_run_options_terminate makes a run using them fail soon
// (from any thread).
char *ganrt_run_options_new(OrtRunOptions **out);
char *ganrt_run_options_terminate(OrtRunOptions *o);
void ganrt_run_options_release(OrtRunOptions *o);
// ganrt_run_binding runs s on b's values with run options ro (NULL: none)
// and waits until bound outputs are written (SynchronizeBoundOutputs).
char *ganrt_run_binding(OrtSession *s, const OrtRunOptions *ro, OrtIoBinding *b);

#endif
