package runtime

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/onnxpb"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
)

func TestOpenInfo(t *testing.T) {
	tr := open(t, cycleModel(t), Options{})
	info := tr.Info()
	if info.Spec.Kind != models.CycleGANGenerator || info.Multiple != 4 || info.InputChannels != 3 ||
		info.OutputChannels != 3 || info.Device != "cpu" || info.Provider != ort.ProviderCPU || info.StarGAN() {
		t.Errorf("Info() = %+v; want a CycleGAN generator, multiple 4, 3->3 channels, on cpu", info)
	}
	star := open(t, starModel(t), Options{})
	si := star.Info()
	if !si.StarGAN() || strings.Join(si.Domains, ",") != strings.Join(starDomains, ",") || si.LabelMode != MultiLabel {
		t.Errorf("StarGAN Info() = %+v; want domains %v, multi-label", si, starDomains)
	}
}

// TestFullResolution checks that output size == input size for sides that
// are not multiples of 4 (and smaller than the network's minimum), and that
// the numbers match a plain At-based pipeline around a bare session run.
func TestFullResolution(t *testing.T) {
	path := cycleModel(t)
	tr := open(t, path, Options{})
	for _, sz := range []image.Point{{64, 48}, {37, 23}, {30, 41}, {5, 3}, {1, 1}} {
		t.Run(fmt.Sprintf("%dx%d", sz.X, sz.Y), func(t *testing.T) {
			img := randomRGBA(sz.X, sz.Y, uint64(sz.X*100+sz.Y))
			got, err := tr.Translate(bg, img, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds() != image.Rect(0, 0, sz.X, sz.Y) {
				t.Fatalf("output bounds %v; want %v", got.Bounds(), image.Rect(0, 0, sz.X, sz.Y))
			}
			x, f := refInput(img, 4, 8)
			want := refOutput(bareRun(t, path, x, nil), f)
			if d := maxDiff(got, want); d != 0 {
				t.Errorf("translate vs bare session: max pixel difference %d; want 0", d)
			}
		})
	}
}

func TestStarGANMatchesSession(t *testing.T) {
	path := starModel(t)
	tr := open(t, path, Options{})
	img := randomRGBA(18, 13, 7)
	label, err := tr.Target("Blond_Hair", []float32{1, 0, 0, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 1, 0, 1, 0}; fmt.Sprint(label) != fmt.Sprint(want) {
		t.Fatalf("Target(Blond_Hair) = %v; want %v", label, want)
	}
	got, err := tr.Translate(bg, img, label)
	if err != nil {
		t.Fatal(err)
	}
	x, f := refInput(img, 4, 4)
	want := refOutput(bareRun(t, path, x, label), f)
	if d := maxDiff(got, want); d != 0 {
		t.Errorf("translate vs bare session: max pixel difference %d; want 0", d)
	}
}

// TestBatchMatchesSingle checks batches (of a dynamic-batch model and of one
// exported with batch 2, which pads the last run) against one-by-one runs.
func TestBatchMatchesSingle(t *testing.T) {
	imgs := make([]image.Image, 5)
	for i := range imgs {
		imgs[i] = randomRGBA(20, 12, uint64(i))
	}
	single := open(t, cycleModel(t), Options{})
	var want []*image.RGBA
	for _, img := range imgs {
		out, err := single.Translate(bg, img, nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, out)
	}
	for _, tc := range []struct {
		name  string
		path  string
		batch int
	}{
		{"dynamic/batch3", cycleModel(t), 3},
		{"dynamic/all", cycleModel(t), 0},
		{"fixed2", testModel(t, cycleCkpt, nil, export.ONNXOptions{Batch: 2}), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var runs []int
			tr := open(t, tc.path, Options{BatchSize: tc.batch, OnBatch: func(s BatchStats) { runs = append(runs, s.Images) }})
			got, err := tr.TranslateBatch(bg, imgs, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if d := maxDiff(got[i], want[i]); d > 1 {
					t.Errorf("image %d: batch vs single max difference %d", i, d)
				}
			}
			t.Logf("runs: %v", runs)
		})
	}
	_, err := single.TranslateBatch(bg, []image.Image{randomRGBA(8, 8, 1), randomRGBA(9, 8, 1)}, nil)
	if !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("mixed sizes: err = %v; want ErrSizeMismatch", err)
	}
}

func TestSize(t *testing.T) {
	tr := open(t, cycleModel(t), Options{Size: 24})
	got, err := tr.Translate(bg, randomRGBA(50, 30, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != image.Rect(0, 0, 24, 24) {
		t.Errorf("Size 24: output %v; want 24x24", got.Bounds())
	}
	// A model with its size fixed at export resizes to that size.
	fixed := open(t, testModel(t, cycleCkpt, nil, export.ONNXOptions{Height: 16, Width: 32}), Options{})
	got, err = fixed.Translate(bg, randomRGBA(50, 30, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != image.Rect(0, 0, 32, 16) {
		t.Errorf("fixed 32x16 model: output %v; want 32x16", got.Bounds())
	}
	// Only the height fixed: the width stays the input's.
	tall := open(t, testModel(t, cycleCkpt, nil, export.ONNXOptions{Height: 16}), Options{})
	if got, err = tall.Translate(bg, randomRGBA(50, 30, 3), nil); err != nil || got.Bounds() != image.Rect(0, 0, 50, 16) {
		t.Errorf("height fixed at 16: output %v, %v; want 50x16", got.Bounds(), err)
	}
	if _, err := Open(testModel(t, cycleCkpt, nil, export.ONNXOptions{Height: 16, Width: 32}), Options{Size: 64}); err == nil {
		t.Error("Size 64 on a model fixed at 32x16: no error")
	}
}

func TestGrid(t *testing.T) {
	tr := open(t, starModel(t), Options{BatchSize: 2})
	img := randomRGBA(10, 9, 5)
	labels, err := tr.AllTargets(nil)
	if err != nil {
		t.Fatal(err)
	}
	grid, err := tr.TranslateGrid(bg, img, labels)
	if err != nil {
		t.Fatal(err)
	}
	if grid.Bounds() != image.Rect(0, 0, 10*6, 9) {
		t.Fatalf("grid %v; want 60x9 (input + 5 targets)", grid.Bounds())
	}
	if d := maxDiff(grid.SubImage(image.Rect(0, 0, 10, 9)).(*image.RGBA), img); d != 0 {
		t.Errorf("grid column 0 differs from the input by %d", d)
	}
	for i, l := range labels {
		want, err := tr.Translate(bg, img, l)
		if err != nil {
			t.Fatal(err)
		}
		col := grid.SubImage(image.Rect(10*(i+1), 0, 10*(i+2), 9)).(*image.RGBA)
		if d := maxDiff(col, want); d > 1 {
			t.Errorf("grid column %d differs from Translate by %d", i+1, d)
		}
	}
	cyc := open(t, cycleModel(t), Options{})
	if _, err := cyc.TranslateGrid(bg, img, labels); err == nil {
		t.Error("grid on a CycleGAN model: no error")
	}
}

func TestLabelErrors(t *testing.T) {
	star := open(t, starModel(t), Options{})
	if _, err := star.Translate(bg, randomRGBA(8, 8, 1), []float32{1, 0}); err == nil || !strings.Contains(err.Error(), "5") {
		t.Errorf("short label: err = %v; want one naming 5 entries", err)
	}
	if _, err := star.Translate(bg, randomRGBA(8, 8, 1), nil); err == nil {
		t.Error("StarGAN without a label: no error")
	}
	_, err := star.Target("Purple_Hair", nil)
	if err == nil || !strings.Contains(err.Error(), "Black_Hair, Blond_Hair, Brown_Hair, Male, Young") {
		t.Errorf("unknown target: err = %v; want one listing the valid names", err)
	}
	cyc := open(t, cycleModel(t), Options{})
	if _, err := cyc.Translate(bg, randomRGBA(8, 8, 1), []float32{1}); err == nil {
		t.Error("CycleGAN with a label: no error")
	}
	if _, err := cyc.Target("Blond_Hair", nil); err == nil {
		t.Error("CycleGAN Target: no error")
	}
}

// TestConcurrentTranslate runs Translate from many goroutines on images of
// several sizes (run it with -race) and checks every result against a
// serial run.
func TestConcurrentTranslate(t *testing.T) {
	tr := open(t, cycleModel(t), Options{})
	sizes := []image.Point{{16, 16}, {13, 7}, {24, 10}}
	var imgs []image.Image
	var want []*image.RGBA
	for i := range 9 {
		sz := sizes[i%len(sizes)]
		img := randomRGBA(sz.X, sz.Y, uint64(i))
		out, err := tr.Translate(bg, img, nil)
		if err != nil {
			t.Fatal(err)
		}
		imgs, want = append(imgs, img), append(want, out)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(imgs))
	for g := range 4 {
		wg.Go(func() {
			for k := range imgs {
				i := (k + g) % len(imgs)
				out, err := tr.Translate(bg, imgs[i], nil)
				if err != nil {
					errs <- err
					return
				}
				if d := maxDiff(out, want[i]); d != 0 {
					errs <- fmt.Errorf("goroutine %d, image %d: differs from the serial result by %d", g, i, d)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCanceled(t *testing.T) {
	tr := open(t, cycleModel(t), Options{})
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := tr.Translate(ctx, randomRGBA(8, 8, 1), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want context.Canceled", err)
	}
}

func TestPixelLimit(t *testing.T) {
	tr := open(t, cycleModel(t), Options{MaxPixels: 100})
	if _, err := tr.Translate(bg, randomRGBA(11, 10, 1), nil); !errors.Is(err, ErrPixelLimit) {
		t.Errorf("110 pixels with limit 100: err = %v; want ErrPixelLimit", err)
	}
}

// rewriteModel writes a copy of the model at path, changed by edit.
func rewriteModel(t *testing.T, path string, edit func(*onnxpb.ModelProto)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		t.Fatal(err)
	}
	edit(&mp)
	out, err := proto.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "edited.onnx")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNotAGenerator(t *testing.T) {
	requireORT(t)
	dropMeta := func(key string) func(*onnxpb.ModelProto) {
		return func(mp *onnxpb.ModelProto) {
			var kept []*onnxpb.StringStringEntryProto
			for _, e := range mp.MetadataProps {
				if e.GetKey() != key {
					kept = append(kept, e)
				}
			}
			mp.MetadataProps = kept
		}
	}
	notONNX := filepath.Join(t.TempDir(), "notes.onnx")
	if err := os.WriteFile(notONNX, []byte("not a model at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	disc := filepath.Join(t.TempDir(), "disc.onnx")
	{
		// A discriminator's spec on a generator graph.
		p := rewriteModel(t, cycleModel(t), func(mp *onnxpb.ModelProto) {
			for _, e := range mp.MetadataProps {
				if e.GetKey() == models.MetadataKey {
					e.Value = proto.String(models.Spec{Kind: models.CycleGANDiscriminator, NetD: "basic", NLayersD: 3, InputNC: 3, NDF: 64, Norm: "instance"}.JSON())
				}
			}
		})
		if err := os.Rename(p, disc); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"no spec", rewriteModel(t, cycleModel(t), dropMeta(models.MetadataKey)), `no "ganrt.spec"`},
		{"no normalization", rewriteModel(t, cycleModel(t), dropMeta(export.MetaNormalization)), `no "ganrt.normalization"`},
		{"discriminator", disc, "CycleGAN discriminator"},
		{"no label input", rewriteModel(t, starModel(t), func(mp *onnxpb.ModelProto) {
			for _, in := range mp.Graph.Input {
				if in.GetName() == export.InputLabel {
					in.Name = proto.String("c")
				}
			}
			for _, n := range mp.Graph.Node {
				for i, s := range n.Input {
					if s == export.InputLabel {
						n.Input[i] = "c"
					}
				}
			}
		}), `takes "image" and "label"`},
		{"not onnx", notONNX, "notes.onnx"},
		{"missing file", filepath.Join(t.TempDir(), "absent.onnx"), "absent.onnx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Open(tc.path, Options{})
			if err == nil {
				tr.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want one naming %s and saying %q", err, tc.path, tc.want)
			}
			t.Log(err)
		})
	}
}

// TestCUDA runs the CycleGAN model on cuda:0 and compares with the CPU; it
// skips where the loaded ONNX Runtime has no usable CUDA provider or no GPU.
func TestCUDA(t *testing.T) {
	requireORT(t)
	if err := ort.CheckProvider(ort.KindCUDA); err != nil {
		t.Skipf("no CUDA: %v", err)
	}
	tr, err := Open(cycleModel(t), Options{Device: "cuda:0", CUDA: CUDAOptions{ConvAlgoSearch: ConvAlgoHeuristic}})
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, "no CUDA-capable device") || strings.Contains(msg, "CUDA driver version is insufficient") {
			t.Skipf("no usable GPU: %v", err)
		}
		t.Fatal(err)
	}
	defer tr.Close()
	cpu := open(t, cycleModel(t), Options{})
	img := randomRGBA(37, 23, 9)
	got, err := tr.Translate(bg, img, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cpu.Translate(bg, img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got, want); d > 2 {
		t.Errorf("cuda vs cpu: max pixel difference %d; want <= 2", d)
	}
}

// TestAutoDevice checks that device auto runs somewhere and says why when it
// is the CPU.
func TestAutoDevice(t *testing.T) {
	tr := open(t, cycleModel(t), Options{Device: "auto"})
	info := tr.Info()
	if info.Device == "cpu" && info.FallbackReason == "" {
		t.Errorf("auto fell back to cpu without a reason")
	}
	if _, err := tr.Translate(bg, randomRGBA(9, 9, 1), nil); err != nil {
		t.Fatal(err)
	}
}
