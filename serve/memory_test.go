package serve

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ganrt/ganrt/runtime"
)

// procStatusKB returns a field of /proc/self/status in KiB (-1 if absent).
func procStatusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// TestPeakMemory4096 (GANRT_SERVE_MEM=none or a budget in MiB; several GB)
// posts N = 1 and 3 concurrent 4096x4096 PNGs of one colour (58 KB each,
// inside every limit) to a server of the ngf8 CycleGAN with that memory
// budget and reports the process's peak RSS (VmHWM, reset before each
// round through /proc/self/clear_refs). Run it once per budget: ORT keeps
// the memory of its largest run, so a later round starts from there.
func TestPeakMemory4096(t *testing.T) {
	env := os.Getenv("GANRT_SERVE_MEM")
	if env == "" {
		t.Skip("set GANRT_SERVE_MEM=none or a budget in MiB to measure peak memory for 4096x4096 requests (needs up to 10 GB)")
	}
	budget := int64(-1)
	if env != "none" {
		mib, err := strconv.ParseInt(env, 10, 64)
		if err != nil {
			t.Fatalf("GANRT_SERVE_MEM=%q: none or MiB", env)
		}
		budget = mib << 20
	}
	tr := openModel(t, cycleModel(t), runtime.Options{IntraOpThreads: 2})
	s := newServer(t, tr, Config{Timeout: 5 * time.Minute, BodyTimeout: time.Minute, MemoryBudget: budget})
	t.Logf("memory budget %d MiB, %d bytes per pixel", s.Config().MemoryBudget>>20, s.Config().BytesPerPixel)
	base, stop := serveLoopback(t, s)
	defer stop()
	m := image.NewNRGBA(image.Rect(0, 0, 4096, 4096))
	for i := range m.Pix {
		m.Pix[i] = []uint8{90, 140, 60, 255}[i%4]
	}
	_ = color.NRGBA{}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	body := buf.Bytes()
	m = nil
	c := &http.Client{Timeout: 5 * time.Minute}
	for _, n := range []int{1, 3} {
		heapAfterGC()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			t.Fatalf("reset peak RSS: %v", err)
		}
		before := procStatusKB("VmRSS")
		t0 := time.Now()
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, base+"/translate", bytes.NewReader(body))
				resp, err := c.Do(req)
				if err != nil {
					codes[i] = -1
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		t.Logf("%d x 4096x4096 PNG (%d bytes each): answers %v in %v; RSS before %d MiB, peak %d MiB",
			n, len(body), codes, time.Since(t0).Round(time.Millisecond), before>>10, procStatusKB("VmHWM")>>10)
	}
}
