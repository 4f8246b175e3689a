package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ganrt/ganrt/runtime"
)

var bg = context.Background()

// TestTranslateCycleGAN posts images one at a time and compares the answers
// with Translator.Translate on the same decoded image: pixel-exact for PNG
// answers, and a decodable JPEG of the right size for ?format=jpeg.
func TestTranslateCycleGAN(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	s := newServer(t, tr, Config{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	c := ts.Client()

	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, noise(33, 20, 2), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"png 40x28", pngBytes(t, noise(40, 28, 1))},
		{"png 13x9 (padded)", pngBytes(t, noise(13, 9, 3))},
		{"jpeg 33x20", jpg.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, c, ts.URL+"/translate", tc.body)
			if ct := a.h.Get("Content-Type"); ct != "image/png" {
				t.Errorf("Content-Type %q; want image/png", ct)
			}
			got := decodeImage(t, a)
			in, _, err := runtime.Decode(tc.body, 0)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tr.Translate(bg, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(got, want); d != 0 {
				t.Errorf("answer differs from Translate by up to %d levels", d)
			}
			if b := a.h.Get("X-Ganrt-Batch"); b != "1" {
				t.Errorf("X-Ganrt-Batch %q; want 1", b)
			}
		})
	}
	a := post(t, c, ts.URL+"/translate?format=jpeg&quality=80", pngBytes(t, noise(24, 16, 4)))
	if ct := a.h.Get("Content-Type"); ct != "image/jpeg" {
		t.Errorf("format=jpeg: Content-Type %q", ct)
	}
	if img := decodeImage(t, a); img.Bounds().Size() != image.Pt(24, 16) {
		t.Errorf("format=jpeg: size %v; want 24x16", img.Bounds().Size())
	}
}

// TestTranslateStarGAN checks targets by name and by values, with a
// source, against Translator.Target + Translate.
func TestTranslateStarGAN(t *testing.T) {
	tr := openModel(t, starModel(t), runtime.Options{})
	s := newServer(t, tr, Config{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	img := noise(24, 20, 5)
	body := pngBytes(t, img)
	for _, tc := range []struct{ target, source string }{
		{"Blond_Hair", ""},
		{"Male=0,Young=1", "Male=1"},
		{"black_hair", "Young"},
	} {
		q := url.Values{"target": {tc.target}}
		if tc.source != "" {
			q.Set("source", tc.source)
		}
		got := decodeImage(t, post(t, ts.Client(), ts.URL+"/translate?"+q.Encode(), body))
		src, err := tr.ParseSource(tc.source)
		if err != nil {
			t.Fatal(err)
		}
		label, err := tr.Target(tc.target, src)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tr.Translate(bg, img, label)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(got, want); d != 0 {
			t.Errorf("target %q source %q: answer differs from Translate by up to %d levels", tc.target, tc.source, d)
		}
	}
}

// truncatedPNG is the first part of a valid PNG: its header decodes, its
// pixels do not.
func truncatedPNG(t *testing.T) []byte {
	b := pngBytes(t, noise(20, 20, 6))
	return b[:len(b)/2]
}

// hugePNGHeader returns a PNG signature and an IHDR chunk claiming w x h,
// and nothing else: only a decoder that reads pixels would notice.
func hugePNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestErrors checks each refusal's status and message, and that it is
// counted in errors_total.
func TestErrors(t *testing.T) {
	cyc := openModel(t, cycleModel(t), runtime.Options{MaxPixels: 64 * 64})
	star := openModel(t, starModel(t), runtime.Options{})
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	cs := httptest.NewServer(newServer(t, cyc, Config{MaxBytes: 16000, Logger: logger}).Handler())
	defer cs.Close()
	ss := httptest.NewServer(newServer(t, star, Config{}).Handler())
	defer ss.Close()
	small := pngBytes(t, noise(16, 16, 7))
	for _, tc := range []struct {
		name, method, url string
		body              []byte
		code              int
		want              string // in the body
	}{
		{"corrupt image", "POST", cs.URL + "/translate", truncatedPNG(t), 400, "decode png"},
		{"not an image", "POST", cs.URL + "/translate", []byte("hello, world"), 415, "not an image"},
		{"empty body", "POST", cs.URL + "/translate", nil, 400, "empty body"},
		{"body too large", "POST", cs.URL + "/translate", make([]byte, 16001), 413, "larger than the limit of 16000 bytes"},
		{"too many pixels (header only)", "POST", cs.URL + "/translate", hugePNGHeader(100000, 100000), 413, "exceeds the pixel limit"},
		{"bad format", "POST", cs.URL + "/translate?format=gif", small, 400, "unknown output image format"},
		{"bad quality", "POST", cs.URL + "/translate?format=jpeg&quality=0", small, 400, "quality"},
		{"cyclegan target", "POST", cs.URL + "/translate?target=Blond_Hair", small, 400, "takes no target"},
		{"wrong method", "GET", cs.URL + "/translate", nil, 405, ""},
		{"wrong method healthz", "POST", cs.URL + "/healthz", nil, 405, ""},
		{"unknown path", "GET", cs.URL + "/nope", nil, 404, ""},
		{"no target", "POST", ss.URL + "/translate", small, 400, "labels: Black_Hair, Blond_Hair, Brown_Hair, Male, Young"},
		{"bad target", "POST", ss.URL + "/translate?target=Red_Hair", small, 400, "valid names: Black_Hair, Blond_Hair, Brown_Hair, Male, Young"},
		{"bad source", "POST", ss.URL + "/translate?target=Male&source=Old", small, 400, "source: unknown StarGAN label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.want) {
				t.Errorf("got %d %q; want %d with %q", resp.StatusCode, body, tc.code, tc.want)
			}
			if tc.code == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	// A decodable image over the pixel limit: refused from its header too.
	a := post(t, http.DefaultClient, cs.URL+"/translate", pngBytes(t, noise(65, 64, 1)))
	if a.code != 413 || !strings.Contains(string(a.body), "65x64 is 4160 pixels, limit 4096") {
		t.Errorf("65x64 image: %d %q; want 413 naming the size and the limit", a.code, a.body)
	}
	m := metricsText(t, http.DefaultClient, cs.URL)
	for _, series := range []string{
		`ganrt_serve_errors_total{reason="bad_image"} 2`,
		`ganrt_serve_errors_total{reason="body_too_large"} 1`,
		`ganrt_serve_errors_total{reason="pixel_limit"} 2`,
		`ganrt_serve_errors_total{reason="unsupported_format"} 1`,
		`ganrt_serve_errors_total{reason="bad_request"} 3`,
		`ganrt_serve_requests_total{code="405",handler="translate"} 1`,
		`ganrt_serve_requests_total{code="413",handler="translate"} 3`,
	} {
		if !strings.Contains(m, series+"\n") {
			t.Errorf("metrics lack %s", series)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if l := logs.String(); !strings.Contains(l, `level=WARN msg=request method=POST path=/translate`) || !strings.Contains(l, "status=413") ||
		!strings.Contains(l, `error="request body is larger than the limit of 16000 bytes"`) {
		t.Errorf("access log lacks the 413 records:\n%s", l)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestHealthzAndMetrics checks /healthz and that /metrics shows every
// series after a request.
func TestHealthzAndMetrics(t *testing.T) {
	tr := openModel(t, starModel(t), runtime.Options{})
	s := newServer(t, tr, Config{MaxBatch: 4})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	a := get(t, ts.Client(), ts.URL+"/healthz")
	var h struct {
		Status   string   `json:"status"`
		Labels   []string `json:"labels"`
		MaxBatch int      `json:"max_batch"`
	}
	if err := json.Unmarshal(a.body, &h); err != nil || a.code != 200 || h.Status != "ok" || len(h.Labels) != 5 || h.MaxBatch != 4 {
		t.Errorf("healthz: %d %s (%v)", a.code, a.body, err)
	}
	decodeImage(t, post(t, ts.Client(), ts.URL+"/translate?target=Male", pngBytes(t, noise(8, 8, 1))))
	m := metricsText(t, ts.Client(), ts.URL)
	for _, series := range []string{
		`ganrt_serve_requests_total{code="200",handler="translate"} 1`,
		`ganrt_serve_requests_total{code="200",handler="healthz"} 1`,
		`ganrt_serve_request_duration_seconds_bucket{code="200",handler="translate",le="+Inf"} 1`,
		`ganrt_serve_request_duration_seconds_count{code="200",handler="translate"} 1`,
		`ganrt_serve_batch_size_bucket{le="1"} 1`,
		`ganrt_serve_batch_size_bucket{le="4"} 1`,
		`ganrt_serve_batch_size_count 1`,
		`ganrt_serve_batch_duration_seconds_count 1`,
		`ganrt_serve_in_flight_requests 0`,
		`ganrt_serve_queued_requests 0`,
		`ganrt_serve_errors_total{reason="queue_full"} 0`,
		"# TYPE go_goroutines gauge",
	} {
		if !strings.Contains(m, series+"\n") {
			t.Errorf("metrics lack %s", series)
		}
	}
	if t.Failed() {
		t.Log(m)
	}
	s.Close()
	if a := get(t, ts.Client(), ts.URL+"/healthz"); a.code != 503 || !strings.Contains(string(a.body), "shutting down") {
		t.Errorf("healthz after Close: %d %s", a.code, a.body)
	}
	if a := post(t, ts.Client(), ts.URL+"/translate?target=Male", pngBytes(t, noise(8, 8, 1))); a.code != 503 {
		t.Errorf("translate after Close: %d %s", a.code, a.body)
	}
}

// TestConcurrentBatches sends many concurrent StarGAN requests of two sizes
// and three targets (run with -race): every answer must equal Translate on
// its own image, and some runs must have batched several requests.
func TestConcurrentBatches(t *testing.T) {
	tr := openModel(t, starModel(t), runtime.Options{})
	s := newServer(t, tr, Config{MaxBatch: 8, BatchWait: 20 * time.Millisecond})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	targets := []string{"Blond_Hair", "Male", "Young=0"}
	const n = 48
	type req struct {
		img    image.Image
		target string
		want   image.Image
	}
	reqs := make([]req, n)
	for i := range reqs {
		w := 16 + 4*(i%2)
		reqs[i] = req{img: noise(w, 12, uint64(100+i)), target: targets[i%3]}
		label, err := tr.Target(reqs[i].target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if reqs[i].want, err = tr.Translate(bg, reqs[i].img, label); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	batches := map[string]int{}
	for i := range reqs {
		wg.Go(func() {
			a := post(t, ts.Client(), ts.URL+"/translate?target="+url.QueryEscape(reqs[i].target), pngBytes(t, reqs[i].img))
			if a.code != 200 {
				t.Errorf("request %d: %d %s", i, a.code, a.body)
				return
			}
			img, _, err := image.Decode(bytes.NewReader(a.body))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			if d := maxDiff(img, reqs[i].want); d != 0 {
				t.Errorf("request %d (%v, %s, batch %s): differs from Translate by up to %d levels", i,
					reqs[i].img.Bounds().Size(), reqs[i].target, a.h.Get("X-Ganrt-Batch"), d)
			}
			mu.Lock()
			batches[a.h.Get("X-Ganrt-Batch")]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("answers by the size of their run: %v", batches)
	if batches["1"] == n {
		t.Error("no run batched more than one request")
	}
}

// TestTimeout lets a request wait in its group past its deadline: 504.
func TestTimeout(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	s := newServer(t, tr, Config{BatchWait: 2 * time.Second, Timeout: 50 * time.Millisecond})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	start := time.Now()
	a := post(t, ts.Client(), ts.URL+"/translate", pngBytes(t, noise(8, 8, 1)))
	if a.code != 504 || !strings.Contains(string(a.body), "no answer within 50ms") {
		t.Errorf("got %d %q; want 504", a.code, a.body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("504 after %v; want about 50ms", d)
	}

	// A body that stops arriving: the body deadline answers 408.
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		pw.Write(pngBytes(t, noise(8, 8, 1))[:20])
	}()
	req, _ := http.NewRequest("POST", ts.URL+"/translate", pr)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 408 || !strings.Contains(string(body), "reading the body took longer than 50ms") {
		t.Errorf("stalled body: %d %q; want 408", resp.StatusCode, body)
	}
}
