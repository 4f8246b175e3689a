package ort

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestFindLibraryOrder checks the discovery rules without loading anything,
// so it passes without an installed library.
func TestFindLibraryOrder(t *testing.T) {
	root := t.TempDir()
	files := map[string]bool{}
	mk := func(p string) string {
		p = filepath.Join(root, p)
		files[p] = true
		return p
	}
	exists := func(p string) bool { return files[p] }
	explicit := mk("explicit/libonnxruntime.so")
	env := mk("env/libonnxruntime.so")
	local := mk("repo/.ort/libonnxruntime.so.1")
	localGPU := mk("repo/.ort-gpu/libonnxruntime.so.1")
	exeLocal := mk("tools/.ort/libonnxruntime.so.1")
	installed := mk("prefix/lib/ganrt/libonnxruntime.so.1")
	installedGPU := mk("prefix/lib/ganrt/gpu/libonnxruntime.so.1")
	beside := mk("side/libonnxruntime.so.1")
	gpuOnly := mk("gpuonly/.ort-gpu/libonnxruntime.so.1")
	deep := filepath.Join(root, "repo/a/b")
	elsewhere := filepath.Join(root, "elsewhere")
	exeDir := filepath.Join(root, "tools/bin")
	prefixBin := filepath.Join(root, "prefix/bin")
	system := []Library{{"libonnxruntime.so.1", sourceSystem}, {"libonnxruntime.so", sourceSystem}}

	tests := []struct {
		name    string
		q       libraryQuery
		want    []Library
		wantErr string
	}{
		{"explicit beats all", libraryQuery{explicit: explicit, env: env, wd: deep, exeDir: prefixBin}, []Library{{explicit, sourceArgument}}, ""},
		{"env beats installed and local", libraryQuery{env: env, wd: deep, exeDir: prefixBin}, []Library{{env, sourceEnv}}, ""},
		{"installed with the executable beats local", libraryQuery{wd: deep, exeDir: prefixBin}, []Library{{installed, sourceInstalled}}, ""},
		{"installed GPU first for a GPU", libraryQuery{wd: deep, exeDir: prefixBin, gpu: true}, []Library{{installedGPU, sourceInstalled}}, ""},
		{"beside the executable", libraryQuery{wd: elsewhere, exeDir: filepath.Join(root, "side")}, []Library{{beside, sourceInstalled}}, ""},
		{"local above working dir", libraryQuery{wd: deep, exeDir: exeDir}, []Library{{local, sourceLocal}}, ""},
		{"local GPU first for a GPU", libraryQuery{wd: deep, exeDir: exeDir, gpu: true}, []Library{{localGPU, sourceLocal}}, ""},
		{"GPU install serves the CPU when alone", libraryQuery{wd: filepath.Join(root, "gpuonly")}, []Library{{gpuOnly, sourceLocal}}, ""},
		{"local in start dir", libraryQuery{wd: filepath.Join(root, "repo")}, []Library{{local, sourceLocal}}, ""},
		{"local above executable", libraryQuery{wd: elsewhere, exeDir: exeDir}, []Library{{exeLocal, sourceLocal}}, ""},
		{"system loader last", libraryQuery{wd: elsewhere}, system, ""},
		{"missing explicit fails", libraryQuery{explicit: filepath.Join(root, "nope.so"), env: env}, nil, "does not exist"},
		{"missing env fails", libraryQuery{env: filepath.Join(root, "nope.so"), wd: deep}, nil, "does not exist"},
		{"bare explicit name goes to loader", libraryQuery{explicit: "libonnxruntime_gpu.so"}, []Library{{"libonnxruntime_gpu.so", sourceArgument}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findLibrary(tt.q, exists)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "make ort") {
					t.Fatalf("error = %v; want one containing %q and the install hint", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

// TestFindLibraryEnv checks that FindLibrary reads the environment variable
// and that an explicit argument still wins.
func TestFindLibraryEnv(t *testing.T) {
	dir := t.TempDir()
	envLib := filepath.Join(dir, "env.so")
	argLib := filepath.Join(dir, "arg.so")
	for _, p := range []string{envLib, argLib} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(EnvLibraryPath, envLib)
	got, err := FindLibrary("")
	if err != nil || len(got) != 1 || got[0].Path != envLib {
		t.Errorf("FindLibrary(\"\") = %v, %v; want %s", got, err, envLib)
	}
	got, err = FindLibrary(argLib)
	if err != nil || len(got) != 1 || got[0].Path != argLib {
		t.Errorf("FindLibrary(%q) = %v, %v; want it", argLib, got, err)
	}
	t.Setenv(EnvLibraryPath, filepath.Join(dir, "missing.so"))
	if _, err := FindLibrary(""); err == nil || !strings.Contains(err.Error(), EnvLibraryPath) {
		t.Errorf("FindLibrary with a missing env library: error = %v; want one naming %s", err, EnvLibraryPath)
	}
}

func TestInit(t *testing.T) {
	mustInit(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = Init("") })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Init: %v", err)
		}
	}
	if err := Init(LibraryPath()); err != nil {
		t.Errorf("Init(loaded path) = %v; want nil", err)
	}
	other := filepath.Join(t.TempDir(), "other.so")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Init(other); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Errorf("Init(another library) = %v; want an 'already loaded' error", err)
	}
	if LibraryPath() == "" || LibrarySource() == "" {
		t.Errorf("LibraryPath() = %q, LibrarySource() = %q; want both set", LibraryPath(), LibrarySource())
	}
	v := Version()
	if !strings.HasPrefix(v, "1.") {
		t.Errorf("Version() = %q; want 1.x", v)
	}
	t.Logf("ONNX Runtime %s from %s (%s)", v, LibraryPath(), LibrarySource())
}

func TestAvailableProviders(t *testing.T) {
	mustInit(t)
	ps, err := AvailableProviders()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ps, ProviderCPU) {
		t.Errorf("AvailableProviders() = %v; want it to include %s", ps, ProviderCPU)
	}
	t.Logf("providers: %v", ps)
}
