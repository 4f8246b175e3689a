package train

import (
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

// TestStarGANInitReference fine-tunes from the reference's own checkpoint
// files ({ITER}-G.ckpt and -D.ckpt: plain state dicts, which carry no label
// kind, exclusive group or names): with learning rates of 0 the run ends
// with their weights, its c_dim (not given) comes from the data, and an
// --init whose c_dim the data contradicts is refused naming both.
func TestStarGANInitReference(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"G", "D"} {
		b, err := os.ReadFile("../testdata/golden/stargan_train." + n + ".pth")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "200000-"+n+".ckpt"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := synth.Write(dataDir, synth.Options{Kind: synth.KindWeatherSingle, N: 2, TestN: 1, Size: 32, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	// The golden nets have c_dim 3: keep three domains.
	for _, d := range []string{"fog", "rain", "snow"} {
		if err := os.RemoveAll(filepath.Join(dataDir, "train", d)); err != nil {
			t.Fatal(err)
		}
	}
	c := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "run"))
	c.CDim, c.ImageSize, c.CropSize = 0, 32, 32
	c.GConvDim, c.DConvDim, c.GRepeatNum, c.DRepeatNum = 8, 8, 1, 2
	c.GLR, c.DLR, c.MaxIters, c.SaveEvery = 0, 0, 2, 0
	c.Init = filepath.Join(dir, "200000")
	if err := TrainStarGAN(context.Background(), c, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"G", "D"} {
		ref, err := ckpt.Read(filepath.Join(dir, "200000-"+n+".ckpt"))
		if err != nil {
			t.Fatal(err)
		}
		got := readNet(t, filepath.Join(c.Out, "2-"+n+".safetensors"))
		if ref.Len() != got.Len() {
			t.Fatalf("%s: %d tensors; the reference file has %d", n, got.Len(), ref.Len())
		}
		for key, tr := range ref.All() {
			if strings.HasSuffix(key, ".running_mean") || strings.HasSuffix(key, ".running_var") || strings.HasSuffix(key, ".num_batches_tracked") {
				continue // training-mode statistics move even at lr 0
			}
			tg, _ := got.Get(key)
			if tg == nil || !slices.Equal(tg.Floats, tr.Floats) {
				t.Fatalf("%s %s differs from the --init file", n, key)
			}
		}
		if spec := got.Metadata[models.MetadataKey]; !strings.Contains(spec, `"c_dim":3`) || !strings.Contains(spec, `"domains":["day","dusk","night"]`) || !strings.Contains(spec, `"labels":"single"`) {
			t.Errorf("%s spec %s; want c_dim 3, the data's domains and single labels", n, spec)
		}
	}

	six := tinyStarGAN(t, weatherData(t), filepath.Join(t.TempDir(), "run"))
	six.CDim, six.ImageSize, six.CropSize = 0, 32, 32
	six.GConvDim, six.DConvDim, six.GRepeatNum, six.DRepeatNum = 8, 8, 1, 2
	six.Init = c.Init
	err := TrainStarGAN(context.Background(), six, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "200000-G.ckpt has c_dim 3 but the data has 6 label entries (day, dusk, fog, night, rain, snow)") {
		t.Fatalf("got %v; want the c_dim conflict naming both", err)
	}
}

// TestStarGANCropDefault checks the reference's crop per kind of data.
func TestStarGANCropDefault(t *testing.T) {
	for _, tc := range []struct {
		cfg  StarGANConfig
		want int
	}{
		{StarGANConfig{Folders: "rafd/train"}, 256},
		{StarGANConfig{CelebAImages: "celeba/images"}, 178},
		{StarGANConfig{Folders: "rafd/train", CropSize: 200}, 200},
	} {
		if got := tc.cfg.cropSize(); got != tc.want {
			t.Errorf("%+v: crop %d; want %d", tc.cfg, got, tc.want)
		}
	}
}

// TestStarGANPublishedCheckpointsFit checks that the published
// 200000-G.ckpt and 200000-D.ckpt (their key shapes, from the golden
// fullwidth_keys.json) are the architectures that the default options ask
// for, so that --init can fine-tune them.
func TestStarGANPublishedCheckpointsFit(t *testing.T) {
	var keys struct {
		Models map[string]struct {
			StateDict []struct {
				Key   string
				Shape []int
			} `json:"state_dict"`
		}
	}
	if err := json.Unmarshal(readFile(t, "../testdata/golden/fullwidth_keys.json"), &keys); err != nil {
		t.Fatal(err)
	}
	c := DefaultStarGANConfig
	c.CDim = len(c.Attrs)
	g, d := c.specs(c.Attrs, false)
	for name, want := range map[string]models.Spec{"stargan_G": g, "stargan_D": d} {
		sd := ckpt.NewStateDict()
		for _, e := range keys.Models[name].StateDict {
			sd.Set(e.Key, &ckpt.Tensor{DType: ckpt.F32, Shape: e.Shape})
		}
		got, err := models.Detect(sd)
		if err != nil {
			t.Fatal(err)
		}
		if architecture(got) != architecture(want) {
			t.Errorf("%s is %s; the default options ask for %s", name, got, want)
		}
	}
}

// TestStarGANKeepsLastBatch checks that an epoch's last partial batch is
// trained on, as the reference's DataLoader (drop_last=False) does, unless
// --drop-last: 12 images in batches of 5 make epochs of 3 batches (5, 5, 2),
// or 2.
func TestStarGANKeepsLastBatch(t *testing.T) {
	dataDir := weatherData(t)
	for _, tc := range []struct {
		dropLast     bool
		epoch, batch int // where the run state says the 4th iteration starts
	}{{false, 2, 0}, {true, 2, 1}} {
		c := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "run"))
		c.Batch, c.Iters, c.ItersDecay, c.SaveEvery, c.SampleEvery, c.DropLast = 5, 3, 1, 0, 0, tc.dropLast
		if err := TrainStarGAN(context.Background(), c, nil, nil); err != nil {
			t.Fatal(err)
		}
		var st RunState
		if err := json.Unmarshal([]byte(readNet(t, filepath.Join(c.Out, "3_state.safetensors")).Metadata[metaState]), &st); err != nil {
			t.Fatal(err)
		}
		if st.Epoch != tc.epoch || st.Batch != tc.batch {
			t.Errorf("drop last %v: after 3 iterations at epoch %d batch %d; want epoch %d batch %d", tc.dropLast, st.Epoch, st.Batch, tc.epoch, tc.batch)
		}
	}
}
