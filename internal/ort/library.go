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
// library, relative to the repository root. FindLibrary looks for it in every
// directory from the working directory, and from the executable's directory,
// up to the file-system root.
const LocalLibrary = ".ort/libonnxruntime.so.1"

// SystemLibraries are the names handed to the system loader (dlopen, which
// searches LD_LIBRARY_PATH, the ld.so cache and the default folders) when no
// other source names a library, tried in order.
var SystemLibraries = []string{"libonnxruntime.so.1", "libonnxruntime.so"}

// installHint ends every "library not found" error.
const installHint = "install the CPU build with `make ort` in the ganrt repository " +
	"(scripts/install-ort.sh puts it at " + LocalLibrary + "), or set " + EnvLibraryPath +
	" to a libonnxruntime.so (an official GPU build for cuda or tensorrt)"

// Library is one place to load ONNX Runtime from, as chosen by FindLibrary.
type Library struct {
	// Path is a file path, or for Source "system loader" a bare file name
	// that dlopen resolves with its search path.
	Path string
	// Source says which rule chose Path: "argument", "$"+EnvLibraryPath,
	// "local install" or "system loader".
	Source string
}

// FindLibrary returns the libraries Init would try, in order; Init loads the
// first one that loads and stops. The rules, first match wins:
//
//  1. explicit, when not empty (a command-line flag, say): that file only;
//  2. $ONNXRUNTIME_SHARED_LIBRARY_PATH, when set: that file only;
//  3. the local install .ort/libonnxruntime.so.1 in the working directory or
//     any directory above it, then likewise above the executable's directory:
//     the first one that exists only;
//  4. the system loader: each of SystemLibraries in turn.
//
// Rules 1 and 2 fail when the named file does not exist, rather than fall
// through to a library the user did not ask for; a bare name without a slash
// that is not a file in the working directory is handed to the system loader.
func FindLibrary(explicit string) ([]Library, error) {
	wd, _ := os.Getwd()
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		exeDir = filepath.Dir(exe)
	}
	return findLibrary(explicit, os.Getenv(EnvLibraryPath), []string{wd, exeDir}, fileExists)
}

// findLibrary is FindLibrary with its inputs made explicit for tests: env is
// the value of $ONNXRUNTIME_SHARED_LIBRARY_PATH, startDirs are walked upwards
// in order looking for LocalLibrary, and exists reports whether a file exists.
func findLibrary(explicit, env string, startDirs []string, exists func(string) bool) ([]Library, error) {
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
	if explicit != "" {
		return named(explicit, "argument")
	}
	if env != "" {
		return named(env, "$"+EnvLibraryPath)
	}
	for _, start := range startDirs {
		if start == "" {
			continue
		}
		for dir := filepath.Clean(start); ; {
			p := filepath.Join(dir, LocalLibrary)
			if exists(p) {
				return []Library{{Path: p, Source: "local install"}}, nil
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
		libs[i] = Library{Path: name, Source: "system loader"}
	}
	return libs, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// The process-wide ORT state: one library and one environment per process.
var (
	initMu sync.Mutex
	loaded *Library // non-nil once Init has succeeded
)

// initialize loads the library at path and creates the ORT environment.
// Callers hold initMu.
func initialize(path string) error {
	onnxruntime.SetSharedLibraryPath(path)
	return onnxruntime.InitializeEnvironment()
}

// Init loads the ONNX Runtime shared library and creates the process's ORT
// environment. libPath may be empty; see FindLibrary for how the library is
// chosen. Init is safe to call from any goroutine and any number of times:
// after the first success it returns nil at once, unless libPath names a
// different library than the one loaded, which is an error since a process
// can hold only one. A failed Init changes nothing and may be retried (after
// `make ort`, say). The environment lives until the process exits.
func Init(libPath string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if loaded != nil {
		if libPath != "" {
			want, err := findLibrary(libPath, "", nil, fileExists)
			if err != nil {
				return err
			}
			if want[0].Path != loaded.Path {
				return fmt.Errorf("ort: ONNX Runtime is already loaded from %s; cannot also load %s (one library per process)", loaded.Path, want[0].Path)
			}
		}
		return nil
	}
	libs, err := FindLibrary(libPath)
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
		if lib.Source != "system loader" {
			return fmt.Errorf("ort: load ONNX Runtime %s (from %s; ganrt needs ONNX Runtime 1.24 or newer): %w", lib.Path, lib.Source, err)
		}
		failures = append(failures, err.Error())
	}
	return fmt.Errorf("ort: no ONNX Runtime library found (no argument, $%s unset, no %s in or above the working or executable directory, and the system loader failed: %s); %s",
		EnvLibraryPath, LocalLibrary, strings.Join(failures, "; "), installHint)
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

// LibrarySource returns which FindLibrary rule chose the loaded library
// ("argument", "$ONNXRUNTIME_SHARED_LIBRARY_PATH", "local install" or "system
// loader"), and "" before a successful Init.
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
