package serve

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"testing"
	"time"
)

// fakeRun records the batches it is given and answers each image with a
// 1x1 image whose red value is the image's width, after gate (if not nil)
// lets it go.
type fakeRun struct {
	mu      sync.Mutex
	batches [][]int // widths per run
	gate    chan struct{}
	started chan struct{} // gets a value as each run starts, if not nil
}

func (f *fakeRun) run(ctx context.Context, imgs []image.Image, labels [][]float32) ([]*image.RGBA, error) {
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
	var ws []int
	outs := make([]*image.RGBA, len(imgs))
	for i, img := range imgs {
		w := img.Bounds().Dx()
		ws = append(ws, w)
		outs[i] = image.NewRGBA(image.Rect(0, 0, 1, 1))
		outs[i].Pix[0] = uint8(w)
	}
	f.mu.Lock()
	f.batches = append(f.batches, ws)
	f.mu.Unlock()
	return outs, nil
}

func noStats() batcherStats {
	return batcherStats{queued: func(int) {}, ran: func(int, time.Duration, error) {}}
}

func newJob(ctx context.Context, w int, label string) *job {
	return &job{ctx: ctx, img: image.NewRGBA(image.Rect(0, 0, w, 1)), key: batchKey{w, 1, label}, done: make(chan result, 1)}
}

// TestBatcherGroups holds the one worker busy while jobs of two keys
// arrive, then checks that each key's jobs ran together, at most maxBatch
// at a time and oldest group first, and that every job got its own image.
func TestBatcherGroups(t *testing.T) {
	f := &fakeRun{gate: make(chan struct{}), started: make(chan struct{}, 16)}
	b := newBatcher(f.run, 3, 1, 50*time.Millisecond, noStats())
	defer b.close()
	ctx := context.Background()
	var jobs []*job
	submit := func(w int) {
		j := newJob(ctx, w, "")
		jobs = append(jobs, j)
		if err := b.submit(j); err != nil {
			t.Fatal(err)
		}
	}
	// A full group goes at once, without waiting.
	for range 3 {
		submit(9)
	}
	<-f.started // the worker now holds it
	for i := range 7 {
		submit(4 + i%2) // widths 4 and 5: two keys
	}
	close(f.gate)
	for _, j := range jobs {
		select {
		case r := <-j.done:
			if r.err != nil {
				t.Fatal(r.err)
			}
			if got, want := int(r.img.Pix[0]), j.img.Bounds().Dx(); got != want {
				t.Errorf("job of width %d got the image of width %d", want, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a job got no answer")
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got, want := fmt.Sprint(f.batches), "[[9 9 9] [4 4 4] [5 5 5] [4]]"; got != want {
		t.Errorf("runs %s; want %s", got, want)
	}
}

// TestBatcherWait checks that a lone job on an idle batcher waits about
// the batch wait, and that a negative wait does not wait.
func TestBatcherWait(t *testing.T) {
	for _, tc := range []struct {
		wait     time.Duration
		min, max time.Duration
	}{
		{300 * time.Millisecond, 295 * time.Millisecond, 3 * time.Second},
		{-1, 0, 250 * time.Millisecond},
	} {
		f := &fakeRun{}
		b := newBatcher(f.run, 8, 1, tc.wait, noStats())
		j := newJob(context.Background(), 3, "")
		start := time.Now()
		if err := b.submit(j); err != nil {
			t.Fatal(err)
		}
		r := <-j.done
		d := time.Since(start)
		if r.err != nil || r.batch != 1 {
			t.Errorf("wait %v: result %+v", tc.wait, r)
		}
		if d < tc.min || d > tc.max {
			t.Errorf("wait %v: answered after %v; want %v..%v", tc.wait, d, tc.min, tc.max)
		}
		b.close()
	}
}

// TestBatcherClose checks that close answers waiting jobs, that later
// submits fail, and that a job whose context ended is skipped.
func TestBatcherClose(t *testing.T) {
	f := &fakeRun{}
	var queued int
	var mu sync.Mutex
	stats := batcherStats{
		queued: func(d int) { mu.Lock(); queued += d; mu.Unlock() },
		ran:    func(int, time.Duration, error) {},
	}
	b := newBatcher(f.run, 8, 2, time.Hour, stats)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	dead := newJob(canceled, 5, "")
	live := newJob(context.Background(), 5, "")
	other := newJob(context.Background(), 6, "x")
	for _, j := range []*job{dead, live, other} {
		if err := b.submit(j); err != nil {
			t.Fatal(err)
		}
	}
	b.close()
	for _, j := range []*job{dead, live, other} {
		if r := <-j.done; !errors.Is(r.err, errStopped) {
			t.Errorf("job %v after close: err %v; want errStopped", j.key, r.err)
		}
	}
	if err := b.submit(newJob(context.Background(), 5, "")); !errors.Is(err, errStopped) {
		t.Errorf("submit after close: %v; want errStopped", err)
	}
	if queued != 0 {
		t.Errorf("queued gauge %d after close; want 0", queued)
	}
	b.close() // again: no-op

	// A canceled job in a group that runs is answered with its context's
	// error and left out of the run.
	f = &fakeRun{}
	b = newBatcher(f.run, 2, 1, time.Hour, noStats())
	defer b.close()
	dead, live = newJob(canceled, 5, ""), newJob(context.Background(), 5, "")
	b.submit(dead)
	b.submit(live)
	if r := <-dead.done; !errors.Is(r.err, context.Canceled) {
		t.Errorf("canceled job: err %v; want context.Canceled", r.err)
	}
	if r := <-live.done; r.err != nil || r.batch != 1 {
		t.Errorf("live job: %+v; want a run of 1", r)
	}
}

// TestBatcherPanic checks that a panicking run answers its jobs with an
// error and the batcher goes on.
func TestBatcherPanic(t *testing.T) {
	n := 0
	run := func(ctx context.Context, imgs []image.Image, labels [][]float32) ([]*image.RGBA, error) {
		n++
		if n == 1 {
			panic("boom")
		}
		return []*image.RGBA{image.NewRGBA(image.Rect(0, 0, 1, 1))}, nil
	}
	b := newBatcher(run, 1, 1, -1, noStats())
	defer b.close()
	for i, want := range []string{"model run panicked: boom", ""} {
		j := newJob(context.Background(), 1, "")
		b.submit(j)
		r := <-j.done
		got := ""
		if r.err != nil {
			got = r.err.Error()
		}
		if got != want {
			t.Errorf("run %d: err %q; want %q", i, got, want)
		}
	}
}
