package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/internal/ort"
)

// TestFindsLibraryBesideBinary builds ganrt into a temporary folder laid out
// as `make install PREFIX=...` leaves it (PREFIX/bin/ganrt,
// PREFIX/lib/ganrt/libonnxruntime.so.1) and as `make build` leaves a
// checkout (REPO/bin/ganrt, REPO/.ort/libonnxruntime.so.1), runs
// `ganrt version --json` from an unrelated working directory with no
// library named in the environment, and checks which library it loads.
func TestFindsLibraryBesideBinary(t *testing.T) {
	libs, err := ort.FindLibrary("")
	if err != nil || libs[0].Source == "system loader" {
		t.Skipf("no local ONNX Runtime library to install (run make ort): %v", err)
	}
	root := t.TempDir()
	prefixBin := filepath.Join(root, "prefix", "bin", "ganrt")
	build := exec.Command("go", "build", "-o", prefixBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	installed := filepath.Join(root, "prefix", "lib", "ganrt", "libonnxruntime.so.1")
	repoBin := filepath.Join(root, "repo", "bin", "ganrt")
	local := filepath.Join(root, "repo", ".ort", "libonnxruntime.so.1")
	copyFile(t, libs[0].Path, installed)
	copyFile(t, libs[0].Path, local)
	copyFile(t, prefixBin, repoBin)
	elsewhere := filepath.Join(root, "elsewhere")
	if err := os.MkdirAll(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ bin, lib, source string }{
		{prefixBin, installed, "installed with the executable"},
		{repoBin, local, "local install"},
	} {
		cmd := exec.Command(tt.bin, "version", "--json")
		cmd.Dir = elsewhere
		cmd.Env = append(os.Environ(), ort.EnvLibraryPath+"=", ort.EnvCUDAPlugin+"=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s version: %v", tt.bin, err)
		}
		var rep struct {
			ONNXRuntime ort.Report `json:"onnxruntime"`
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if o := rep.ONNXRuntime; o.Library != tt.lib || o.Source != tt.source || !strings.HasPrefix(o.Version, "1.") {
			t.Errorf("%s loads %s (%s, version %q); want %s (%s)", tt.bin, o.Library, o.Source, o.Version, tt.lib, tt.source)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
