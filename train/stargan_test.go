package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/synth"
)

func tinyStarGAN(t *testing.T, dataDir, out string) StarGANConfig {
	t.Helper()
	c := DefaultStarGANConfig
	c.Folders, c.Out = filepath.Join(dataDir, "train"), out
	c.CDim, c.ImageSize, c.CropSize = 6, 16, 16
	c.GConvDim, c.DConvDim, c.GRepeatNum, c.DRepeatNum = 4, 4, 1, 2
	c.Batch, c.Iters, c.ItersDecay, c.LRUpdateStep = 2, 6, 4, 1
	c.NCritic, c.SaveEvery, c.SampleEvery, c.Threads = 2, 3, 3, 1
	return c
}

// weatherData writes 2 training images in each of 6 domain folders (16x16).
func weatherData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := synth.Write(dir, synth.Options{Kind: synth.KindWeatherSingle, N: 2, TestN: 1, Size: 16, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestStarGANResume checks that 6 iterations straight equal 3, a resume,
// and 3 more (weights and losses), on folder-per-domain data.
func TestStarGANResume(t *testing.T) {
	dataDir := weatherData(t)
	straight := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "straight"))
	straight.SaveEvery = 0
	if err := TrainStarGAN(context.Background(), straight, nil, nil); err != nil {
		t.Fatal(err)
	}
	split := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "split"))
	split.MaxIters = 3
	if err := TrainStarGAN(context.Background(), split, nil, nil); err != nil {
		t.Fatal(err)
	}
	given := DefaultStarGANConfig
	given.MaxIters = 0
	resumed, err := ResumeStarGANConfig(split.Out, given, func(flag string) bool { return flag == "max-iters" })
	if err != nil {
		t.Fatal(err)
	}
	if err := TrainStarGAN(context.Background(), resumed, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"G", "D"} {
		file := "6-" + name + ".safetensors"
		sameWeights(t, filepath.Join(straight.Out, file), filepath.Join(split.Out, file))
	}
	la, _ := os.ReadFile(filepath.Join(straight.Out, "loss_log.jsonl"))
	lb, _ := os.ReadFile(filepath.Join(split.Out, "loss_log.jsonl"))
	if stripSec(t, la) != stripSec(t, lb) {
		t.Fatalf("loss logs differ:\n%s\n%s", la, lb)
	}
	for _, f := range []string{"options.json", "loss.png", "samples/iter_0000006.png", "3-G.safetensors", "6_state.safetensors"} {
		if _, err := os.Stat(filepath.Join(split.Out, f)); err != nil {
			t.Errorf("missing output %s: %v", f, err)
		}
	}
}

func TestStarGANClassCountError(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := synth.Write(dataDir, synth.Options{Kind: synth.KindWeatherSingle, N: 1, TestN: 0, Size: 16, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	c := tinyStarGAN(t, dataDir, t.TempDir())
	c.CDim = 5
	err := TrainStarGAN(context.Background(), c, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "6 domain folders (day, dusk, fog, night, rain, snow)") {
		t.Fatalf("got %v; want an error listing the 6 domain folders", err)
	}
}
