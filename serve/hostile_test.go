package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ganrt/ganrt/runtime"
)

// holdRuns makes s's model runs wait until the returned release is called
// (it is also called at cleanup); runs report on started as they begin.
func holdRuns(t *testing.T, s *Server) (started <-chan int, release func()) {
	t.Helper()
	gate := make(chan struct{})
	st := make(chan int, 64)
	s.b.close()
	s.b = s.newBatcher(func(ctx context.Context, imgs []image.Image, labels [][]float32) ([]*image.RGBA, error) {
		select {
		case st <- len(imgs):
		default: // nobody counts runs past the first few
		}
		<-gate
		return s.t.TranslateBatch(ctx, imgs, labels)
	})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return st, release
}

// slowSender is a raw loopback client that sends a translate request's
// header, announcing size body bytes, then one byte per interval (never,
// when interval is 0) after sending first bytes.
type slowSender struct {
	c      net.Conn
	opened time.Time
	done   chan slowResult
}

// slowResult is what a raw client read back before the server closed the
// connection.
type slowResult struct {
	status string        // the answer's status line, "" if none
	closed time.Duration // since the connection opened
	err    error         // the read error that ended it: EOF or a reset; a timeout means still open
}

// dialSlow opens a connection to addr, writes head, then first, then one
// byte per interval while the connection is open, and reads until the
// server closes it (at most hold).
func dialSlow(t *testing.T, addr, head string, first []byte, interval, hold time.Duration) *slowSender {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &slowSender{c: c, opened: time.Now(), done: make(chan slowResult, 1)}
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	if len(first) > 0 {
		if _, err := c.Write(first); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	if interval > 0 {
		go func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte{0}); err != nil {
						return
					}
				}
			}
		}()
	}
	go func() {
		defer close(stop)
		_ = c.SetReadDeadline(s.opened.Add(hold))
		r := bufio.NewReader(c)
		var res slowResult
		line, err := r.ReadString('\n')
		if err == nil {
			res.status = strings.TrimSpace(line)
			_, err = io.Copy(io.Discard, r)
			if err == nil {
				err = io.EOF
			}
		}
		res.closed, res.err = time.Since(s.opened), err
		s.done <- res
	}()
	return s
}

// closedByServer reports whether err ended a read because the server
// closed the connection (not the client's own deadline).
func closedByServer(err error) bool {
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// postHead is a translate request header announcing n body bytes.
func postHead(n int) string {
	return fmt.Sprintf("POST /translate HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n", n)
}

// waitMetric waits up to 5 s for a gauge of the server at base to read
// want. It asks on a new connection each time (counted in
// open_connections while it asks).
func waitMetric(t *testing.T, base, series string, want float64) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got := metricValue(metricsText(t, c, base), series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v; want %v", series, got, want)
		}
	}
}

// TestSlowBodies sends bodies at one byte per 100 ms on more connections
// than the server has queue slots: they hold read slots, not queue slots,
// so a legitimate request is still answered 200 while they send. With
// fewer read slots than slow senders, the legitimate request is refused
// 503 with Retry-After at once, and served once the slow senders' body
// deadline has answered them 408 and closed their connections.
func TestSlowBodies(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	body := pngBytes(t, noise(16, 12, 1))
	const slow = 12
	c := &http.Client{Timeout: 10 * time.Second}

	// Queue slots: Queue + Workers x MaxBatch = 3, fewer than the senders.
	s := newServer(t, tr, Config{MaxBatch: 1, Workers: 1, Queue: 2, BodyTimeout: 4 * time.Second, Timeout: 8 * time.Second})
	base, stop := serveLoopback(t, s)
	addr := strings.TrimPrefix(base, "http://")
	var senders []*slowSender
	for range slow {
		senders = append(senders, dialSlow(t, addr, postHead(1000), []byte{0x89}, 100*time.Millisecond, 10*time.Second))
	}
	waitMetric(t, base, "ganrt_serve_reading_requests", slow)
	t0 := time.Now()
	a := post(t, c, base+"/translate", body)
	took := time.Since(t0)
	if a.code != http.StatusOK {
		t.Errorf("with %d slow senders on 3 queue slots: %d %s; want 200", slow, a.code, a.body)
	}
	t.Logf("legitimate request beside %d slow senders: %d after %v", slow, a.code, took.Round(time.Millisecond))
	var worst time.Duration
	for i, sn := range senders {
		r := <-sn.done
		if !strings.HasPrefix(r.status, "HTTP/1.1 408") || !closedByServer(r.err) {
			t.Errorf("slow sender %d: %q, read ended by %v after %v; want 408 and the connection closed", i, r.status, r.err, r.closed)
		}
		worst = max(worst, r.closed)
	}
	t.Logf("slow senders answered 408 and closed within %v (BodyTimeout 4s)", worst.Round(time.Millisecond))
	if worst > 4*time.Second+2*time.Second {
		t.Errorf("a slow sender held its connection %v; BodyTimeout is 4s", worst)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}

	// Read slots: 4, fewer than the senders.
	s = newServer(t, tr, Config{MaxReads: 4, BodyTimeout: time.Second})
	base, stop = serveLoopback(t, s)
	addr = strings.TrimPrefix(base, "http://")
	senders = senders[:0]
	for range 6 {
		senders = append(senders, dialSlow(t, addr, postHead(1000), []byte{0x89}, 100*time.Millisecond, 10*time.Second))
	}
	waitMetric(t, base, "ganrt_serve_reading_requests", 4)
	a = post(t, c, base+"/translate", body)
	if a.code != http.StatusServiceUnavailable || a.h.Get("Retry-After") != "1" || !strings.Contains(string(a.body), "4 request bodies are being read") {
		t.Errorf("with every read slot held: %d %v %q; want 503 with Retry-After", a.code, a.h, a.body)
	}
	codes := map[string]int{}
	for _, sn := range senders {
		r := <-sn.done
		codes[strings.TrimPrefix(r.status, "HTTP/1.1 ")]++
		if !closedByServer(r.err) {
			t.Errorf("a slow sender's connection is still open after %v", r.closed)
		}
	}
	if codes["408 Request Timeout"] != 4 || codes["503 Service Unavailable"] != 2 {
		t.Errorf("slow senders got %v; want 4 x 408 and 2 x 503", codes)
	}
	if a := post(t, c, base+"/translate", body); a.code != http.StatusOK {
		t.Errorf("after the slow senders timed out: %d %s", a.code, a.body)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// TestSilentConnections opens connections that stop sending at every
// stage of a request and checks that the server closes each within its
// stated timeout: the header (HeaderTimeout), the body (BodyTimeout, after
// answering 408) and the wait for a next request (IdleTimeout).
func TestSilentConnections(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	const (
		header = 300 * time.Millisecond
		bodyT  = 500 * time.Millisecond
		idle   = 400 * time.Millisecond
		each   = 10
		slack  = 2 * time.Second // a loaded 2-core machine
	)
	s := newServer(t, tr, Config{HeaderTimeout: header, BodyTimeout: bodyT, IdleTimeout: idle, Timeout: 5 * time.Second})
	base, stop := serveLoopback(t, s)
	defer stop()
	addr := strings.TrimPrefix(base, "http://")
	png := pngBytes(t, noise(8, 8, 4))
	full := postHead(len(png)) + string(png)
	for _, tc := range []struct {
		name   string
		head   string
		first  []byte
		status string        // the answer's status line prefix ("" none)
		limit  time.Duration // the stated timeout
	}{
		{"nothing sent", "", nil, "", header},
		{"half a header", "POST /translate HTTP/1.1\r\nHost: test\r\n", nil, "", header},
		{"header, no body", postHead(1000), nil, "HTTP/1.1 408", bodyT},
		{"half a body", postHead(1000), png[:40], "HTTP/1.1 408", bodyT},
		{"chunked, one chunk", "POST /translate HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n", []byte("10\r\n0123456789abcdef\r\n"), "HTTP/1.1 408", bodyT},
		{"idle after an answer", full, nil, "HTTP/1.1 200", idle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns []*slowSender
			for range each {
				conns = append(conns, dialSlow(t, addr, tc.head, tc.first, 0, 10*time.Second))
			}
			var worst time.Duration
			held := 0
			for _, c := range conns {
				r := <-c.done
				if !closedByServer(r.err) {
					held++
					continue
				}
				if !strings.HasPrefix(r.status, tc.status) || (tc.status == "" && r.status != "") {
					t.Errorf("answer %q; want %q", r.status, tc.status)
				}
				worst = max(worst, r.closed)
			}
			t.Logf("%d of %d closed by the server, the last after %v (stated timeout %v)", each-held, each, worst.Round(time.Millisecond), tc.limit)
			if held > 0 {
				t.Errorf("%d of %d connections still open after 10 s", held, each)
			}
			if worst > tc.limit+slack {
				t.Errorf("a connection stayed %v; the timeout is %v", worst, tc.limit)
			}
		})
	}
	waitMetric(t, base, "ganrt_serve_open_connections", 1) // the one asking
}

// TestQueueFull holds the only queue slot with a request whose model run
// has not finished, and checks that the next request is refused with 503
// and Retry-After, and that the first is then served.
func TestQueueFull(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	s := newServer(t, tr, Config{MaxBatch: 1, Workers: 1, Queue: -1})
	started, release := holdRuns(t, s)
	base, stop := serveLoopback(t, s)
	defer stop()
	c := &http.Client{Timeout: 10 * time.Second}
	body := pngBytes(t, noise(8, 8, 2))
	first := make(chan answer, 1)
	go func() { first <- post(t, c, base+"/translate", body) }()
	<-started // the first request holds the slot
	a := post(t, c, base+"/translate", body)
	if a.code != 503 || a.h.Get("Retry-After") != "1" || !strings.Contains(string(a.body), "server busy") {
		t.Errorf("while the slot is held: %d %v %q; want 503 with Retry-After and a message", a.code, a.h, a.body)
	}
	release()
	if a := <-first; a.code != 200 {
		t.Errorf("held request: %d %s", a.code, a.body)
	}
	if a := post(t, c, base+"/translate", body); a.code != 200 {
		t.Errorf("after the slot freed: %d %s", a.code, a.body)
	}
}

// TestShutdownGrace cancels Serve's context while a request is in flight
// (its body sent, its run held) and clients keep sending on new
// connections: /healthz turns 503 at once, requests are still accepted and
// answered 200 for the grace period, then new connections are refused, the
// request in flight is answered 200 and Serve returns nil. No client is
// left without an answer (a reset or EOF) before accepting stops; at that
// instant, a connection the kernel completed after the listener's last
// Accept is reset by the kernel: those are counted and logged.
func TestShutdownGrace(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	const grace = time.Second
	s := newServer(t, tr, Config{Grace: grace, DrainTimeout: 5 * time.Second, BatchWait: -1})
	started, release := holdRuns(t, s)
	base, stop := serveLoopback(t, s)
	body := pngBytes(t, noise(8, 8, 5))
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	inFlight := make(chan answer, 1)
	go func() { inFlight <- post(t, fresh, base+"/translate", body) }()
	<-started
	t0 := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if a := get(t, fresh, base+"/healthz"); a.code == http.StatusServiceUnavailable {
			t.Logf("/healthz 503 after %v", time.Since(t0).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz still 200 two seconds after shutdown began")
		}
	}
	release()

	// Clients that send until their connection is refused.
	type lostReq struct {
		at  time.Duration
		err string
	}
	type tally struct {
		codes   map[int]int
		refused time.Duration // since t0, the first refused dial
		lost    []lostReq     // accepted connections that got no answer
	}
	const clients = 6
	tallies := make([]tally, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func(tl *tally) {
			defer wg.Done()
			tl.codes = map[int]int{}
			for time.Since(t0) < 10*time.Second {
				req, _ := http.NewRequest(http.MethodPost, base+"/translate", strings.NewReader(string(body)))
				resp, err := fresh.Do(req)
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						tl.refused = time.Since(t0)
						return
					}
					at := time.Since(t0)
					tl.lost = append(tl.lost, lostReq{at, fmt.Sprintf("%v after %v", err, at.Round(time.Millisecond))})
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				tl.codes[resp.StatusCode]++
			}
		}(&tallies[i])
	}
	a := post(t, fresh, base+"/translate", body)
	if a.code != http.StatusOK {
		t.Errorf("a request during the grace period: %d %s; want 200", a.code, a.body)
	}
	if a := <-inFlight; a.code != http.StatusOK {
		t.Errorf("the request in flight at shutdown: %d %s; want 200", a.code, a.body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
	wg.Wait()
	codes := map[int]int{}
	for i, tl := range tallies {
		for c, n := range tl.codes {
			codes[c] += n
		}
		for _, l := range tl.lost {
			if l.at < grace {
				t.Errorf("client %d: a request lost without an answer during the grace: %s", i, l.err)
			} else {
				t.Logf("client %d: a request reset as accepting stopped: %s", i, l.err)
			}
		}
		if tl.refused < grace {
			t.Errorf("client %d refused %v after shutdown began, inside the %v grace", i, tl.refused, grace)
		}
	}
	t.Logf("clients during shutdown: answers by status %v, refused from %v", codes, tallies[0].refused.Round(time.Millisecond))
	if len(codes) != 1 || codes[http.StatusOK] == 0 {
		t.Errorf("answers by status %v; want only 200s", codes)
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(base, "http://")); err == nil {
		t.Error("the listener still accepts after Serve returned")
	}
}

// TestTimeoutCancelsRun times a full model run of a 1024x1024 image, then
// posts the same image with a Timeout far shorter: the answer is 504, and
// the run, left with no request waiting for it, is cancelled (ORT's
// terminate flag) long before a full run's time.
func TestTimeoutCancelsRun(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	img := noise(1024, 1024, 6)
	t0 := time.Now()
	if _, err := tr.Translate(bg, img, nil); err != nil {
		t.Fatal(err)
	}
	full := time.Since(t0)

	s := newServer(t, tr, Config{Timeout: full / 10, BatchWait: -1})
	runs := make(chan time.Duration, 1)
	run := s.t.TranslateBatch
	s.b.close()
	s.b = s.newBatcher(func(ctx context.Context, imgs []image.Image, labels [][]float32) ([]*image.RGBA, error) {
		t0 := time.Now()
		out, err := run(ctx, imgs, labels)
		runs <- time.Since(t0)
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("the run of a request that timed out ended with %v; want context.Canceled", err)
		}
		return out, err
	})
	base, stop := serveLoopback(t, s)
	defer stop()
	a := post(t, &http.Client{Timeout: 10 * time.Second}, base+"/translate", pngBytes(t, img))
	if a.code != http.StatusGatewayTimeout {
		t.Errorf("got %d %s; want 504", a.code, a.body)
	}
	var ran time.Duration
	select {
	case ran = <-runs:
	case <-time.After(15 * time.Second):
		// Decoding took the whole timeout (e.g. under -race): no run began.
		t.Skip("the request timed out before its run began; nothing to cancel")
	}
	t.Logf("1024x1024: a full run %v; with a %v timeout the run ended after %v", full.Round(time.Millisecond), s.cfg.Timeout.Round(time.Millisecond), ran.Round(time.Millisecond))
	if ran > full*6/10 {
		t.Errorf("the cancelled run took %v, a full run %v: not cancelled", ran, full)
	}
}

// TestMemoryBudget gives two workers a memory budget that holds one 16x16
// request: while the first request's run is held, the second waits for
// memory instead of starting a run on the free worker, and runs once the
// first is answered. An image that alone exceeds the budget gets 413.
func TestMemoryBudget(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	const bpp = 1 << 10
	cost := requestCost(tr.Info(), tr, 16, 16, bpp)
	s := newServer(t, tr, Config{Workers: 2, BatchWait: -1, MemoryBudget: cost * 3 / 2, BytesPerPixel: bpp})
	started, release := holdRuns(t, s)
	base, stop := serveLoopback(t, s)
	defer stop()
	c := &http.Client{Timeout: 10 * time.Second}
	body := pngBytes(t, noise(16, 16, 7))
	answers := make(chan answer, 2)
	go func() { answers <- post(t, c, base+"/translate", body) }()
	<-started
	go func() { answers <- post(t, c, base+"/translate", body) }()
	select {
	case <-started:
		t.Error("a second run started on the free worker beyond the memory budget")
	case <-time.After(300 * time.Millisecond):
	}
	release()
	for range 2 {
		if a := <-answers; a.code != 200 {
			t.Errorf("%d %s", a.code, a.body)
		}
	}
	a := post(t, c, base+"/translate", pngBytes(t, noise(40, 40, 8)))
	if a.code != http.StatusRequestEntityTooLarge || !strings.Contains(string(a.body), "memory budget") {
		t.Errorf("an image over the budget: %d %q; want 413", a.code, a.body)
	}
}

// TestMeasureBytesPerPixel checks the measured cost of a pixel (New with
// BytesPerPixel 0) against the floor and a generous ceiling.
func TestMeasureBytesPerPixel(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	s := newServer(t, tr, Config{MemoryBudget: 1 << 30})
	bpp := s.Config().BytesPerPixel
	t.Logf("measured %d bytes per pixel (256x256 run)", bpp)
	if bpp < minBytesPerPixel || bpp > 1<<16 {
		t.Errorf("measured %d bytes per pixel", bpp)
	}
}
