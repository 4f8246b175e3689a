package ort

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// EnvLibraryPath is the environment variable that names the ONNX Runtime
// shared library to load when no explicit path is given, for example an
// official GPU build's libonnxruntime.so for CUDA or TensorRT.
const EnvLibraryPath = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// LocalLibrary is where `make ort` (scripts/install-ort.sh) installs the CPU
// library, relative to the repository root, and LocalGPULibrary where `make
// ort-gpu` installs ONNX Runtime 1.29 with its CUDA plugin. FindLibrary looks
// for them in every directory from the working directory, and from the
// executable's directory, up to the file-system root.
const (
	LocalLibrary    = ".ort/libonnxruntime.so.1"
	LocalGPULibrary = ".ort-gpu/libonnxruntime.so.1"
)

// InstalledLibrary and InstalledGPULibrary are where `make install` puts the
// libraries, relative to the folder of the installed executable
// (PREFIX/bin/ganrt finds PREFIX/lib/ganrt/...). A library right beside the
// executable counts as installed with it too.
const (
	InstalledLibrary    = "../lib/ganrt/libonnxruntime.so.1"
	InstalledGPULibrary = "../lib/ganrt/gpu/libonnxruntime.so.1"
)

// SystemLibraries are the names handed to the system loader (dlopen, which
// searches LD_LIBRARY_PATH, the ld.so cache and the default folders) when no
// other source names a library, tried in order.
var SystemLibraries = []string{"libonnxruntime.so.1", "libonnxruntime.so"}

// installHint ends every "library not found" error.
const installHint = "install the CPU build with `make ort` in the ganrt repository " +
	"(scripts/install-ort.sh puts it at " + LocalLibrary + "; `make ort-gpu` installs the CUDA build at " +
	LocalGPULibrary + "), or set " + EnvLibraryPath + " to a libonnxruntime.so"

// Library is one place to load ONNX Runtime from, as chosen by FindLibrary.
type Library struct {
	// Path is a file path, or for Source "system loader" a bare file name
	// that dlopen resolves with its search path.
	Path string
	// Source says which rule chose Path: "argument", "$"+EnvLibraryPath,
	// "installed with the executable", "local install" or "system loader".
	Source string
}

// Sources of Library, as FindLibrary's rules name them.
const (
	sourceArgument  = "argument"
	sourceEnv       = "$" + EnvLibraryPath
	sourceInstalled = "installed with the executable"
	sourceLocal     = "local install"
	sourceSystem    = "system loader"
)

// FindLibrary returns the libraries Init would try for a CPU device, in
// order; see FindLibraryFor.
func FindLibrary(explicit string) ([]Library, error) { return FindLibraryFor(explicit, false) }

// FindLibraryFor returns the libraries Init would try, in order; Init loads
// the first one that loads and stops. gpu says that the device wants a GPU
// (cuda, tensorrt, auto), which puts the GPU installs first. The rules,
// first match wins:
//
//  1. explicit, when not empty (a command-line flag, say): that file only;
//  2. $ONNXRUNTIME_SHARED_LIBRARY_PATH, when set: that file only;
//  3. installed with the executable: InstalledLibrary, a
//     libonnxruntime.so.1 beside it, InstalledGPULibrary (the GPU one first
//     when gpu);
//  4. the local installs .ort/ and .ort-gpu/ (.ort-gpu/ first when gpu) in
//     the working directory or any directory above it, then likewise above
//     the executable's directory: the first one that exists only;
//  5. the system loader: each of SystemLibraries in turn.
//
// Rules 1 and 2 fail when the named file does not exist, rather than fall
// through to a library the user did not ask for; a bare name without a slash
// that is not a file in the working directory is handed to the system loader.
func FindLibraryFor(explicit string, gpu bool) ([]Library, error) {
	wd, _ := os.Getwd()
	return findLibrary(libraryQuery{explicit: explicit, env: os.Getenv(EnvLibraryPath), gpu: gpu,
		wd: wd, exeDir: executableDir()}, fileExists)
}

// executableDir returns the folder of the running executable with symlinks
// resolved, or "" when it cannot be told.
func executableDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(exe)
}

// libraryQuery holds FindLibraryFor's inputs, made explicit for tests: env
// is the value of $ONNXRUNTIME_SHARED_LIBRARY_PATH, wd and exeDir the
// working and executable directories ("" when unknown).
type libraryQuery struct {
	explicit, env string
	gpu           bool
	wd, exeDir    string
}

// findLibrary is FindLibraryFor on q, with exists reporting whether a file
// exists.
func findLibrary(q libraryQuery, exists func(string) bool) ([]Library, error) {
	named := func(p, source string) ([]Library, error) {
		if exists(p) {
			abs, err := filepath.Abs(p)
			if err != nil {
				return nil, fmt.Errorf("ort: library %s (from %s): %w", p, source, err)
			}
			return []Library{{Path: abs, Source: source}}, nil
		}
		if !strings.ContainsRune(p, filepath.Separator) {
			return []Library{{Path: p, Source: source}}, nil
		}
		return nil, fmt.Errorf("ort: ONNX Runtime library %s (from %s) does not exist; %s", p, source, installHint)
	}
	if q.explicit != "" {
		return named(q.explicit, sourceArgument)
	}
	if q.env != "" {
		return named(q.env, sourceEnv)
	}
	installed := []string{InstalledLibrary, "libonnxruntime.so.1", InstalledGPULibrary}
	local := []string{LocalLibrary, LocalGPULibrary}
	if q.gpu {
		installed = []string{InstalledGPULibrary, InstalledLibrary, "libonnxruntime.so.1"}
		local = []string{LocalGPULibrary, LocalLibrary}
	}
	if q.exeDir != "" {
		for _, rel := range installed {
			if p := filepath.Join(q.exeDir, rel); exists(p) {
				return []Library{{Path: p, Source: sourceInstalled}}, nil
			}
		}
	}
	for _, start := range []string{q.wd, q.exeDir} {
		if start == "" {
			continue
		}
		for dir := filepath.Clean(start); ; {
			for _, rel := range local {
				if p := filepath.Join(dir, rel); exists(p) {
					return []Library{{Path: p, Source: sourceLocal}}, nil
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	libs := make([]Library, len(SystemLibraries))
	for i, name := range SystemLibraries {
		libs[i] = Library{Path: name, Source: sourceSystem}
	}
	return libs, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// Libraries says which ONNX Runtime libraries a process uses; the zero value
// searches for everything.
type Libraries struct {
	// Core is the ONNX Runtime library (libonnxruntime.so) to load; "" lets
	// FindLibraryFor search.
	Core string
	// CUDAPlugin is the CUDA plugin execution provider
	// (libonnxruntime_providers_cuda.so) to register for cuda devices when the
	// core has no CUDA built in; "" means $GANRT_CUDA_PLUGIN, else the one
	// beside the core (see CUDAPluginPath).
	CUDAPlugin string
	// GPU says that the device wants a GPU, so that the search prefers the
	// GPU installs (.ort-gpu/ over .ort/).
	GPU bool
}

// The process-wide ORT state: one library and one environment per process.
var (
	initMu     sync.Mutex
	loaded     *Library // non-nil once Init has succeeded
	cudaPlugin string   // Libraries.CUDAPlugin as given, "" when not
)

// initialize loads the library at path, creates the ORT environment and
// binds ganrt's own C API calls to the library. Callers hold initMu.
func initialize(path string) error {
	onnxruntime.SetSharedLibraryPath(path)
	if err := onnxruntime.InitializeEnvironment(); err != nil {
		return err
	}
	if err := bindAPI(path); err != nil {
		onnxruntime.DestroyEnvironment()
		return err
	}
	return nil
}

// Init loads the ONNX Runtime shared library and creates the process's ORT
// environment, as InitWith(Libraries{Core: libPath}).
func Init(libPath string) error { return InitWith(Libraries{Core: libPath}) }

// InitWith loads the ONNX Runtime shared library and creates the process's
// ORT environment. See FindLibraryFor for how an empty l.Core is found.
// InitWith is safe to call from any goroutine and any number of times: after
// the first success it returns nil at once, unless l names a different core
// than the one loaded (a process can hold only one), or a different CUDA
// plugin than one already registered, which are errors. A failed InitWith
// changes nothing and may be retried (after `make ort`, say). The
// environment lives until the process exits.
func InitWith(l Libraries) error {
	initMu.Lock()
	defer initMu.Unlock()
	if l.CUDAPlugin != "" {
		if err := setCUDAPlugin(l.CUDAPlugin); err != nil {
			return err
		}
	}
	if loaded != nil {
		if l.Core != "" {
			want, err := findLibrary(libraryQuery{explicit: l.Core}, fileExists)
			if err != nil {
				return err
			}
			if want[0].Path != loaded.Path {
				return fmt.Errorf("ort: ONNX Runtime is already loaded from %s; cannot also load %s (one library per process)", loaded.Path, want[0].Path)
			}
		}
		return nil
	}
	libs, err := FindLibraryFor(l.Core, l.GPU)
	if err != nil {
		return err
	}
	var failures []string
	for _, lib := range libs {
		err := initialize(lib.Path)
		if err == nil {
			l := lib
			loaded = &l
			return nil
		}
		if lib.Source != sourceSystem {
			return fmt.Errorf("ort: load ONNX Runtime %s (from %s; ganrt needs ONNX Runtime 1.24 or newer): %w", lib.Path, lib.Source, err)
		}
		failures = append(failures, err.Error())
	}
	return fmt.Errorf("ort: no ONNX Runtime library found (no argument, $%s unset, none installed with the executable, no %s or %s in or above the working or executable directory, and the system loader failed: %s); %s",
		EnvLibraryPath, LocalLibrary, LocalGPULibrary, strings.Join(failures, "; "), installHint)
}

// LibraryPath returns the path (or, for the system loader, the name) of the
// loaded ONNX Runtime library, and "" before a successful Init.
func LibraryPath() string {
	initMu.Lock()
	defer initMu.Unlock()
	if loaded == nil {
		return ""
	}
	return loaded.Path
}

// LibrarySource returns which FindLibraryFor rule chose the loaded library
// ("argument", "$ONNXRUNTIME_SHARED_LIBRARY_PATH", "installed with the
// executable", "local install" or "system loader"), and "" before a
// successful Init.
func LibrarySource() string {
	initMu.Lock()
	defer initMu.Unlock()
	if loaded == nil {
		return ""
	}
	return loaded.Source
}

// Version returns the loaded ONNX Runtime's version string, such as "1.24.1",
// and "" before a successful Init.
func Version() string {
	initMu.Lock()
	defer initMu.Unlock()
	if loaded == nil {
		return ""
	}
	return onnxruntime.GetVersion()
}
