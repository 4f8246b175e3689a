package runtime

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// The warm-up and measured runs of `ganrt bench` and of the demo's latency
// line, so that both measure the same way.
const (
	DefaultBenchWarmup = 3
	DefaultBenchIters  = 20
)

// BenchOptions configures Bench.
type BenchOptions struct {
	// Size is the side of the square test images (0: 256).
	Size int
	// Batch is the number of images per run (0: 1).
	Batch int
	// Warmup runs are made first and not measured; Iters runs are measured
	// (0: 20).
	Warmup, Iters int
	// Label is the StarGAN label (nil: the one-hot vector of the first
	// label).
	Label []float32
}

// Latency summarizes durations; percentiles are nearest-rank.
type Latency struct {
	P50, P90, P99, Mean, Min time.Duration
}

// BenchResult is what Bench measured, per run of Batch images.
type BenchResult struct {
	Size, Batch, Warmup, Iters int
	// Session is the time inside ONNX Runtime's Run.
	Session Latency
	// EndToEnd is the whole TranslateBatch call on in-memory images:
	// normalize, pad, run, crop, denormalize into new images (no file
	// decoding or encoding, no resizing).
	EndToEnd Latency
	// ImagesPerSecond is Batch over the mean end-to-end time.
	ImagesPerSecond float64
	// Overhead is the mean end-to-end time over the mean session time.
	Overhead float64
}

// Bench times TranslateBatch on random Size x Size images already in
// memory, reporting ORT's session time and the end-to-end time of the same
// calls separately.
func (t *Translator) Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	r := BenchResult{Size: o.Size, Batch: o.Batch, Warmup: o.Warmup, Iters: o.Iters}
	if r.Size == 0 {
		r.Size = 256
	}
	if r.Batch == 0 {
		r.Batch = 1
	}
	if r.Iters == 0 {
		r.Iters = DefaultBenchIters
	}
	if r.Size < 0 || r.Batch < 0 || r.Iters < 0 || r.Warmup < 0 {
		return r, errors.New("bench: negative size, batch or iteration count")
	}
	if w, h := t.OutputSize(r.Size, r.Size); w != r.Size || h != r.Size {
		return r, fmt.Errorf("bench: the model takes %dx%d images, not %dx%d", w, h, r.Size, r.Size)
	}
	imgs := make([]image.Image, r.Batch)
	for i := range imgs {
		imgs[i] = benchImage(r.Size, uint64(i))
	}
	var labels [][]float32
	if t.labels != nil {
		l := o.Label
		if l == nil {
			l = make([]float32, t.info.Spec.CDim)
			l[0] = 1
		}
		labels = [][]float32{l}
	}
	var session time.Duration
	observe := func(s BatchStats) { session += s.Run }
	sess, e2e := make([]time.Duration, 0, r.Iters), make([]time.Duration, 0, r.Iters)
	for i := range r.Warmup + r.Iters {
		session = 0
		start := time.Now()
		if _, err := t.translateBatch(ctx, imgs, labels, observe); err != nil {
			return r, err
		}
		if i >= r.Warmup {
			e2e = append(e2e, time.Since(start))
			sess = append(sess, session)
		}
	}
	r.Session, r.EndToEnd = summarize(sess), summarize(e2e)
	if r.EndToEnd.Mean > 0 {
		r.ImagesPerSecond = float64(r.Batch) / r.EndToEnd.Mean.Seconds()
	}
	if r.Session.Mean > 0 {
		r.Overhead = float64(r.EndToEnd.Mean) / float64(r.Session.Mean)
	}
	return r, nil
}

// summarize returns the percentiles, mean and minimum of ds.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) time.Duration { return s[max(int(math.Ceil(q*float64(len(s))))-1, 0)] }
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{P50: rank(0.5), P90: rank(0.9), P99: rank(0.99), Mean: sum / time.Duration(len(s)), Min: s[0]}
}

// benchImage is a photo-like test image: smooth gradients with noise.
func benchImage(size int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 11))
	m := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			o := y*m.Stride + 4*x
			m.Pix[o] = uint8((x*255/size + r.IntN(16)) & 0xff)
			m.Pix[o+1] = uint8((y*255/size + r.IntN(16)) & 0xff)
			m.Pix[o+2] = uint8(((x+y)*127/size + r.IntN(16)) & 0xff)
			m.Pix[o+3] = 0xff
		}
	}
	return m
}
