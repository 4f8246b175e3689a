package serve

import (
	"bytes"
	"image"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ganrt/ganrt/runtime"
)

// FuzzTranslateRequest feeds the translate handler (StarGAN model, pixel
// limit 64x64, body limit 64 KiB) arbitrary queries (format, quality,
// target and source labels) and bodies. Every request must be answered
// within a second with a status the package documents; a 200 must be an
// image of the input's size; nothing may panic. Seeds: valid requests of
// each kind and the classic bad ones (NaN and out-of-range labels,
// unknown names, truncated and oversized images). `go test -fuzz
// FuzzTranslateRequest ./serve` explores further.
func FuzzTranslateRequest(f *testing.F) {
	tr := openModel(f, starModel(f), runtime.Options{MaxPixels: 64 * 64})
	s := newServer(f, tr, Config{MaxBytes: 64 << 10, Timeout: 5 * time.Second, BatchWait: -1})
	h := s.Handler()
	img := pngBytes(f, noise(12, 9, 1))
	big := hugePNGHeader(100, 100)
	for _, q := range []string{
		"target=Blond_Hair", "target=Male=0,Young=1&source=Male=1", "target=Blond_Hair&format=jpeg&quality=50",
		"target=Male=NaN", "target=Male=-Inf", "target=Male=7", "target=Nope", "source=Male=2&target=Young",
		"target=Blond_Hair&quality=0", "format=gif&target=Young", "target=%ff%fe", "target=Male=1,Male=0", "",
	} {
		f.Add(q, img)
	}
	f.Add("target=Young", img[:len(img)/2])
	f.Add("target=Young", big)
	f.Add("target=Young", []byte{})
	f.Add("target=Young", []byte("P6\n99999 99999\n255\n"))
	allowed := map[int]bool{200: true, 400: true, 408: true, 413: true, 415: true, 500: true, 503: true, 504: true}
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/translate", bytes.NewReader(body))
		r.URL.RawQuery = query
		w := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(w, r)
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("answered after %v", d)
		}
		if !allowed[w.Code] {
			t.Fatalf("status %d (%s) for %q", w.Code, w.Body.Bytes(), query)
		}
		if w.Code != 200 {
			return
		}
		out, _, err := image.Decode(bytes.NewReader(w.Body.Bytes()))
		if err != nil {
			t.Fatalf("200 with an undecodable answer: %v", err)
		}
		in, _, err := runtime.Decode(body, tr.MaxPixels())
		if err != nil {
			t.Fatalf("200 for a body runtime.Decode refuses: %v", err)
		}
		if out.Bounds().Size() != in.Bounds().Size() {
			t.Errorf("answer %v for an input of %v", out.Bounds().Size(), in.Bounds().Size())
		}
	})
}
