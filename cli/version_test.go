package cli

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/internal/version"
)

// TestVersion checks version's text and JSON: ganrt's version, Go's, and
// the loaded ONNX Runtime with its path and providers; --verbose adds the
// doctor's checks.
func TestVersion(t *testing.T) {
	requireORT(t)
	stdout, _, err := runCLI(t, "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep versionReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v in %q", err, stdout)
	}
	o := rep.ONNXRuntime
	if rep.Ganrt.Version != version.Version || rep.Ganrt.Go != runtime.Version() || o.Version == "" || o.Library == "" ||
		o.Source == "" || len(o.Providers) == 0 || o.LoadError != "" {
		t.Errorf("version --json = %+v", rep)
	}
	if o.Trial != nil || o.CUDA != nil {
		t.Error("plain version ran the doctor's checks")
	}
	text, _, err := runCLI(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ganrt        " + version.Version, runtime.Version(), "onnxruntime  " + o.Version, o.Library, "CPUExecutionProvider"} {
		if !strings.Contains(text, want) {
			t.Errorf("version text lacks %q:\n%s", want, text)
		}
	}
	verbose, _, err := runCLI(t, "version", "--verbose")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(verbose, "ep devices") || !strings.Contains(verbose, "trial auto") {
		t.Errorf("version --verbose lacks the EP devices or the trial:\n%s", verbose)
	}
	if _, _, err := runCLI(t, "version", "extra"); err == nil {
		t.Error("version with an argument: no error")
	}
}

// TestDoctor checks that doctor runs its trial on the CPU and reports the
// CUDA state, and fails for a device that does not work here.
func TestDoctor(t *testing.T) {
	requireORT(t)
	stdout, _, err := runCLI(t, "doctor", "--device", "cpu", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep versionReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v in %q", err, stdout)
	}
	if tr := rep.ONNXRuntime.Trial; tr == nil || tr.Error != "" || tr.Device != "cpu" || rep.ONNXRuntime.CUDA == nil {
		t.Errorf("doctor --device cpu = %+v", rep.ONNXRuntime)
	}
	if rep.ONNXRuntime.CUDA.Error == "" {
		t.Log("CUDA works here; the failing case is not checked")
		return
	}
	text, _, err := runCLI(t, "doctor", "--device", "cuda")
	if err == nil || !strings.Contains(text, "cuda         unavailable") || !strings.Contains(text, "FAILED") {
		t.Errorf("doctor --device cuda without CUDA: err = %v, output:\n%s", err, text)
	}
}
