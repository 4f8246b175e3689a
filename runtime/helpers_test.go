package runtime

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/ort"
)

// Golden checkpoints that the test models are exported from.
const (
	cycleCkpt = "../testdata/golden/cyclegan_resnet6_ngf8.pth"
	starCkpt  = "../testdata/golden/stargan_g_c5.pth"
)

// starDomains names the golden StarGAN's labels as the reference's CelebA
// default.
var starDomains = []string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"}

var (
	modelDir     string
	modelDirOnce sync.Once
	modelMu      sync.Mutex
	modelPaths   = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if modelDir != "" {
		os.RemoveAll(modelDir)
	}
	os.Exit(code)
}

// requireORT fails the test when the ONNX Runtime library is missing.
func requireORT(t testing.TB) {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Fatalf("these tests need the ONNX Runtime library; run `make ort` in the repository root: %v", err)
	}
}

// testModel exports checkpoint ckpt (with domains, for StarGAN) as ONNX
// with options o, once per test binary, and returns the file's path.
func testModel(t testing.TB, ckpt string, domains []string, o export.ONNXOptions) string {
	t.Helper()
	modelDirOnce.Do(func() {
		d, err := os.MkdirTemp("", "ganrt-runtime-test-")
		if err != nil {
			panic(err)
		}
		modelDir = d
	})
	key := fmt.Sprintf("%s %v %+v", ckpt, domains, o)
	modelMu.Lock()
	defer modelMu.Unlock()
	if p, ok := modelPaths[key]; ok {
		return p
	}
	m, err := export.Load(ckpt, export.Overrides{Domains: domains})
	if err != nil {
		t.Fatal(err)
	}
	data, err := export.ONNX(m, o)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(modelDir, fmt.Sprintf("model%d.onnx", len(modelPaths)))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	modelPaths[key] = p
	return p
}

func cycleModel(t testing.TB) string { return testModel(t, cycleCkpt, nil, export.ONNXOptions{}) }
func starModel(t testing.TB) string {
	return testModel(t, starCkpt, starDomains, export.ONNXOptions{})
}

// open opens a Translator that the test closes.
func open(t testing.TB, path string, o Options) *Translator {
	t.Helper()
	requireORT(t)
	if o.IntraOpThreads == 0 {
		o.IntraOpThreads = 1
	}
	tr, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tr
}

// randomRGBA returns a w x h image of random opaque pixels.
func randomRGBA(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			m.Pix[i] = 0xff
		}
	}
	return m
}

// refInput is the slow, obvious model input for img at full resolution:
// straight RGB through At, x/127.5-1, reflect-padded to multiple (split
// like newFrame), [1,3,ph,pw].
func refInput(img image.Image, multiple, minSide int) (ort.Tensor, frame) {
	b := img.Bounds()
	f := newFrame(b.Dx(), b.Dy(), multiple, minSide)
	x := ort.NewTensor(1, 3, int64(f.ph), int64(f.pw))
	mirror := func(i, n int) int {
		for i < 0 || i >= n {
			if n == 1 {
				return 0
			}
			if i < 0 {
				i = -i
			}
			if i >= n {
				i = 2*(n-1) - i
			}
		}
		return i
	}
	for y := range f.ph {
		for xx := range f.pw {
			sx, sy := mirror(xx-f.left, f.w), mirror(y-f.top, f.h)
			c := color.NRGBA64Model.Convert(img.At(b.Min.X+sx, b.Min.Y+sy)).(color.NRGBA64)
			for ch, v := range []uint16{c.R, c.G, c.B} {
				x.Data[(ch*f.ph+y)*f.pw+xx] = float32(float64(v)/257/127.5 - 1)
			}
		}
	}
	return x, f
}

// refOutput crops and denormalizes a [1,3,ph,pw] output the obvious way.
func refOutput(y []float32, f frame) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, f.w, f.h))
	for yy := range f.h {
		for x := range f.w {
			var px [4]uint8
			for ch := range 3 {
				v := math.Round((float64(y[(ch*f.ph+yy+f.top)*f.pw+x+f.left]) + 1) * 127.5)
				px[ch] = uint8(max(0, min(255, v)))
			}
			px[3] = 255
			m.SetRGBA(x, yy, color.RGBA{px[0], px[1], px[2], px[3]})
		}
	}
	return m
}

// bareRun runs the model file directly on x (and label, for StarGAN).
func bareRun(t testing.TB, path string, x ort.Tensor, label []float32) []float32 {
	t.Helper()
	requireORT(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(data, ort.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := []ort.Tensor{x}
	if label != nil {
		in = append(in, ort.Tensor{Shape: []int64{x.Shape[0], int64(len(label))}, Data: label})
	}
	out, err := s.RunAlloc(in)
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Data
}

// maxDiff returns the largest per-sample difference of two RGBA images'
// colour channels, or -1 when their sizes differ.
func maxDiff(a, b *image.RGBA) int {
	if a.Bounds().Size() != b.Bounds().Size() {
		return -1
	}
	d := 0
	w, h := a.Bounds().Dx(), a.Bounds().Dy()
	for y := range h {
		for x := range 4 * w {
			p, q := int(a.Pix[y*a.Stride+x]), int(b.Pix[y*b.Stride+x])
			d = max(d, p-q, q-p)
		}
	}
	return d
}

var bg = context.Background()
