// capi.c: see capi.h.
#include "capi.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// The OrtApi entries ganrt calls and their indexes in the table (entry
// number = offset / sizeof(void *)), from onnxruntime_c_api.h of C API 24.
#define GANRT_API(X)                                   \
	X(GetErrorMessage, 2)                              \
	X(CreateEnv, 3)                                    \
	X(CreateRunOptions, 39)                            \
	X(RunOptionsSetTerminate, 46)                      \
	X(CreateTensorAsOrtValue, 48)                      \
	X(CreateTensorWithDataAsOrtValue, 49)              \
	X(GetTensorMutableData, 51)                        \
	X(CreateMemoryInfo, 68)                            \
	X(CreateCpuMemoryInfo, 69)                         \
	X(MemoryInfoGetName, 71)                           \
	X(MemoryInfoGetId, 72)                             \
	X(MemoryInfoGetMemType, 73)                        \
	X(ReleaseStatus, 93)                               \
	X(ReleaseMemoryInfo, 94)                           \
	X(ReleaseValue, 96)                                \
	X(ReleaseRunOptions, 97)                           \
	X(GetAvailableProviders, 125)                      \
	X(ReleaseAvailableProviders, 126)                  \
	X(CreateAllocator, 131)                            \
	X(ReleaseAllocator, 132)                           \
	X(RunWithBinding, 133)                             \
	X(CreateIoBinding, 134)                            \
	X(ReleaseIoBinding, 135)                           \
	X(BindInput, 136)                                  \
	X(BindOutput, 137)                                 \
	X(ClearBoundInputs, 141)                           \
	X(ClearBoundOutputs, 142)                          \
	X(GetTensorMemoryInfo, 194)                        \
	X(SynchronizeBoundOutputs, 203)                    \
	X(MemoryInfoGetDeviceType, 225)                    \
	X(GetKeyValuePairs, 298)                           \
	X(RegisterExecutionProviderLibrary, 301)           \
	X(GetEpDevices, 303)                               \
	X(SessionOptionsAppendExecutionProvider_V2, 304)   \
	X(HardwareDevice_Type, 307)                        \
	X(HardwareDevice_VendorId, 308)                    \
	X(HardwareDevice_Vendor, 309)                      \
	X(HardwareDevice_DeviceId, 310)                    \
	X(HardwareDevice_Metadata, 311)                    \
	X(EpDevice_EpName, 312)                            \
	X(EpDevice_EpVendor, 313)                          \
	X(EpDevice_EpMetadata, 314)                        \
	X(EpDevice_EpOptions, 315)                         \
	X(EpDevice_Device, 316)                            \
	X(EpDevice_MemoryInfo, 374)                        \
	X(SessionGetMemoryInfoForInputs, 380)              \
	X(SessionGetMemoryInfoForOutputs, 381)

enum {
#define GANRT_ENUM(name, index) idx_##name = index,
	GANRT_API(GANRT_ENUM)
#undef GANRT_ENUM
};

int ganrt_api_index(const char *name) {
#define GANRT_LOOKUP(n, index) \
	if (strcmp(name, #n) == 0) return index;
	GANRT_API(GANRT_LOOKUP)
#undef GANRT_LOOKUP
	return -1;
}

typedef struct OrtStatus OrtStatus;
typedef struct OrtHardwareDevice OrtHardwareDevice;
typedef struct {
	void *const *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} ganrtApiBase;

static void *const *api;
static OrtEnv *env;

#define FN(name) (*(ganrt_##name##_fn)api[idx_##name])

typedef const char *(*ganrt_GetErrorMessage_fn)(const OrtStatus *);
typedef void (*ganrt_ReleaseStatus_fn)(OrtStatus *);
typedef OrtStatus *(*ganrt_CreateEnv_fn)(int, const char *, OrtEnv **);
typedef OrtStatus *(*ganrt_GetAvailableProviders_fn)(char ***, int *);
typedef OrtStatus *(*ganrt_ReleaseAvailableProviders_fn)(char **, int);
typedef OrtStatus *(*ganrt_RegisterExecutionProviderLibrary_fn)(OrtEnv *, const char *, const char *);
typedef OrtStatus *(*ganrt_GetEpDevices_fn)(const OrtEnv *, const OrtEpDevice *const **, size_t *);
typedef OrtStatus *(*ganrt_SessionOptionsAppendExecutionProvider_V2_fn)(OrtSessionOptions *, OrtEnv *,
	const OrtEpDevice *const *, size_t, const char *const *, const char *const *, size_t);
typedef const char *(*ganrt_EpDevice_EpName_fn)(const OrtEpDevice *);
typedef const char *(*ganrt_EpDevice_EpVendor_fn)(const OrtEpDevice *);
typedef const OrtKeyValuePairs *(*ganrt_EpDevice_EpMetadata_fn)(const OrtEpDevice *);
typedef const OrtKeyValuePairs *(*ganrt_EpDevice_EpOptions_fn)(const OrtEpDevice *);
typedef const OrtHardwareDevice *(*ganrt_EpDevice_Device_fn)(const OrtEpDevice *);
typedef const OrtMemoryInfo *(*ganrt_EpDevice_MemoryInfo_fn)(const OrtEpDevice *, int);
typedef int (*ganrt_HardwareDevice_Type_fn)(const OrtHardwareDevice *);
typedef uint32_t (*ganrt_HardwareDevice_VendorId_fn)(const OrtHardwareDevice *);
typedef const char *(*ganrt_HardwareDevice_Vendor_fn)(const OrtHardwareDevice *);
typedef uint32_t (*ganrt_HardwareDevice_DeviceId_fn)(const OrtHardwareDevice *);
typedef const OrtKeyValuePairs *(*ganrt_HardwareDevice_Metadata_fn)(const OrtHardwareDevice *);
typedef void (*ganrt_GetKeyValuePairs_fn)(const OrtKeyValuePairs *, const char *const **, const char *const **, size_t *);
typedef OrtStatus *(*ganrt_SessionGetMemoryInfoForInputs_fn)(const OrtSession *, const OrtMemoryInfo **, size_t);
typedef OrtStatus *(*ganrt_SessionGetMemoryInfoForOutputs_fn)(const OrtSession *, const OrtMemoryInfo **, size_t);
typedef OrtStatus *(*ganrt_MemoryInfoGetName_fn)(const OrtMemoryInfo *, const char **);
typedef OrtStatus *(*ganrt_MemoryInfoGetId_fn)(const OrtMemoryInfo *, int *);
typedef OrtStatus *(*ganrt_MemoryInfoGetMemType_fn)(const OrtMemoryInfo *, int *);
typedef void (*ganrt_MemoryInfoGetDeviceType_fn)(const OrtMemoryInfo *, int *);
typedef OrtStatus *(*ganrt_CreateMemoryInfo_fn)(const char *, int, int, int, OrtMemoryInfo **);
typedef OrtStatus *(*ganrt_CreateCpuMemoryInfo_fn)(int, int, OrtMemoryInfo **);
typedef void (*ganrt_ReleaseMemoryInfo_fn)(OrtMemoryInfo *);
typedef OrtStatus *(*ganrt_CreateAllocator_fn)(const OrtSession *, const OrtMemoryInfo *, OrtAllocator **);
typedef void (*ganrt_ReleaseAllocator_fn)(OrtAllocator *);
typedef OrtStatus *(*ganrt_CreateTensorAsOrtValue_fn)(OrtAllocator *, const int64_t *, size_t, int, OrtValue **);
typedef OrtStatus *(*ganrt_CreateTensorWithDataAsOrtValue_fn)(const OrtMemoryInfo *, void *, size_t, const int64_t *,
	size_t, int, OrtValue **);
typedef OrtStatus *(*ganrt_GetTensorMutableData_fn)(OrtValue *, void **);
typedef OrtStatus *(*ganrt_GetTensorMemoryInfo_fn)(const OrtValue *, const OrtMemoryInfo **);
typedef void (*ganrt_ReleaseValue_fn)(OrtValue *);
typedef OrtStatus *(*ganrt_CreateIoBinding_fn)(OrtSession *, OrtIoBinding **);
typedef void (*ganrt_ReleaseIoBinding_fn)(OrtIoBinding *);
typedef OrtStatus *(*ganrt_BindInput_fn)(OrtIoBinding *, const char *, const OrtValue *);
typedef OrtStatus *(*ganrt_BindOutput_fn)(OrtIoBinding *, const char *, const OrtValue *);
typedef void (*ganrt_ClearBoundInputs_fn)(OrtIoBinding *);
typedef void (*ganrt_ClearBoundOutputs_fn)(OrtIoBinding *);
typedef OrtStatus *(*ganrt_CreateRunOptions_fn)(OrtRunOptions **);
typedef OrtStatus *(*ganrt_RunOptionsSetTerminate_fn)(OrtRunOptions *);
typedef void (*ganrt_ReleaseRunOptions_fn)(OrtRunOptions *);
typedef OrtStatus *(*ganrt_RunWithBinding_fn)(OrtSession *, const OrtRunOptions *, const OrtIoBinding *);
typedef OrtStatus *(*ganrt_SynchronizeBoundOutputs_fn)(OrtIoBinding *);

// message turns a status into a malloc'd message (NULL for success) and
// releases it.
static char *message(OrtStatus *st) {
	if (st == NULL) return NULL;
	char *msg = strdup(FN(GetErrorMessage)(st));
	FN(ReleaseStatus)(st);
	return msg;
}

char *ganrt_load(const char *lib) {
	void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	if (h == NULL) return strdup("library is not loaded");
	const ganrtApiBase *(*getBase)(void) = (const ganrtApiBase *(*)(void))dlsym(h, "OrtGetApiBase");
	dlclose(h); // the library stays loaded: onnxruntime_go holds it open
	if (getBase == NULL) return strdup("OrtGetApiBase not found");
	void *const *table = getBase()->GetApi(ganrtApiVersion);
	if (table == NULL) return strdup("ORT C API version 24 not supported");
	api = table;
	// Warning level (2) as onnxruntime_go; ignored since the environment exists.
	return message(FN(CreateEnv)(2, "ganrt", &env));
}

char *ganrt_providers(char ***out, int *n) { return message(FN(GetAvailableProviders)(out, n)); }

void ganrt_release_providers(char **p, int n) {
	OrtStatus *st = FN(ReleaseAvailableProviders)(p, n);
	if (st != NULL) FN(ReleaseStatus)(st);
}

char *ganrt_register_ep_library(const char *name, const char *path) {
	return message(FN(RegisterExecutionProviderLibrary)(env, name, path));
}

char *ganrt_ep_devices(const OrtEpDevice *const **out, size_t *n) { return message(FN(GetEpDevices)(env, out, n)); }

const char *ganrt_ep_name(const OrtEpDevice *d) { return FN(EpDevice_EpName)(d); }
const char *ganrt_ep_vendor(const OrtEpDevice *d) { return FN(EpDevice_EpVendor)(d); }
int ganrt_hw_type(const OrtEpDevice *d) { return FN(HardwareDevice_Type)(FN(EpDevice_Device)(d)); }
uint32_t ganrt_hw_vendor_id(const OrtEpDevice *d) { return FN(HardwareDevice_VendorId)(FN(EpDevice_Device)(d)); }
uint32_t ganrt_hw_device_id(const OrtEpDevice *d) { return FN(HardwareDevice_DeviceId)(FN(EpDevice_Device)(d)); }
const char *ganrt_hw_vendor(const OrtEpDevice *d) { return FN(HardwareDevice_Vendor)(FN(EpDevice_Device)(d)); }

void ganrt_ep_pairs(const OrtEpDevice *d, int which, const char *const **keys, const char *const **vals, size_t *n) {
	const OrtKeyValuePairs *kv = NULL;
	switch (which) {
	case 0: kv = FN(EpDevice_EpMetadata)(d); break;
	case 1: kv = FN(EpDevice_EpOptions)(d); break;
	case 2: kv = FN(HardwareDevice_Metadata)(FN(EpDevice_Device)(d)); break;
	}
	*n = 0;
	if (kv != NULL) FN(GetKeyValuePairs)(kv, keys, vals, n);
}

char *ganrt_append_ep(OrtSessionOptions *so, const OrtEpDevice *const *devs, size_t n,
	const char *const *keys, const char *const *vals, size_t nopts) {
	return message(FN(SessionOptionsAppendExecutionProvider_V2)(so, env, devs, n, keys, vals, nopts));
}

const OrtMemoryInfo *ganrt_ep_memory(const OrtEpDevice *d, int memoryType) {
	return FN(EpDevice_MemoryInfo)(d, memoryType);
}

char *ganrt_session_memory(OrtSession *s, int outputs, const OrtMemoryInfo **out, size_t n) {
	if (outputs) return message(FN(SessionGetMemoryInfoForOutputs)(s, out, n));
	return message(FN(SessionGetMemoryInfoForInputs)(s, out, n));
}

char *ganrt_memory_desc(const OrtMemoryInfo *m, const char **name, int *id, int *memType, int *deviceType) {
	char *msg = message(FN(MemoryInfoGetName)(m, name));
	if (msg == NULL) msg = message(FN(MemoryInfoGetId)(m, id));
	if (msg == NULL) msg = message(FN(MemoryInfoGetMemType)(m, memType));
	if (msg == NULL) FN(MemoryInfoGetDeviceType)(m, deviceType);
	return msg;
}

char *ganrt_cpu_memory(OrtMemoryInfo **out) {
	// OrtDeviceAllocator (0), OrtMemTypeDefault (0): plain host memory.
	return message(FN(CreateCpuMemoryInfo)(0, 0, out));
}

char *ganrt_memory_new(const char *name, int id, int memType, OrtMemoryInfo **out) {
	// OrtDeviceAllocator (0).
	return message(FN(CreateMemoryInfo)(name, 0, id, memType, out));
}

void ganrt_release_memory(OrtMemoryInfo *m) { FN(ReleaseMemoryInfo)(m); }

char *ganrt_allocator(OrtSession *s, const OrtMemoryInfo *m, OrtAllocator **out) {
	return message(FN(CreateAllocator)(s, m, out));
}

void ganrt_release_allocator(OrtAllocator *a) { FN(ReleaseAllocator)(a); }

char *ganrt_tensor_new(OrtAllocator *a, const int64_t *shape, size_t rank, OrtValue **out) {
	return message(FN(CreateTensorAsOrtValue)(a, shape, rank, ganrtFloat, out));
}

char *ganrt_tensor_wrap(const OrtMemoryInfo *m, void *data, size_t bytes, const int64_t *shape, size_t rank,
	OrtValue **out) {
	return message(FN(CreateTensorWithDataAsOrtValue)(m, data, bytes, shape, rank, ganrtFloat, out));
}

char *ganrt_tensor_data(OrtValue *v, void **out) { return message(FN(GetTensorMutableData)(v, out)); }

char *ganrt_value_memory(const OrtValue *v, const OrtMemoryInfo **out) {
	return message(FN(GetTensorMemoryInfo)(v, out));
}

void ganrt_release_value(OrtValue *v) { FN(ReleaseValue)(v); }

char *ganrt_binding_new(OrtSession *s, OrtIoBinding **out) { return message(FN(CreateIoBinding)(s, out)); }

void ganrt_binding_release(OrtIoBinding *b) { FN(ReleaseIoBinding)(b); }

char *ganrt_bind_input(OrtIoBinding *b, const char *name, const OrtValue *v) {
	return message(FN(BindInput)(b, name, v));
}

char *ganrt_bind_output(OrtIoBinding *b, const char *name, const OrtValue *v) {
	return message(FN(BindOutput)(b, name, v));
}

void ganrt_binding_clear(OrtIoBinding *b) {
	FN(ClearBoundInputs)(b);
	FN(ClearBoundOutputs)(b);
}

char *ganrt_run_options_new(OrtRunOptions **out) { return message(FN(CreateRunOptions)(out)); }

char *ganrt_run_options_terminate(OrtRunOptions *o) { return message(FN(RunOptionsSetTerminate)(o)); }

void ganrt_run_options_release(OrtRunOptions *o) { FN(ReleaseRunOptions)(o); }

char *ganrt_run_binding(OrtSession *s, const OrtRunOptions *ro, OrtIoBinding *b) {
	char *msg = message(FN(RunWithBinding)(s, ro, b));
	if (msg == NULL) msg = message(FN(SynchronizeBoundOutputs)(b));
	return msg;
}
