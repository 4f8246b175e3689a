package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ganrt/ganrt/runtime"
)

// serveLoopback serves s on a fresh loopback port until the returned stop
// is called; stop returns Serve's error (10 s limit).
func serveLoopback(t *testing.T, s *Server) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	return "http://" + ln.Addr().String(), func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return within 10 s of its context's end")
			return nil
		}
	}
}

// goroutineSlack is how many more goroutines than before a test may leave:
// none of the server's own (its batcher alone has two).
const goroutineSlack = 0

// settleGoroutines waits up to 3 s for the goroutine count to come down to
// at most want and returns the last count.
func settleGoroutines(want int) int {
	n := goruntime.NumGoroutine()
	for deadline := time.Now().Add(3 * time.Second); n > want && time.Now().Before(deadline); n = goruntime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// heapAfterGC returns HeapAlloc after two collections (the second frees
// what sync.Pools dropped in the first).
func heapAfterGC() uint64 {
	goruntime.GC()
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// loadRound is what one round of the load test saw.
type loadRound struct {
	codes     map[int]int
	batches   map[string]int // 200 answers by X-Ganrt-Batch
	latencies []time.Duration
	elapsed   time.Duration
	other     []string // answers other than 200 and 503, and transport errors
}

// runLoad sends n requests from clients goroutines, each request with a
// 10 s limit, a client waiting wait503 after a 503, and returns what came
// back.
func runLoad(c *http.Client, url string, bodies [][]byte, n, clients int, wait503 time.Duration) loadRound {
	r := loadRound{codes: map[int]int{}, batches: map[string]int{}}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			backoff := false
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i%len(bodies)]))
				t0 := time.Now()
				resp, err := c.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				cancel()
				mu.Lock()
				switch {
				case err != nil:
					r.other = append(r.other, err.Error())
				case resp.StatusCode == http.StatusOK:
					r.codes[200]++
					r.latencies = append(r.latencies, d)
					r.batches[resp.Header.Get("X-Ganrt-Batch")]++
				case resp.StatusCode == http.StatusServiceUnavailable:
					r.codes[503]++
					if resp.Header.Get("Retry-After") == "" {
						r.other = append(r.other, "503 without Retry-After")
					}
					backoff = true
				default:
					r.codes[resp.StatusCode]++
					r.other = append(r.other, fmt.Sprintf("%d %s", resp.StatusCode, body))
				}
				mu.Unlock()
				if backoff {
					// A client backs off after a 503, as Retry-After asks,
					// but for backoff instead of a second to keep the test
					// short.
					time.Sleep(wait503)
					backoff = false
				}
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	slices.Sort(r.latencies)
	return r
}

func (r loadRound) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
}

// TestLoad is the bounded load test on loopback: a warm-up request, then
// two rounds of 200 requests (64x64 PNGs) from 32 concurrent clients
// against a server whose admission (queue 8 + 1 worker x batch 8 = 16
// requests) is smaller than the number of clients; a client waits 10 ms
// after a 503. Every request must be answered 200 or 503 (with
// Retry-After) within its 10 s limit; runs must have batched requests;
// after shutdown no goroutine may be left (none over the count
// before, after a 3 s settle loop); and the heap after GC must not grow from round 1 to round 2 by
// more than 1 MiB. A leak of the images of each served request (about 70
// a round, 16 KiB each for the decoded input and for the output) would be
// over 2 MiB; the whole heap is about 3 MiB.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test (about 2 s) skipped in -short mode")
	}
	goroutines := goruntime.NumGoroutine()
	tr := openModel(t, cycleModel(t), runtime.Options{})
	s, err := New(tr, Config{MaxBatch: 8, BatchWait: 2 * time.Millisecond, Queue: 8, Workers: 1, Timeout: 10 * time.Second, Grace: -1})
	if err != nil {
		t.Fatal(err)
	}
	base, stop := serveLoopback(t, s)
	transport := &http.Transport{MaxIdleConnsPerHost: 32}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	var bodies [][]byte
	for i := range 4 {
		bodies = append(bodies, pngBytes(t, noise(64, 64, uint64(i))))
	}
	if a := post(t, client, base+"/translate", bodies[0]); a.code != 200 { // warm up: ORT's first run of a shape
		t.Fatalf("warm-up: %d %s", a.code, a.body)
	}
	const n, clients = 200, 32
	var heap []uint64
	for round := 1; round <= 2; round++ {
		r := runLoad(client, base+"/translate", bodies, n, clients, 10*time.Millisecond)
		heap = append(heap, heapAfterGC())
		t.Logf("round %d: %d requests from %d clients in %v: %.0f requests/s answered, %.0f/s served (200); 200: %d, 503: %d; "+
			"latency of 200s p50 %v p99 %v; 200s by batch size %v; heap after GC %.1f MiB",
			round, n, clients, r.elapsed.Round(time.Millisecond), float64(n)/r.elapsed.Seconds(), float64(r.codes[200])/r.elapsed.Seconds(),
			r.codes[200], r.codes[503], r.percentile(0.5).Round(10*time.Microsecond), r.percentile(0.99).Round(10*time.Microsecond),
			r.batches, float64(heap[len(heap)-1])/(1<<20))
		if len(r.other) > 0 {
			t.Errorf("round %d: %d answers other than 200 or 503, e.g. %s", round, len(r.other), r.other[0])
		}
		if r.codes[200]+r.codes[503] != n {
			t.Errorf("round %d: %d answered of %d", round, r.codes[200]+r.codes[503], n)
		}
		if r.codes[200] == 0 {
			t.Errorf("round %d: nothing served", round)
		}
	}
	m := metricsText(t, client, base)
	count, ones := metricValue(m, "ganrt_serve_batch_size_count"), metricValue(m, `ganrt_serve_batch_size_bucket{le="1"}`)
	sum := metricValue(m, "ganrt_serve_batch_size_sum")
	t.Logf("batch_size histogram: %v runs, %v of 1 request, mean %.2f requests per run", count, ones, sum/count)
	if count <= 0 || ones >= count {
		t.Errorf("batch_size histogram shows no run of more than 1 request (count %v, le=1 %v)", count, ones)
	}
	if v := metricValue(m, "ganrt_serve_in_flight_requests"); v != 0 {
		t.Errorf("in_flight_requests %v after the rounds; want 0", v)
	}
	if v := metricValue(m, "ganrt_serve_queued_requests"); v != 0 {
		t.Errorf("queued_requests %v after the rounds; want 0", v)
	}
	if !strings.Contains(m, `ganrt_serve_errors_total{reason="queue_full"}`) {
		t.Error("metrics lack errors_total{reason=queue_full}")
	}

	const heapTolerance = 1 << 20
	if heap[1] > heap[0]+heapTolerance {
		t.Errorf("heap after GC grew from %d to %d bytes across rounds (tolerance %d)", heap[0], heap[1], heapTolerance)
	}

	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	transport.CloseIdleConnections()
	if err := tr.Close(); err != nil {
		t.Error(err)
	}
	got := settleGoroutines(goroutines)
	t.Logf("goroutines: %d before the server started, %d after shutdown", goroutines, got)
	if got > goroutines+goroutineSlack {
		buf := make([]byte, 1<<16)
		buf = buf[:goruntime.Stack(buf, true)]
		t.Errorf("%d goroutines after shutdown; %d before the server started\n%s", got, goroutines, buf)
	}
}

// TestGracefulShutdown cancels Serve's context (no grace) while a request
// is in flight: the listener closes at once, the request is still served, and
// Serve returns nil. A second server with a short drain timeout and a
// request that never finishes returns the drain error on time.
func TestGracefulShutdown(t *testing.T) {
	tr := openModel(t, cycleModel(t), runtime.Options{})
	body := pngBytes(t, noise(12, 12, 3))

	start := func(base string) (*io.PipeWriter, chan answer) {
		pr, pw := io.Pipe()
		res := make(chan answer, 1)
		go func() {
			req, _ := http.NewRequest("POST", base+"/translate", pr)
			c := &http.Client{Timeout: 10 * time.Second}
			resp, err := c.Do(req)
			if err != nil {
				res <- answer{code: -1, body: []byte(err.Error())}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			res <- answer{resp.StatusCode, resp.Header, b}
		}()
		pw.Write(body[:8])
		// Wait until the handler holds the request.
		for deadline := time.Now().Add(5 * time.Second); metricValue(metricsText(t, http.DefaultClient, base), "ganrt_serve_in_flight_requests") != 1; {
			if time.Now().After(deadline) {
				t.Fatal("the request never reached the handler")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return pw, res
	}

	s, err := New(tr, Config{DrainTimeout: 5 * time.Second, Grace: -1})
	if err != nil {
		t.Fatal(err)
	}
	base, stop := serveLoopback(t, s)
	pw, res := start(base)
	defer pw.Close()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// The listener closes: new connections are refused.
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pw.Write(body[8:])
	pw.Close()
	if a := <-res; a.code != 200 {
		t.Errorf("request in flight at shutdown: %d %s", a.code, a.body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve after a drained shutdown: %v", err)
	}

	s, err = New(tr, Config{DrainTimeout: 100 * time.Millisecond, Grace: -1})
	if err != nil {
		t.Fatal(err)
	}
	base, stop = serveLoopback(t, s)
	pw, res = start(base)
	t0 := time.Now()
	if err := stop(); err == nil || !strings.Contains(err.Error(), "still in flight after 100ms") {
		t.Errorf("Serve with a stuck request: %v; want the drain error", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("shutdown took %v with a 100ms drain timeout", d)
	}
	pw.Close() // the client's body writer waits on the pipe
	if a := <-res; a.code == 200 {
		t.Errorf("stuck request answered 200")
	}
}
