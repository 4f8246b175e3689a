package data

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// LoaderOptions configures a Loader.
type LoaderOptions struct {
	// BatchSize is N (default 1).
	BatchSize int
	// Seed is the root of all randomness (see the package documentation).
	Seed uint64
	// Epoch and Batch are where to start: the first batch produced is batch
	// Batch (from 0) of epoch Epoch. Epoch numbers are the caller's (the
	// trainers count from 1); they key the randomness, so a resumed run
	// must pass the numbers the first run used.
	Epoch, Batch int
	// DropLast drops an epoch's final partial batch; by default it is
	// produced with fewer than BatchSize examples, as the references'
	// DataLoader (drop_last=False) does.
	DropLast bool
	// Workers decode and augment concurrently (default GOMAXPROCS).
	Workers int
	// Prefetch is how many batches may wait, finished or in progress,
	// ahead of the consumer (default max(2, Workers)).
	Prefetch int
	// StopOnBadImage makes an unreadable image an error that names the
	// file; by default it is skipped (see the package documentation).
	StopOnBadImage bool
}

// Batch is N examples stacked. Images are float32 [N, C, H, W] in [-1, 1].
type Batch struct {
	// Epoch and Index (from 0) place the batch; Last marks the epoch's
	// final batch.
	Epoch, Index int
	Last         bool
	// A holds the images: real_A of unaligned data (the generator G_A's
	// input, from the B folder when the direction is BtoA), or the images
	// of labeled data. AShape is [N, C, H, W].
	A      []float32
	AShape [4]int
	// B holds real_B of unaligned data (nil for labeled data).
	B      []float32
	BShape [4]int
	// Label is [N, CDim] (labeled data only): 0/1 values.
	Label      []float32
	LabelShape [2]int
	// APaths and BPaths are the files the examples came from.
	APaths, BPaths []string
	// Skipped are unreadable files that were replaced in this batch.
	Skipped []string
}

// Following returns the position of the batch after b: what a checkpoint
// taken after consuming b stores as LoaderOptions.Epoch and Batch.
func (b Batch) Following() (epoch, batch int) {
	if b.Last {
		return b.Epoch + 1, 0
	}
	return b.Epoch, b.Index + 1
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("data: loader closed")

// Loader produces batches of a Dataset in a fixed order, decoding and
// augmenting on worker goroutines ahead of the consumer. The output depends
// only on the dataset, Seed, BatchSize, DropLast and the start position,
// never on Workers, Prefetch or timing. Next is for one consumer goroutine;
// Close may be called from any.
type Loader struct {
	ds      Dataset
	opt     LoaderOptions
	nb      int // batches per epoch
	f       *fetcher
	pending chan *batchJob
	cancel  context.CancelCauseFunc
	quit    <-chan struct{}
	cause   func() error
	wg      sync.WaitGroup
	cur     *batchJob // taken from pending, not yet returned
	err     error     // sticky error from a batch
}

// batchJob is one batch in production.
type batchJob struct {
	epoch, index int
	last         bool
	idx          []int // dataset indices of the examples
	first        int   // position in the epoch of the first example
	items        []example
	errs         []error
	remaining    atomic.Int32
	done         chan struct{}
	batch        Batch
	err          error
}

type task struct {
	job *batchJob
	i   int
}

// NewLoader starts the workers. They run until Close is called or ctx is
// cancelled; either way every goroutine of the Loader ends.
func NewLoader(ctx context.Context, ds Dataset, opt LoaderOptions) (*Loader, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Prefetch <= 0 {
		opt.Prefetch = max(2, opt.Workers)
	}
	n := ds.Len()
	nb := (n + opt.BatchSize - 1) / opt.BatchSize
	if opt.DropLast {
		nb = n / opt.BatchSize
	}
	if nb == 0 {
		return nil, fmt.Errorf("data: %d examples make no full batch of %d", n, opt.BatchSize)
	}
	if opt.Batch < 0 {
		return nil, fmt.Errorf("data: negative start batch %d", opt.Batch)
	}
	opt.Epoch += opt.Batch / nb
	opt.Batch %= nb
	lctx, cancel := context.WithCancelCause(ctx)
	l := &Loader{
		ds: ds, opt: opt, nb: nb, f: newFetcher(opt.StopOnBadImage),
		pending: make(chan *batchJob, opt.Prefetch),
		cancel:  cancel, quit: lctx.Done(), cause: func() error { return context.Cause(lctx) },
	}
	tasks := make(chan task, opt.Workers)
	l.wg.Add(1 + opt.Workers)
	go l.produce(tasks)
	for range opt.Workers {
		go l.work(tasks)
	}
	return l, nil
}

// BatchesPerEpoch is the number of batches of one epoch.
func (l *Loader) BatchesPerEpoch() int { return l.nb }

// Skipped returns the unreadable files met so far, sorted.
func (l *Loader) Skipped() []string { return l.f.skippedFiles() }

// Next returns the next batch, waiting for it if it is not ready. An error
// while building a batch (an unreadable image under StopOnBadImage, an
// image smaller than the crop, images of different sizes in one batch) is
// returned by this and every later call. If ctx ends first, Next returns
// ctx's error and the same batch is returned by the next call.
func (l *Loader) Next(ctx context.Context) (Batch, error) {
	if l.err != nil {
		return Batch{}, l.err
	}
	select {
	case <-l.quit:
		return Batch{}, l.stopErr()
	default:
	}
	if l.cur == nil {
		select {
		case j := <-l.pending:
			l.cur = j
		case <-l.quit:
			return Batch{}, l.stopErr()
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		}
	}
	select {
	case <-l.cur.done:
	case <-l.quit:
		return Batch{}, l.stopErr()
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
	j := l.cur
	l.cur = nil
	if j.err != nil {
		l.err = j.err
		l.cancel(j.err)
		return Batch{}, j.err
	}
	return j.batch, nil
}

func (l *Loader) stopErr() error {
	err := l.cause()
	if errors.Is(err, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("data: loader stopped: %w", err)
}

// Close stops the workers and waits until all of them have ended.
func (l *Loader) Close() error {
	l.cancel(ErrClosed)
	l.wg.Wait()
	return nil
}

// produce queues the batches in order, and their examples for the workers.
func (l *Loader) produce(tasks chan<- task) {
	defer l.wg.Done()
	defer close(tasks)
	epoch, b := l.opt.Epoch, l.opt.Batch
	var perm []int
	permEpoch := epoch - 1
	for {
		if permEpoch != epoch {
			perm = epochOrder(l.ds, l.opt.Seed, epoch)
			permEpoch = epoch
		}
		j := newJob(l.ds.Len(), l.opt.BatchSize, l.nb, epoch, b, perm)
		select {
		case l.pending <- j:
		case <-l.quit:
			return
		}
		for i := range j.idx {
			select {
			case tasks <- task{j, i}:
			case <-l.quit:
				return
			}
		}
		if b++; b == l.nb {
			epoch, b = epoch+1, 0
		}
	}
}

// epochOrder is the order in which an epoch visits the dataset: a
// permutation drawn from stream 0 of example 0 when the dataset shuffles,
// else 0, 1, 2, ...
func epochOrder(ds Dataset, seed uint64, epoch int) []int {
	n := ds.Len()
	if !ds.shuffled() {
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		return order
	}
	return exampleRNG(seed, epoch, 0, streamPerm).Perm(n)
}

func newJob(n, size, nb, epoch, b int, order []int) *batchJob {
	first := b * size
	last := min(first+size, n)
	j := &batchJob{epoch: epoch, index: b, last: b == nb-1, idx: order[first:last], first: first, done: make(chan struct{})}
	j.items = make([]example, len(j.idx))
	j.errs = make([]error, len(j.idx))
	j.remaining.Store(int32(len(j.idx)))
	return j
}

// work builds examples; the worker that finishes a batch's last example
// stacks the batch.
func (l *Loader) work(tasks <-chan task) {
	defer l.wg.Done()
	for t := range tasks {
		select {
		case <-l.quit:
			continue // drain
		default:
		}
		j := t.job
		j.items[t.i], j.errs[t.i] = buildExample(l.ds, l.f, l.opt.Seed, j.epoch, j.first+t.i, j.idx[t.i])
		if j.remaining.Add(-1) == 0 {
			j.batch, j.err = stack(j)
			close(j.done)
		}
	}
}

// buildExample is example k (position in the epoch) of an epoch, which is
// dataset example idx.
func buildExample(ds Dataset, f *fetcher, seed uint64, epoch, k, idx int) (example, error) {
	return ds.example(f, idx, func(s uint64) *rand.Rand { return exampleRNG(seed, epoch, k, s) })
}

// splitmix64 is a 64-bit mixing function (SplitMix64's finalizer).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// exampleRNG is the generator of one randomness stream of example k of an
// epoch: PCG seeded with (splitmix64(seed ^ splitmix64(epoch)),
// splitmix64(k<<3 | stream)).
func exampleRNG(seed uint64, epoch, k int, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed^splitmix64(uint64(epoch))), splitmix64(uint64(k)<<3|stream)))
}

// stack assembles a finished job into a Batch; the first failed example (in
// batch order) decides the error.
func stack(j *batchJob) (Batch, error) {
	for _, err := range j.errs {
		if err != nil {
			return Batch{}, err
		}
	}
	n := len(j.items)
	b := Batch{Epoch: j.epoch, Index: j.index, Last: j.last}
	first := j.items[0]
	var err error
	if b.A, b.AShape, err = stackImages(j.items, func(e *example) (tensor3, string) { return e.a, e.aPath }); err != nil {
		return Batch{}, err
	}
	if first.b.data != nil {
		if b.B, b.BShape, err = stackImages(j.items, func(e *example) (tensor3, string) { return e.b, e.bPath }); err != nil {
			return Batch{}, err
		}
	}
	if first.label != nil {
		c := len(first.label)
		b.Label, b.LabelShape = make([]float32, 0, n*c), [2]int{n, c}
		for _, e := range j.items {
			b.Label = append(b.Label, e.label...)
		}
	}
	for _, e := range j.items {
		b.APaths = append(b.APaths, e.aPath)
		if e.bPath != "" {
			b.BPaths = append(b.BPaths, e.bPath)
		}
		b.Skipped = append(b.Skipped, e.skipped...)
	}
	return b, nil
}

func stackImages(items []example, get func(*example) (tensor3, string)) ([]float32, [4]int, error) {
	t0, p0 := get(&items[0])
	size := len(t0.data)
	out := make([]float32, 0, size*len(items))
	for i := range items {
		t, p := get(&items[i])
		if t.c != t0.c || t.h != t0.h || t.w != t0.w {
			return nil, [4]int{}, fmt.Errorf("images of one batch differ in size: %s is %dx%d, %s is %dx%d (preprocess scale_width or none keeps the aspect or size: use batch size 1 or images of one size)", p0, t0.w, t0.h, p, t.w, t.h)
		}
		out = append(out, t.data...)
	}
	return out, [4]int{len(items), t0.c, t0.h, t0.w}, nil
}
