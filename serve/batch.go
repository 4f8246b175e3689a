package serve

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"
)

// errStopped answers requests that the batcher still held when it stopped.
var errStopped = errors.New("server is shutting down")

// runFunc runs one batch: images of one size, labels nil (CycleGAN) or one
// label for all of them (StarGAN).
type runFunc func(ctx context.Context, imgs []image.Image, labels [][]float32) ([]*image.RGBA, error)

// batchKey says which requests may share a model run.
type batchKey struct {
	w, h  int
	label string // the label's float32 bits; "" for CycleGAN
}

// job is one request waiting for its image.
type job struct {
	ctx   context.Context // the request's; a job whose ctx is done is skipped
	img   image.Image     // already fitted to the model
	key   batchKey
	label []float32
	done  chan result // buffered: the worker never blocks on it
}

// result is what a worker sends back for a job.
type result struct {
	img   *image.RGBA
	batch int // requests in the run
	err   error
}

// group is the jobs of one key that will share a model run.
type group struct {
	key      batchKey
	label    []float32
	jobs     []*job
	deadline time.Time // ready at this time even when not full
}

// batcherStats receives what the batcher does (all may be called from
// several goroutines).
type batcherStats struct {
	queued func(delta int)                         // jobs waiting for a run
	ran    func(n int, d time.Duration, err error) // one model run of n jobs
}

// batcher groups jobs into model runs (see the package documentation).
type batcher struct {
	run      runFunc
	maxBatch int
	wait     time.Duration
	stats    batcherStats

	in   chan *job
	work chan *group
	quit chan struct{}
	stop sync.Once
	wg   sync.WaitGroup
}

// newBatcher starts the dispatcher and workers goroutines; stop ends them.
func newBatcher(run runFunc, maxBatch, workers int, wait time.Duration, stats batcherStats) *batcher {
	b := &batcher{
		run:      run,
		maxBatch: maxBatch,
		wait:     max(wait, 0),
		stats:    stats,
		in:       make(chan *job),
		work:     make(chan *group),
		quit:     make(chan struct{}),
	}
	b.wg.Add(1 + workers)
	go b.dispatch()
	for range workers {
		go b.worker()
	}
	return b
}

// submit hands j to the batcher; the answer comes on j.done. It fails only
// when the batcher has stopped.
func (b *batcher) submit(j *job) error {
	select {
	case b.in <- j:
		return nil
	case <-b.quit:
		return errStopped
	}
}

// close stops the batcher: jobs not yet in a run are answered errStopped,
// runs in progress finish. It returns when every goroutine has ended.
func (b *batcher) close() {
	b.stop.Do(func() { close(b.quit) })
	b.wg.Wait()
}

// dispatch owns the open groups: it adds arriving jobs to them and hands
// ready groups to free workers, oldest first.
func (b *batcher) dispatch() {
	defer b.wg.Done()
	defer close(b.work)
	open := make(map[batchKey]*group) // groups still taking jobs
	var pending []*group              // every group not yet handed out, oldest first
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		now := time.Now()
		var ready *group
		var next time.Time // the earliest deadline of a group not ready
		for _, g := range pending {
			if len(g.jobs) >= b.maxBatch || !now.Before(g.deadline) {
				ready = g
				break
			}
			if next.IsZero() || g.deadline.Before(next) {
				next = g.deadline
			}
		}
		var work chan<- *group // nil (never ready) unless a group is ready
		var wake <-chan time.Time
		if ready != nil {
			work = b.work
		} else if !next.IsZero() {
			timer.Reset(next.Sub(now))
			wake = timer.C
		}
		select {
		case j := <-b.in:
			g := open[j.key]
			if g == nil {
				g = &group{key: j.key, label: j.label, deadline: now.Add(b.wait)}
				open[j.key] = g
				pending = append(pending, g)
			}
			g.jobs = append(g.jobs, j)
			if len(g.jobs) >= b.maxBatch {
				delete(open, j.key)
			}
			b.stats.queued(1)
		case work <- ready:
			if open[ready.key] == ready {
				delete(open, ready.key)
			}
			for i, g := range pending {
				if g == ready {
					pending = append(pending[:i], pending[i+1:]...)
					break
				}
			}
			b.stats.queued(-len(ready.jobs))
		case <-wake:
		case <-b.quit:
			for _, g := range pending {
				for _, j := range g.jobs {
					j.done <- result{err: errStopped}
				}
				b.stats.queued(-len(g.jobs))
			}
			return
		}
		timer.Stop()
	}
}

// worker runs groups until the dispatcher closes the work channel.
func (b *batcher) worker() {
	defer b.wg.Done()
	for g := range b.work {
		live := g.jobs[:0]
		for _, j := range g.jobs {
			if j.ctx.Err() == nil {
				live = append(live, j)
			} else {
				j.done <- result{err: j.ctx.Err()}
			}
		}
		if len(live) == 0 {
			continue
		}
		imgs := make([]image.Image, len(live))
		for i, j := range live {
			imgs[i] = j.img
		}
		var labels [][]float32
		if g.label != nil {
			labels = [][]float32{g.label}
		}
		t0 := time.Now()
		ctx, done := runContext(live)
		outs, err := b.safeRun(ctx, imgs, labels)
		done()
		b.stats.ran(len(live), time.Since(t0), err)
		for i, j := range live {
			r := result{batch: len(live), err: err}
			if err == nil {
				r.img = outs[i]
			}
			j.done <- r
		}
	}
}

// runContext returns the context of a run for jobs: it ends when every
// job's context has ended (each request that gives up is answered by its
// handler; when none is left waiting, the run is cancelled: ORT stops it
// between kernels).
// The caller calls done once the run has returned.
func runContext(jobs []*job) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	left := len(jobs)
	stops := make([]func() bool, len(jobs))
	for i, j := range jobs {
		stops[i] = context.AfterFunc(j.ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if left--; left == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// safeRun runs one batch, turning a panic into an error so that one bad
// run cannot take the server down.
func (b *batcher) safeRun(ctx context.Context, imgs []image.Image, labels [][]float32) (outs []*image.RGBA, err error) {
	defer func() {
		if p := recover(); p != nil {
			outs, err = nil, fmt.Errorf("model run panicked: %v", p)
		}
	}()
	outs, err = b.run(ctx, imgs, labels)
	if err == nil && len(outs) != len(imgs) {
		err = fmt.Errorf("model run returned %d images for %d", len(outs), len(imgs))
	}
	return outs, err
}
