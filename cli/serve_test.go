package cli

import (
	"bytes"
	"context"
	"image"
	pngenc "image/png"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs `ganrt serve` on a free loopback port, translates one
// image through it, and stops it by cancelling its context (as SIGTERM
// does): the command returns nil and its log shows the request.
func TestServe(t *testing.T) {
	requireORT(t)
	base, stop := startServe(t, starModelFile(t), "--threads", "1", "--max-batch", "4", "--batch-wait", "0", "--queue", "2",
		"--timeout", "5s", "--shutdown-grace", "100ms")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	translateThrough(t, base+"/translate?target=Blond_Hair", 20, 16)
	log := stop()
	for _, want := range []string{"msg=serving", "msg=request method=POST path=/translate", "status=200", "batch=1", "msg=stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-m", "x.onnx", "--max-batch", "0"}, "--max-batch 0"},
		{[]string{"serve", "-m", "x.onnx", "--workers", "0"}, "--workers 0"},
		{[]string{"serve", "-m", "x.onnx", "--timeout", "0s"}, "must be positive"},
		{[]string{"serve", "-m", "x.onnx", "extra"}, "takes no arguments"},
		{[]string{"serve", "-m", "missing.onnx", "--addr", "127.0.0.1:0"}, "missing.onnx"},
	} {
		_, _, err := runCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v; want one containing %q", tc.args, err, tc.want)
		}
	}
}

// startServe runs `ganrt serve -m model --addr 127.0.0.1:0 extra...` and
// waits until it prints its address. stop cancels it (as SIGTERM does),
// checks that it returns nil, and gives its log (stderr).
func startServe(t *testing.T, model string, extra ...string) (base string, stop func() string) {
	t.Helper()
	app := New()
	var stdout, stderr syncBuffer
	app.Writer, app.ErrWriter = &stdout, &stderr
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	args := append([]string{"ganrt", "serve", "-m", model, "--addr", "127.0.0.1:0"}, extra...)
	go func() { done <- app.RunContext(ctx, interspersed(app, args)) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if s, ok := strings.CutPrefix(stdout.String(), "listening on "); ok {
			base = strings.TrimSpace(s)
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start\n%s", stderr.String())
		}
	}
	return base, func() string {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop")
		}
		return stderr.String()
	}
}

// translateThrough posts a w x h noise PNG to url and checks that the answer
// is a w x h image.
func translateThrough(t *testing.T, url string, w, h int) {
	t.Helper()
	var png bytes.Buffer
	if err := pngenc.Encode(&png, noise(w, h, 1)); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(url, "image/png", &png)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("translate: %d %s", resp.StatusCode, body)
	}
	if img, _, err := image.Decode(bytes.NewReader(body)); err != nil || img.Bounds().Size() != image.Pt(w, h) {
		t.Errorf("translate answer: %v, %v", err, img)
	}
}
