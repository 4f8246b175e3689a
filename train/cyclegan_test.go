package train

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/synth"
)

// tinyCycleGAN is a configuration small enough for tests: 16x16 images,
// 2-block generators of width 4, 2-layer discriminators.
func tinyCycleGAN(t *testing.T, dataDir, out string) CycleGANConfig {
	t.Helper()
	c := DefaultCycleGANConfig
	c.Data, c.Out = dataDir, out
	c.NetG, c.NetD, c.NLayersD, c.NGF, c.NDF = "resnet_2blocks", "n_layers", 2, 4, 4
	c.Preprocess, c.LoadSize, c.CropSize = "resize_and_crop", 18, 16
	c.PoolSize = 2
	c.Dropout = true
	c.SaveEvery, c.SampleEvery, c.SaveEpochEvery = 0, 2, 1
	c.Threads = 1
	c.Epochs, c.EpochsDecay = 2, 2
	return c
}

func synthData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := synth.Write(dir, synth.Options{Kind: synth.KindDayNight, N: 3, TestN: 1, Size: 20, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sameWeights fails unless two checkpoint files hold the same tensors with
// identical values (floats and integer counters alike).
func sameWeights(t *testing.T, pathA, pathB string) {
	t.Helper()
	a, b := readNet(t, pathA), readNet(t, pathB)
	if a.Len() != b.Len() {
		t.Fatalf("%s has %d tensors, %s %d", pathA, a.Len(), pathB, b.Len())
	}
	for key, ta := range a.All() {
		tb, ok := b.Get(key)
		if !ok {
			t.Fatalf("%s has no %s", pathB, key)
		}
		for i := range ta.Floats {
			if ta.Floats[i] != tb.Floats[i] {
				t.Fatalf("%s[%d]: %v in %s, %v in %s", key, i, ta.Floats[i], pathA, tb.Floats[i], pathB)
			}
		}
		for i := range ta.Ints {
			if ta.Ints[i] != tb.Ints[i] {
				t.Fatalf("%s[%d]: %v in %s, %v in %s", key, i, ta.Ints[i], pathA, tb.Ints[i], pathB)
			}
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readNet(t *testing.T, path string) *ckpt.StateDict {
	t.Helper()
	sd, err := ckpt.ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

// TestCycleGANResume checks that 4 iterations straight and 2 iterations,
// a stop and a resume for 2 more give the same losses and weights.
func TestCycleGANResume(t *testing.T) {
	dataDir := synthData(t)
	straight := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "straight"))
	straight.MaxIters = 4
	if err := TrainCycleGAN(context.Background(), straight, nil, nil); err != nil {
		t.Fatal(err)
	}
	split := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "split"))
	split.MaxIters = 2
	if err := TrainCycleGAN(context.Background(), split, nil, nil); err != nil {
		t.Fatal(err)
	}
	// The resumed run reads its options from options.json; only the
	// iteration count is given again (on top of the defaults, as the CLI
	// does), and recorded.
	given := DefaultCycleGANConfig
	given.MaxIters = 4
	resumed, err := ResumeCycleGANConfig(split.Out, given, func(flag string) bool { return flag == "max-iters" })
	if err != nil {
		t.Fatal(err)
	}
	if err := TrainCycleGAN(context.Background(), resumed, nil, nil); err != nil {
		t.Fatal(err)
	}
	var opts CycleGANConfig
	if err := json.Unmarshal(readFile(t, filepath.Join(split.Out, "options.json")), &opts); err != nil {
		t.Fatal(err)
	}
	if want := []OptionChange{{Iter: 2, Flag: "--max-iters", From: "2", To: "4"}}; opts.MaxIters != 4 || !slices.Equal(opts.History, want) {
		t.Errorf("options.json has max_iters %d, history %+v; want 4 and %+v", opts.MaxIters, opts.History, want)
	}
	for _, name := range []string{"G_A", "G_B", "D_A", "D_B"} {
		file := "latest_net_" + name + ".safetensors"
		sameWeights(t, filepath.Join(straight.Out, file), filepath.Join(split.Out, file))
	}
	la, lb := readFile(t, filepath.Join(straight.Out, "loss_log.jsonl")), readFile(t, filepath.Join(split.Out, "loss_log.jsonl"))
	if stripSec(t, la) != stripSec(t, lb) {
		t.Fatalf("loss logs differ:\n%s\n%s", la, lb)
	}
	for _, f := range []string{"options.json", "loss.png", "samples/iter_0000004.png", "1_net_G_A.safetensors", "latest_state.safetensors"} {
		if _, err := os.Stat(filepath.Join(split.Out, f)); err != nil {
			t.Errorf("missing output %s: %v", f, err)
		}
	}
}

// stripSec removes the wall-clock field from loss-log lines.
func stripSec(t *testing.T, log []byte) string {
	t.Helper()
	var out []byte
	for _, line := range bytes.Split(bytes.TrimSpace(log), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		delete(rec, "sec")
		b, _ := json.Marshal(rec)
		out = append(append(out, b...), '\n')
	}
	return string(out)
}

// TestCycleGANInit checks that --init starts from the given networks: with
// a learning rate of 0 a run ends with exactly the weights it started from.
func TestCycleGANInit(t *testing.T) {
	dataDir := synthData(t)
	first := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "first"))
	first.MaxIters = 1
	if err := TrainCycleGAN(context.Background(), first, nil, nil); err != nil {
		t.Fatal(err)
	}
	second := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "second"))
	second.MaxIters, second.LR, second.Init, second.Seed = 2, 0, first.Out, 99
	if err := TrainCycleGAN(context.Background(), second, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"G_A", "G_B", "D_A", "D_B"} {
		file := "latest_net_" + name + ".safetensors"
		sameWeights(t, filepath.Join(first.Out, file), filepath.Join(second.Out, file))
	}
	bad := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "bad"))
	bad.Init, bad.NGF = first.Out, 8
	if err := TrainCycleGAN(context.Background(), bad, nil, nil); err == nil || !strings.Contains(err.Error(), "the options ask for") {
		t.Fatalf("got %v; want an error saying the --init files do not match the options", err)
	}
}

// TestCycleGANInitUNetDropout starts a dropout U-Net run from reference
// .pth files, whose keys cannot show dropout: the options' dropout is
// taken (it was refused as "dropout false"), and with a learning rate of 0
// the run ends with the files' generator weights.
func TestCycleGANInitUNetDropout(t *testing.T) {
	init := t.TempDir()
	for name, src := range map[string]string{"G_A": "cyclegan_unet5_ngf4", "G_B": "cyclegan_unet5_ngf4", "D_A": "cyclegan_patchgan_n2_ndf8", "D_B": "cyclegan_patchgan_n2_ndf8"} {
		if err := os.WriteFile(filepath.Join(init, "latest_net_"+name+".pth"), readFile(t, "../testdata/golden/"+src+".pth"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := tinyCycleGAN(t, synthData(t), filepath.Join(t.TempDir(), "run"))
	c.NetG, c.NGF, c.NetD, c.NLayersD, c.NDF, c.Dropout = "unet_32", 4, "n_layers", 2, 8, true
	c.LoadSize, c.CropSize, c.LR, c.MaxIters, c.SampleEvery, c.Init = 36, 32, 0, 1, 0, init
	if err := TrainCycleGAN(context.Background(), c, nil, nil); err != nil {
		t.Fatal(err)
	}
	ref, err := ckpt.Read(filepath.Join(init, "latest_net_G_A.pth"))
	if err != nil {
		t.Fatal(err)
	}
	got := readNet(t, filepath.Join(c.Out, "latest_net_G_A.safetensors"))
	for key, tr := range ref.All() {
		if tg, ok := got.Get(key); !ok || !slices.Equal(tg.Floats, tr.Floats) {
			t.Fatalf("G_A %s differs from the --init file", key)
		}
	}
	if spec := got.Metadata[models.MetadataKey]; !strings.Contains(spec, `"dropout":true`) || strings.Contains(spec, "unknown") {
		t.Errorf("G_A spec %s; want dropout true, known", spec)
	}
}
