package ort

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestDiagnose checks the report on this machine: the library, the CPU
// provider and its EP device, the CUDA state (a reason when unusable) and a
// trial on the CPU through device memory; and that auto says where it ran.
func TestDiagnose(t *testing.T) {
	mustInit(t)
	r := Diagnose(Libraries{}, Device{Kind: KindCPU}, true)
	if r.LoadError != "" || r.Version != Version() || r.Library != LibraryPath() || len(r.Providers) == 0 {
		t.Fatalf("report = %+v", r)
	}
	if r.Trial == nil || r.Trial.Error != "" || r.Trial.Device != "cpu" || !strings.Contains(r.Trial.Memory, "cpu") {
		t.Errorf("trial = %+v; want a run on the cpu", r.Trial)
	}
	if r.CUDA == nil || (r.CUDA.Error == "") == (r.CUDA.Route == "") {
		t.Errorf("cuda = %+v; want a route or an error", r.CUDA)
	}
	var text bytes.Buffer
	r.Write(&text)
	for _, want := range []string{"onnxruntime  " + r.Version, r.Library, "CPUExecutionProvider on cpu", "trial cpu"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report text lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Error(err)
	}
	auto := Diagnose(Libraries{}, Device{Kind: KindAuto}, false)
	if auto.Trial == nil || auto.Trial.Error != "" || (auto.Trial.Device == "cpu") != (auto.Trial.Fallback != "") {
		t.Errorf("auto trial = %+v; want a run, with the reason when on the cpu", auto.Trial)
	}
	t.Logf("report:\n%s", text.String())
}
