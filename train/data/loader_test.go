package data

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// unalignedDir writes nA and nB images (sizes varying) into DIR/trainA and
// DIR/trainB.
func unalignedDir(t testing.TB, nA, nB int) string {
	dir := t.TempDir()
	for i := range nA {
		writeImage(t, filepath.Join(dir, "trainA", fmt.Sprintf("a%02d.png", i)), 40+i, 36+2*i, i)
	}
	for i := range nB {
		writeImage(t, filepath.Join(dir, "trainB", fmt.Sprintf("b%02d.jpg", i)), 50+i, 40, 100+i)
	}
	return dir
}

func smallUnaligned(t testing.TB, dir string, mod func(*UnalignedOptions)) *Unaligned {
	t.Helper()
	opt := UnalignedOptions{Dir: dir, LoadSize: 36, CropSize: 32}
	if mod != nil {
		mod(&opt)
	}
	ds, err := NewUnaligned(opt)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// collect returns n batches from a new loader.
func collect(t testing.TB, ds Dataset, opt LoaderOptions, n int) []Batch {
	t.Helper()
	l, err := NewLoader(context.Background(), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out := make([]Batch, n)
	for i := range out {
		if out[i], err = l.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameBatch(a, b Batch) bool {
	return a.Epoch == b.Epoch && a.Index == b.Index && a.Last == b.Last &&
		a.AShape == b.AShape && a.BShape == b.BShape && a.LabelShape == b.LabelShape &&
		slices.Equal(a.A, b.A) && slices.Equal(a.B, b.B) && slices.Equal(a.Label, b.Label) &&
		slices.Equal(a.APaths, b.APaths) && slices.Equal(a.BPaths, b.BPaths)
}

func TestLoaderDeterminism(t *testing.T) {
	ds := smallUnaligned(t, unalignedDir(t, 5, 7), nil)
	// 7 examples, batches of 3: 3 per epoch, the last one of 1 example.
	base := LoaderOptions{BatchSize: 3, Seed: 42, Epoch: 1}
	ref := collect(t, ds, LoaderOptions{BatchSize: 3, Seed: 42, Epoch: 1, Workers: 1, Prefetch: 1}, 7)
	for _, w := range []int{2, 5} {
		opt := base
		opt.Workers, opt.Prefetch = w, 3
		got := collect(t, ds, opt, 7)
		for i := range got {
			if !sameBatch(got[i], ref[i]) {
				t.Fatalf("workers %d: batch %d differs from the one-worker run", w, i)
			}
		}
	}
	// Positions, shapes and the epoch's partial last batch.
	for i, b := range ref {
		wantN := 3
		if i%3 == 2 {
			wantN = 1
		}
		if b.Epoch != 1+i/3 || b.Index != i%3 || b.Last != (i%3 == 2) {
			t.Errorf("batch %d: at epoch %d index %d last %v", i, b.Epoch, b.Index, b.Last)
		}
		if b.AShape != [4]int{wantN, 3, 32, 32} || b.BShape != [4]int{wantN, 3, 32, 32} || len(b.A) != wantN*3*32*32 || len(b.APaths) != wantN {
			t.Errorf("batch %d: shapes %v %v, %d values", i, b.AShape, b.BShape, len(b.A))
		}
	}
	// Each epoch visits every A example once (|A| = 5 < 7, so two twice).
	count := map[string]int{}
	for _, b := range ref[:3] {
		for _, p := range b.APaths {
			count[filepath.Base(p)]++
		}
	}
	if len(count) != 5 {
		t.Errorf("epoch 1 used %d A images; want 5", len(count))
	}
	// Another seed gives other batches.
	other := collect(t, ds, LoaderOptions{BatchSize: 3, Seed: 43, Epoch: 1}, 1)
	if sameBatch(other[0], ref[0]) {
		t.Error("seeds 42 and 43 gave the same first batch")
	}
}

func TestLoaderResume(t *testing.T) {
	ds := smallUnaligned(t, unalignedDir(t, 4, 6), nil)
	opt := LoaderOptions{BatchSize: 2, Seed: 7, Epoch: 1}
	all := collect(t, ds, opt, 8) // 3 batches per epoch
	for stop := 1; stop < 6; stop++ {
		e, b := all[stop-1].Following()
		ropt := opt
		ropt.Epoch, ropt.Batch = e, b
		rest := collect(t, ds, ropt, 8-stop)
		for i := range rest {
			if !sameBatch(rest[i], all[stop+i]) {
				t.Fatalf("resumed after batch %d (epoch %d, batch %d): batch %d differs", stop, e, b, stop+i)
			}
		}
	}
	// DropLast: 6 examples, batches of 4 -> one batch per epoch.
	opt.BatchSize, opt.DropLast = 4, true
	got := collect(t, ds, opt, 2)
	if !got[0].Last || got[1].Epoch != 2 || got[0].AShape[0] != 4 {
		t.Errorf("drop last: got epoch %d last %v n %d", got[1].Epoch, got[0].Last, got[0].AShape[0])
	}
}

func TestLoaderSerialAndDirection(t *testing.T) {
	dir := unalignedDir(t, 2, 3)
	ds := smallUnaligned(t, dir, func(o *UnalignedOptions) { o.SerialBatches = true; o.NoFlip = true })
	b := collect(t, ds, LoaderOptions{BatchSize: 3, Seed: 1, Epoch: 1}, 1)[0]
	wantA := []string{"a00.png", "a01.png", "a00.png"}
	wantB := []string{"b00.jpg", "b01.jpg", "b02.jpg"}
	for i := range 3 {
		if filepath.Base(b.APaths[i]) != wantA[i] || filepath.Base(b.BPaths[i]) != wantB[i] {
			t.Errorf("example %d: %s %s; want %s %s", i, b.APaths[i], b.BPaths[i], wantA[i], wantB[i])
		}
	}
	// BtoA: A is the B folder's image, with the input side's channels.
	ds2 := smallUnaligned(t, dir, func(o *UnalignedOptions) {
		o.SerialBatches, o.NoFlip, o.Direction, o.OutputNC = true, true, "BtoA", 1
	})
	b2 := collect(t, ds2, LoaderOptions{BatchSize: 3, Seed: 1, Epoch: 1}, 1)[0]
	if !slices.Equal(b2.APaths, b.BPaths) || !slices.Equal(b2.BPaths, b.APaths) {
		t.Errorf("BtoA: paths %v %v", b2.APaths, b2.BPaths)
	}
	// The reference grays the A folder when output_nc is 1 and the
	// direction BtoA: that folder becomes real_B (G_A maps input_nc = 3
	// channels to output_nc = 1).
	if b2.AShape[1] != 3 || b2.BShape[1] != 1 || !slices.Equal(b2.A, b.B) {
		t.Errorf("BtoA: channels %d %d, or A differs from the AtoB B", b2.AShape[1], b2.BShape[1])
	}
}

func TestLoaderLabeled(t *testing.T) {
	dir := t.TempDir()
	for d := range 3 {
		for i := range 3 {
			writeImage(t, filepath.Join(dir, fmt.Sprintf("d%d", d), fmt.Sprintf("%d.png", i)), 60, 50, d*10+i)
		}
	}
	ds, err := NewFolders(FolderOptions{Dir: dir, CDim: 3, CropSize: 48, ImageSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	bs := collect(t, ds, LoaderOptions{BatchSize: 4, Seed: 3, Epoch: 1}, 3)
	b := bs[0]
	if b.AShape != [4]int{4, 3, 32, 32} || b.LabelShape != [2]int{4, 3} || b.B != nil {
		t.Fatalf("shapes %v %v", b.AShape, b.LabelShape)
	}
	for i, p := range b.APaths {
		d := int(filepath.Base(filepath.Dir(p))[1] - '0')
		for c := range 3 {
			want := float32(0)
			if c == d {
				want = 1
			}
			if b.Label[i*3+c] != want {
				t.Errorf("%s: label %v", p, b.Label[i*3:i*3+3])
			}
		}
	}
	seen := map[string]bool{}
	for _, b := range bs[:3] {
		for _, p := range b.APaths {
			seen[p] = true
		}
	}
	if len(seen) != 9 {
		t.Errorf("one epoch visited %d of 9 images", len(seen))
	}
}

func TestLoaderUnreadableImage(t *testing.T) {
	dir := unalignedDir(t, 4, 4)
	bad := filepath.Join(dir, "trainA", "a01.png")
	writeFile(t, bad, "not a png")
	ds := smallUnaligned(t, dir, func(o *UnalignedOptions) { o.SerialBatches = true })

	// Default: skipped for the next image; the batch stays full.
	l, err := NewLoader(context.Background(), ds, LoaderOptions{BatchSize: 4, Seed: 1, Epoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Next(context.Background())
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	if b.AShape[0] != 4 || filepath.Base(b.APaths[1]) != "a02.png" || !slices.Equal(b.Skipped, []string{bad}) || !slices.Equal(l.Skipped(), []string{bad}) {
		t.Errorf("got paths %v, skipped %v / %v", b.APaths, b.Skipped, l.Skipped())
	}
	again := collect(t, ds, LoaderOptions{BatchSize: 4, Seed: 1, Epoch: 1}, 1)[0]
	if !sameBatch(again, b) {
		t.Error("a run with a skipped image is not reproducible")
	}

	// StopOnBadImage: an error naming the file, from then on.
	l, err = NewLoader(context.Background(), ds, LoaderOptions{BatchSize: 4, Seed: 1, Epoch: 1, StopOnBadImage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.Next(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unreadable image "+bad) {
		t.Fatalf("got %v; want an error naming %s", err, bad)
	}
	if _, err2 := l.Next(context.Background()); err2 != err {
		t.Errorf("second Next: got %v; want the same error", err2)
	}
}

func TestLoaderBatchSizeMismatch(t *testing.T) {
	ds := smallUnaligned(t, unalignedDir(t, 3, 3), func(o *UnalignedOptions) { o.Preprocess = None })
	l, err := NewLoader(context.Background(), ds, LoaderOptions{BatchSize: 2, Seed: 1, Epoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "differ in size") {
		t.Errorf("got %v; want a size error", err)
	}
}

// waitGoroutines waits until at most n goroutines run.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines remain; want %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoaderShutdown(t *testing.T) {
	ds := smallUnaligned(t, unalignedDir(t, 6, 6), nil)
	before := runtime.NumGoroutine()

	// Close while workers are busy and the queue is full.
	l, err := NewLoader(context.Background(), ds, LoaderOptions{BatchSize: 2, Seed: 1, Epoch: 1, Workers: 4, Prefetch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := l.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: got %v; want ErrClosed", err)
	}
	waitGoroutines(t, before)

	// Cancelling the loader's context ends its goroutines too.
	ctx, cancel := context.WithCancel(context.Background())
	l, err = NewLoader(ctx, ds, LoaderOptions{BatchSize: 2, Seed: 1, Epoch: 1, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitGoroutines(t, before)
	if _, err := l.Next(context.Background()); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel: got %v", err)
	}
	l.Close()

	// Next's own context: an error now, the same batch later.
	l, err = NewLoader(context.Background(), ds, LoaderOptions{BatchSize: 2, Seed: 1, Epoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if _, err := l.Next(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: got %v", err)
	}
	b, err := l.Next(context.Background())
	if err != nil || b.Epoch != 1 || b.Index != 0 {
		t.Errorf("after a cancelled Next: got batch %d/%d, %v; want 1/0", b.Epoch, b.Index, err)
	}
	l.Close()
	waitGoroutines(t, before)
}

func TestNewUnalignedErrors(t *testing.T) {
	dir := unalignedDir(t, 1, 0)
	if err := os.MkdirAll(filepath.Join(dir, "trainB"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := NewUnaligned(UnalignedOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "no images found in "+filepath.Join(dir, "trainB")) {
		t.Errorf("empty B: got %v", err)
	}
	_, err = NewUnaligned(UnalignedOptions{Dir: dir, Phase: "test"})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "testA")+" does not exist") {
		t.Errorf("missing testA: got %v", err)
	}
	_, err = NewUnaligned(UnalignedOptions{Dir: dir, Direction: "AB"})
	if err == nil {
		t.Error("bad direction: got no error")
	}
}
