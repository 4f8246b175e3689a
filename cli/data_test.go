package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runApp runs the CLI with its output captured.
func runApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := New()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	err := app.RunContext(context.Background(), interspersed(app, append([]string{"ganrt"}, args...)))
	return out.String(), err
}

func TestDataSynth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	out, stderr, err := runCLI(t, "data", "synth", "--kind", "weather-single", "--n", "2", "--test-n", "1", "--size", "32", "--seed", "3", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	// Not a terminal: log lines after the first image and at the end.
	if !strings.HasPrefix(stderr, "synth: img 1/54 (2%)") || !strings.Contains(stderr, "\nsynth: img 54/54 (100%)") {
		t.Errorf("progress on stderr %q; want log lines for images 1 and 54 of 54", stderr)
	}
	// 6 domains: 12 train, 6 test scenes, each rendered in all 6 domains.
	if want := "wrote 54 images to " + dir; !strings.HasPrefix(out, want) ||
		!strings.Contains(out, "weather-single, 32x32, seed 3; 12 train, 6 test, 36 truth") {
		t.Errorf("got summary %q; want %q...", out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "train", "night", "000006.png")); err != nil {
		t.Error(err)
	}

	// --json, --quiet: the manifest with the folder and the time, nothing
	// on stderr.
	dir2 := filepath.Join(t.TempDir(), "set")
	out, stderr, err = runCLI(t, "data", "synth", "--n", "2", "--test-n", "1", "--size", "16", "--out", dir2, "--json", "-q")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Dir     string   `json:"dir"`
		Images  int      `json:"images"`
		Seconds float64  `json:"seconds"`
		Kind    string   `json:"kind"`
		Domains []string `json:"domains"`
		Train   int      `json:"train_images"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if got.Dir != dir2 || got.Images != 8 || got.Train != 4 || got.Kind != "daynight" || len(got.Domains) != 2 || got.Seconds <= 0 {
		t.Errorf("--json: got %+v; want dir %s, 8 images (4 train), daynight, 2 domains, seconds > 0", got, dir2)
	}
	if stderr != "" {
		t.Errorf("--quiet: stderr %q; want nothing", stderr)
	}
}

func TestDataSynthErrors(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	fresh := filepath.Join(t.TempDir(), "new")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"data", "synth"}, "missing --out"},
		{[]string{"data", "synth", "--out", fresh, "--kind", "zebra"}, `unknown kind "zebra"`},
		{[]string{"data", "synth", "--out", fresh, "--n", "0"}, "n must be at least 1"},
		{[]string{"data", "synth", "--out", fresh, "--size", "4"}, "size 4 is out of range"},
		{[]string{"data", "synth", "--out", full}, "is not empty"},
		{[]string{"data", "synth", "--out", fresh, "extra"}, "takes no arguments"},
	} {
		_, err := runApp(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v; want an error containing %q", c.args, err, c.want)
		}
	}
}
