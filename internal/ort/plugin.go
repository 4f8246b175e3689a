package ort

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "capi.h"

// ganrt_try_dlopen loads lib the way ORT's dependencies load and unloads it,
// returning NULL or dlerror()'s message (to free()).
static char *ganrt_try_dlopen(const char *lib) {
	void *h = dlopen(lib, RTLD_LAZY | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		return strdup(e != NULL ? e : "dlopen failed");
	}
	dlclose(h);
	return NULL;
}
*/
import "C"

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// The CUDA library of the GPU packages that `make ort-gpu` installs
// (libonnxruntime_providers_cuda.so, built for CUDA 13) is a plugin
// execution provider: it exports CreateEpFactories, so a core library
// without CUDA compiled in (ORT 1.29 from those packages lists only
// CPUExecutionProvider) gains CUDA at run time through
// RegisterExecutionProviderLibrary, GetEpDevices and
// SessionOptionsAppendExecutionProvider_V2. The same file is also the
// provider library of an official GPU build, which reaches it through the
// classic CUDA provider options instead; see cudaRoute.

// EnvCUDAPlugin is the environment variable that names the CUDA plugin
// library, when it is not beside the core library.
const EnvCUDAPlugin = "GANRT_CUDA_PLUGIN"

// CUDAPluginFile is the CUDA plugin's file name, looked for beside the core.
const CUDAPluginFile = "libonnxruntime_providers_cuda.so"

// cudaPluginName is the name ganrt registers the plugin under.
const cudaPluginName = "ganrt_cuda"

// cudaRuntimeLibraries are libraries the CUDA provider loads while it runs
// rather than through its ELF dependencies: cuDNN 9, which every convolution
// needs.
var cudaRuntimeLibraries = []string{"libcudnn.so.9"}

// baseLibraries are ELF dependencies that every Linux system has; they are
// left out of dependency reports.
var baseLibraries = []string{"libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0",
	"libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"}

// setCUDAPlugin records the plugin path given to InitWith. Callers hold
// initMu.
func setCUDAPlugin(p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("ort: CUDA plugin %s: %w", p, err)
	}
	pluginMu.Lock()
	defer pluginMu.Unlock()
	if pluginDone && pluginPath != abs {
		return fmt.Errorf("ort: the CUDA plugin %s is already registered; cannot also use %s (one per process)", pluginPath, abs)
	}
	cudaPlugin = abs
	return nil
}

// CUDAPluginPath returns the CUDA plugin library that cuda devices would
// register, and which rule chose it: "argument" (Libraries.CUDAPlugin),
// "$GANRT_CUDA_PLUGIN", or "beside the core library" when that file exists;
// "", "" when there is none. It needs the core loaded for the last rule.
func CUDAPluginPath() (path, source string) {
	initMu.Lock()
	given := cudaPlugin
	core := ""
	if loaded != nil {
		core = loaded.Path
	}
	initMu.Unlock()
	return findCUDAPlugin(given, os.Getenv(EnvCUDAPlugin), core, fileExists)
}

// findCUDAPlugin is CUDAPluginPath with its inputs made explicit for tests.
func findCUDAPlugin(given, env, core string, exists func(string) bool) (path, source string) {
	switch {
	case given != "":
		return given, sourceArgument
	case env != "":
		if abs, err := filepath.Abs(env); err == nil {
			env = abs
		}
		return env, "$" + EnvCUDAPlugin
	case strings.ContainsRune(core, filepath.Separator):
		p := filepath.Join(filepath.Dir(core), CUDAPluginFile)
		if exists(p) {
			return p, "beside the core library"
		}
	}
	return "", ""
}

// The process-wide plugin state: registered at most once.
var (
	pluginMu   sync.Mutex
	pluginDone bool   // registration was tried
	pluginPath string // the library tried
	pluginErr  error  // its result
)

// registerCUDAPlugin registers the CUDA plugin library with the ORT
// environment, once per process, and returns the result of that one try.
// A library that does not load gives an error that names the CUDA
// libraries that do not load (see CheckLibraries).
func registerCUDAPlugin() error {
	if err := Init(""); err != nil {
		return err
	}
	path, source := CUDAPluginPath()
	pluginMu.Lock()
	defer pluginMu.Unlock()
	if pluginDone {
		if path != pluginPath {
			return fmt.Errorf("ort: the CUDA plugin %s is already registered; cannot also use %s (one per process)", pluginPath, path)
		}
		return pluginErr
	}
	if path == "" {
		// Not an attempt: a plugin may still be named later.
		return fmt.Errorf("%w: no CUDA plugin: %s has no CUDA built in, no %s beside it, and $%s is unset; run `make ort-gpu` (or set %s to an official ONNX Runtime GPU build)",
			ErrProviderUnavailable, LibraryPath(), CUDAPluginFile, EnvCUDAPlugin, EnvLibraryPath)
	}
	pluginDone, pluginPath = true, path
	if !fileExists(path) {
		pluginErr = fmt.Errorf("%w: CUDA plugin %s (from %s) does not exist", ErrProviderUnavailable, path, source)
		return pluginErr
	}
	cname, cpath := C.CString(cudaPluginName), C.CString(path)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(cpath))
	if err := cError("register CUDA plugin "+path, C.ganrt_register_ep_library(cname, cpath)); err != nil {
		pluginErr = fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
		if missing := MissingLibraries(path); len(missing) > 0 {
			pluginErr = fmt.Errorf("%w: the CUDA plugin %s needs %s, which do not load (install the NVIDIA driver, the CUDA 13 runtime and cuDNN 9, or add their folders to LD_LIBRARY_PATH): %w",
				ErrProviderUnavailable, path, strings.Join(missing, ", "), err)
		}
	}
	return pluginErr
}

// LibraryCheck is whether one shared library loads.
type LibraryCheck struct {
	// Name is the soname asked for ("libcublasLt.so.13").
	Name string `json:"name"`
	// Error is "" when the library loads, else the loader's message.
	Error string `json:"error,omitempty"`
	// RunTime says that the library is loaded while the provider runs, not
	// one of its ELF dependencies.
	RunTime bool `json:"run_time,omitempty"`
}

// CheckLibraries tries to load each library that the provider library at
// path needs: its ELF dependencies (DT_NEEDED) other than the C and C++
// runtimes, then, for the CUDA provider, the libraries it loads while
// running (cuDNN). It loads and unloads each with dlopen, searching as the
// provider would (LD_LIBRARY_PATH, the ld.so cache, the default folders).
func CheckLibraries(path string) ([]LibraryCheck, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ort: read provider library: %w", err)
	}
	needed, err := f.ImportedLibraries()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("ort: read provider library %s: %w", path, err)
	}
	var checks []LibraryCheck
	for _, n := range needed {
		if !slices.Contains(baseLibraries, n) {
			checks = append(checks, LibraryCheck{Name: n})
		}
	}
	if filepath.Base(path) == CUDAPluginFile {
		for _, n := range cudaRuntimeLibraries {
			checks = append(checks, LibraryCheck{Name: n, RunTime: true})
		}
	}
	for i := range checks {
		name := C.CString(checks[i].Name)
		if msg := C.ganrt_try_dlopen(name); msg != nil {
			checks[i].Error = C.GoString(msg)
			C.free(unsafe.Pointer(msg))
		}
		C.free(unsafe.Pointer(name))
	}
	return checks, nil
}

// MissingLibraries returns the names of the libraries that CheckLibraries
// finds do not load, in its order; nil when all load or path is unreadable.
func MissingLibraries(path string) []string {
	checks, err := CheckLibraries(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range checks {
		if c.Error != "" {
			out = append(out, c.Name)
		}
	}
	return out
}
