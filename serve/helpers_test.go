package serve

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/runtime"
)

// Golden checkpoints that the test models are exported from.
const (
	cycleCkpt = "../testdata/golden/cyclegan_resnet6_ngf8.pth"
	starCkpt  = "../testdata/golden/stargan_g_c5.pth"
)

var starDomains = []string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"}

var (
	modelMu    sync.Mutex
	modelDir   string
	modelPaths = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if modelDir != "" {
		os.RemoveAll(modelDir)
	}
	os.Exit(code)
}

// testModel exports ckpt (with domains, for StarGAN) as ONNX once per test
// binary and returns the file.
func testModel(t testing.TB, ckpt string, domains []string) string {
	t.Helper()
	modelMu.Lock()
	defer modelMu.Unlock()
	if p, ok := modelPaths[ckpt]; ok {
		return p
	}
	if modelDir == "" {
		d, err := os.MkdirTemp("", "ganrt-serve-test-")
		if err != nil {
			t.Fatal(err)
		}
		modelDir = d
	}
	m, err := export.Load(ckpt, export.Overrides{Domains: domains})
	if err != nil {
		t.Fatal(err)
	}
	data, err := export.ONNX(m, export.ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(modelDir, strings.TrimSuffix(filepath.Base(ckpt), ".pth")+".onnx")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	modelPaths[ckpt] = p
	return p
}

func cycleModel(t testing.TB) string { return testModel(t, cycleCkpt, nil) }
func starModel(t testing.TB) string  { return testModel(t, starCkpt, starDomains) }

// openModel opens a Translator (one intra-op thread unless o says) that the
// test closes.
func openModel(t testing.TB, path string, o runtime.Options) *runtime.Translator {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Fatalf("these tests need the ONNX Runtime library; run `make ort` in the repository root: %v", err)
	}
	if o.IntraOpThreads == 0 {
		o.IntraOpThreads = 1
	}
	tr, err := runtime.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// newServer returns a Server for tr that the test closes. Unless c says,
// Serve has no shutdown grace (tests of the grace set it).
func newServer(t testing.TB, tr *runtime.Translator, c Config) *Server {
	t.Helper()
	if c.Grace == 0 {
		c.Grace = -1
	}
	s, err := New(tr, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// noise returns a w x h image of random opaque pixels.
func noise(w, h int, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 7))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			m.Pix[i] = 0xff
		}
	}
	return m
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// answer is a response read in full.
type answer struct {
	code int
	h    http.Header
	body []byte
}

// post sends body to url and reads the whole answer (10 s limit).
func post(t testing.TB, c *http.Client, url string, body []byte) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read answer: %v", url, err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// get is post for GET.
func get(t testing.TB, c *http.Client, url string) answer {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// decodeImage decodes an answer's image.
func decodeImage(t testing.TB, a answer) image.Image {
	t.Helper()
	if a.code != http.StatusOK {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	img, _, err := image.Decode(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return img
}

// maxDiff returns the largest difference of an RGB sample between a and b,
// or 256 when their sizes differ.
func maxDiff(a, b image.Image) int {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 256
	}
	ab, bb := a.Bounds(), b.Bounds()
	d := 0
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, p := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}} {
				v := int(p[0]>>8) - int(p[1]>>8)
				d = max(d, v, -v)
			}
		}
	}
	return d
}

// metricsText returns the server's /metrics text.
func metricsText(t testing.TB, c *http.Client, base string) string {
	t.Helper()
	a := get(t, c, base+"/metrics")
	if a.code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", a.code, a.body)
	}
	return string(a.body)
}

// metricValue returns the value of the series line starting with prefix
// ("name{labels}" or "name"), or -1.
func metricValue(text, series string) float64 {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}
