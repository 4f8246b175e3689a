package serve

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/ganrt/ganrt/runtime"
)

// budget is a weighted semaphore of bytes with first-come, first-served
// waiting: a large request is not starved by small ones behind it.
type budget struct {
	mu      sync.Mutex
	size    int64 // 0: no budget
	used    int64
	waiters []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

// acquire waits until n bytes are free (or ctx ends). n must be at most
// the size.
func (b *budget) acquire(ctx context.Context, n int64) error {
	if b.size <= 0 {
		return nil
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.used -= n
		default:
			for i, o := range b.waiters {
				if o == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
		}
		b.grant()
		b.mu.Unlock()
		return ctx.Err()
	}
}

// release returns n bytes.
func (b *budget) release(n int64) {
	if b.size <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.grant()
	b.mu.Unlock()
}

// grant wakes waiters in order while they fit; callers hold mu.
func (b *budget) grant() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.size {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.used += w.n
		close(w.ready)
	}
}

// requestCost is the memory a request of an image of w x h holds during its
// model run: the model's input size (OutputSize, padded to the model's
// multiple) times bytesPerPixel.
func requestCost(info runtime.Info, t *runtime.Translator, w, h int, bytesPerPixel int64) int64 {
	ow, oh := t.OutputSize(w, h)
	m := max(info.Multiple, 1)
	pw, ph := (ow+m-1)/m*m, (oh+m-1)/m*m
	return int64(pw) * int64(ph) * bytesPerPixel
}

// defaultBudget is half of the machine's memory (the smaller of MemTotal
// and a cgroup v2 memory.max), or 0 (no budget) when neither is readable.
func defaultBudget() int64 {
	var total int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						total = v << 10
					}
				}
			}
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && (total == 0 || v < total) {
			total = v
		}
	}
	return total / 2
}

// measureSide is the side of the image whose run measures the bytes per
// pixel.
const measureSide = 256

// minBytesPerPixel is the floor of the measured cost: the float32 input and
// output planes and the RGBA images around them.
const minBytesPerPixel = 64

// measureBytesPerPixel runs t once on a measureSide square (smaller when
// the pixel limit says) and returns the
// rise of the process's peak RSS over its RSS before, per pixel (VmHWM is
// reset through /proc/self/clear_refs first). It includes the run's fixed
// costs, but memory that ORT or the allocators kept from earlier runs is
// not counted again, and large runs may need more per pixel (see the
// package documentation for figures).
func measureBytesPerPixel(t *runtime.Translator) (int64, error) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, fmt.Errorf("reset the peak RSS: %w", err)
	}
	before := procKB("VmRSS")
	side := measureSide
	if mp := t.MaxPixels(); mp > 0 && int64(side)*int64(side) > mp {
		side = max(int(math.Sqrt(float64(mp))), 1) // within the pixel limit
	}
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var label []float32
	if t.Info().StarGAN() {
		label = make([]float32, t.Info().Spec.CDim)
	}
	w, h := t.OutputSize(side, side)
	if _, err := t.Translate(context.Background(), img, label); err != nil {
		return 0, fmt.Errorf("measure bytes per pixel: %w", err)
	}
	peak := procKB("VmHWM")
	if before < 0 || peak < 0 {
		return 0, fmt.Errorf("measure bytes per pixel: /proc/self/status has no VmRSS or VmHWM")
	}
	bpp := (peak - before) << 10 / (int64(w) * int64(h))
	return max(bpp, minBytesPerPixel), nil
}

// procKB returns a field of /proc/self/status in KiB (-1 if absent).
func procKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}
