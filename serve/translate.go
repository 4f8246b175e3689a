package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ganrt/ganrt/runtime"
)

// contentTypes are the media types of the output formats.
var contentTypes = map[runtime.Format]string{
	runtime.PNG:  "image/png",
	runtime.JPEG: "image/jpeg",
	runtime.BMP:  "image/bmp",
	runtime.TIFF: "image/tiff",
	runtime.PPM:  "image/x-portable-pixmap",
}

// bufPool holds request bodies and encoded answers between requests.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept in bufPool.
const maxPooled = 8 << 20

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// request is a parsed translate query.
type request struct {
	format  runtime.Format
	quality int
	label   []float32 // nil for CycleGAN
}

// parseQuery reads format, quality, target and source.
func (s *Server) parseQuery(q url.Values) (request, error) {
	req := request{format: runtime.PNG}
	if f := q.Get("format"); f != "" {
		var err error
		if req.format, err = runtime.ParseFormat(f); err != nil {
			return req, err
		}
	}
	if v := q.Get("quality"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return req, fmt.Errorf("quality %q is not an integer in 1..100", v)
		}
		req.quality = n
	}
	target, source := q.Get("target"), q.Get("source")
	if !s.info.StarGAN() {
		if target != "" || source != "" {
			return req, errors.New("this model is a CycleGAN generator: it takes no target or source")
		}
		return req, nil
	}
	names := strings.Join(s.info.Domains, ", ")
	if target == "" {
		return req, fmt.Errorf("this StarGAN model needs a target: ?target=NAME or ?target=NAME=0,NAME=1 (labels: %s)", names)
	}
	src, err := s.t.ParseSource(source)
	if err != nil {
		return req, fmt.Errorf("source: %w", err)
	}
	if req.label, err = s.t.Target(target, src); err != nil {
		return req, fmt.Errorf("target: %w", err)
	}
	return req, nil
}

// labelKey is the batch key part of a label: its float32 bits.
func labelKey(label []float32) string {
	if label == nil {
		return ""
	}
	b := make([]byte, 4*len(label))
	for i, v := range label {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return string(b)
}

// translate is POST /translate (see the package documentation).
func (s *Server) translate(w http.ResponseWriter, r *http.Request) {
	s.m.inFlight.Inc()
	defer s.m.inFlight.Dec()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	// Until the body is in, every answer closes the connection: net/http
	// would otherwise read what is left of the body, at the client's pace,
	// before the answer goes out.
	h := w.Header()
	h.Set("Connection", "close")
	rc := http.NewResponseController(w)
	bodyIn := false
	defer func() {
		if !bodyIn {
			// net/http reads up to 256 KiB of an unread body when the
			// handler returns, even on a closing connection: with a past
			// read deadline that read ends at once.
			_ = rc.SetReadDeadline(time.Now())
		}
	}()
	if s.stopped.Load() {
		s.fail(w, r, http.StatusServiceUnavailable, "shutting_down", errStopped)
		return
	}
	req, err := s.parseQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "bad_request", err)
		return
	}

	// The body first, with its own slots, deadline and byte limit: a slow
	// sender holds a read slot for at most BodyTimeout, never a queue slot.
	select {
	case s.reading <- struct{}{}:
	default:
		h.Set("Retry-After", "1")
		s.fail(w, r, http.StatusServiceUnavailable, "readers_full",
			fmt.Errorf("server busy: %d request bodies are being read; retry later", cap(s.reading)))
		return
	}
	s.m.reading.Inc()
	bodyDeadline := time.Now().Add(s.cfg.BodyTimeout)
	if deadline.Before(bodyDeadline) {
		bodyDeadline = deadline
	}
	// The read deadline is not supported by every ResponseWriter (e.g.
	// httptest's recorder); there the body read is bounded only by the
	// server's own timeouts.
	_ = rc.SetReadDeadline(bodyDeadline)
	buf := getBuf()
	body, err := readBody(w, r, *buf, s.cfg.MaxBytes)
	if body != nil {
		*buf = body
	}
	s.m.reading.Dec()
	<-s.reading
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		putBuf(buf)
		s.fail(w, r, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Errorf("request body is larger than the limit of %d bytes", s.cfg.MaxBytes))
		return
	case errors.Is(err, os.ErrDeadlineExceeded) || (err != nil && !time.Now().Before(bodyDeadline)):
		putBuf(buf)
		s.fail(w, r, http.StatusRequestTimeout, "body_timeout",
			fmt.Errorf("reading the body took longer than %v", min(s.cfg.BodyTimeout, s.cfg.Timeout)))
		return
	case err != nil:
		putBuf(buf)
		s.fail(w, r, http.StatusBadRequest, "read_body", err)
		return
	case len(body) == 0:
		putBuf(buf)
		s.fail(w, r, http.StatusBadRequest, "bad_image", errors.New("empty body: POST the image file's bytes"))
		return
	}
	// The body is in: the connection may be kept. Its read deadline stays,
	// moved past the request's own deadline (see readSlack), so that no
	// connection outlives its timeouts.
	bodyIn = true
	h.Del("Connection")
	_ = rc.SetReadDeadline(deadline.Add(readSlack))

	select {
	case s.admit <- struct{}{}:
		defer func() { <-s.admit }()
	default:
		putBuf(buf)
		h.Set("Retry-After", "1")
		s.fail(w, r, http.StatusServiceUnavailable, "queue_full",
			fmt.Errorf("server busy: %d requests in progress or queued; retry later", cap(s.admit)))
		return
	}
	img, format, err := runtime.Decode(body, s.t.MaxPixels())
	putBuf(buf)
	switch {
	case errors.Is(err, runtime.ErrPixelLimit):
		s.fail(w, r, http.StatusRequestEntityTooLarge, "pixel_limit", err)
		return
	case errors.Is(err, runtime.ErrFormat):
		s.fail(w, r, http.StatusUnsupportedMediaType, "unsupported_format", err)
		return
	case err != nil:
		s.fail(w, r, http.StatusBadRequest, "bad_image", err)
		return
	}
	in := img.Bounds().Size()
	if s.mem.size > 0 {
		cost := requestCost(s.info, s.t, in.X, in.Y, s.cfg.BytesPerPixel)
		if cost > s.mem.size {
			s.fail(w, r, http.StatusRequestEntityTooLarge, "memory_budget",
				fmt.Errorf("a %dx%d image needs %d MiB of the memory budget of %d MiB", in.X, in.Y, cost>>20, s.mem.size>>20))
			return
		}
		if err := s.mem.acquire(ctx, cost); err != nil {
			s.fail(w, r, http.StatusGatewayTimeout, "timeout", fmt.Errorf("no memory for a %dx%d image within %v", in.X, in.Y, s.cfg.Timeout))
			return
		}
		defer s.mem.release(cost)
	}
	img = s.t.Fit(img)
	sz := img.Bounds().Size()
	note(ctx, slog.String("input", format), slog.String("size", fmt.Sprintf("%dx%d", in.X, in.Y)))

	j := &job{ctx: ctx, img: img, key: batchKey{sz.X, sz.Y, labelKey(req.label)}, label: req.label, done: make(chan result, 1)}
	if err := s.b.submit(j); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "shutting_down", err)
		return
	}
	var res result
	select {
	case res = <-j.done:
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	if errors.Is(res.err, context.Canceled) && !time.Now().Before(deadline) {
		res.err = context.DeadlineExceeded // both ended; the deadline did
	}
	switch {
	case errors.Is(res.err, context.DeadlineExceeded):
		s.fail(w, r, http.StatusGatewayTimeout, "timeout", fmt.Errorf("no answer within %v", s.cfg.Timeout))
		return
	case errors.Is(res.err, context.Canceled):
		// The client went away; nobody reads this answer.
		s.fail(w, r, 499, "canceled", errors.New("client closed the request"))
		return
	case errors.Is(res.err, errStopped):
		s.fail(w, r, http.StatusServiceUnavailable, "shutting_down", res.err)
		return
	case res.err != nil:
		s.fail(w, r, http.StatusInternalServerError, "inference", res.err)
		return
	}
	note(ctx, slog.Int("batch", res.batch))

	out := getBuf()
	defer putBuf(out)
	enc := bytes.NewBuffer(*out)
	if err := runtime.Encode(enc, res.img, req.format, runtime.EncodeOptions{Quality: req.quality}); err != nil {
		s.fail(w, r, http.StatusInternalServerError, "encode", err)
		return
	}
	*out = enc.Bytes()
	h.Set("Content-Type", contentTypes[req.format])
	h.Set("Content-Length", strconv.Itoa(enc.Len()))
	h.Set("X-Ganrt-Batch", strconv.Itoa(res.batch))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(enc.Bytes())
}

// fail answers a translate request with an error: code, a one-line text
// body, the error counted under reason and kept for the access log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, reason string, err error) {
	s.m.errors.WithLabelValues(reason).Inc()
	if rec, ok := r.Context().Value(logKey{}).(*accessRecord); ok {
		rec.err = err
	}
	http.Error(w, err.Error(), code)
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
