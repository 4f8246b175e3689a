package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBench(t *testing.T) {
	requireORT(t)
	model := cycleModelFile(t)
	stdout, _, err := runCLI(t, "bench", "-m", model, "--size", "36", "--batch", "1,2", "--iters", "4", "--warmup", "1", "--threads", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v in %q", err, stdout)
	}
	if len(rep.Results) != 2 || rep.Device != "cpu" || rep.ORTVersion == "" || !strings.Contains(rep.Network, "resnet_6blocks") {
		t.Fatalf("report %+v; want 2 results on cpu for a resnet_6blocks model", rep)
	}
	for i, r := range rep.Results {
		if r.Batch != i+1 || r.Size != 36 || r.Iters != 4 {
			t.Errorf("result %d: %+v; want batch %d, size 36, 4 iterations", i, r, i+1)
		}
		s, e := r.SessionMS, r.EndToEndMS
		if !(s.Min > 0 && s.P50 <= s.P90 && s.P90 <= s.P99 && e.P50 >= s.Min && r.ImagesPerSecond > 0 && r.Overhead >= 1) {
			t.Errorf("result %d: implausible timings %+v", i, r)
		}
	}

	stdout, _, err = runCLI(t, "bench", "-m", starModelFile(t), "--size", "16", "--batch", "3", "--iters", "2", "--target", "Blond_Hair")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "session p50") || !strings.Contains(stdout, "StarGAN generator") {
		t.Errorf("text report:\n%s", stdout)
	}
	t.Logf("\n%s", stdout)

	for _, bad := range [][]string{{"--batch", "0"}, {"--batch", "1,x"}, {"--target", "Nope"}} {
		if _, _, err := runCLI(t, append([]string{"bench", "-m", starModelFile(t)}, bad...)...); err == nil {
			t.Errorf("bench %v: no error", bad)
		}
	}
}
