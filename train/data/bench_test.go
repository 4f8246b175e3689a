package data

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// benchDir writes n 256x256 JPEG images per side, like the reference's
// CycleGAN data sets (horse2zebra and the like).
func benchDir(b *testing.B, n int) string {
	dir := b.TempDir()
	for i := range n {
		writeImage(b, filepath.Join(dir, "trainA", fmt.Sprintf("%03d.jpg", i)), 256, 256, i)
		writeImage(b, filepath.Join(dir, "trainB", fmt.Sprintf("%03d.jpg", i)), 256, 256, 1000+i)
	}
	return dir
}

// BenchmarkExample is one CycleGAN example on one goroutine: two 256x256
// JPEGs decoded, resized to 286 (bicubic), cropped to 256, maybe flipped and
// converted to [3, 256, 256] tensors. images/s counts both images.
func BenchmarkExample(b *testing.B) {
	ds, err := NewUnaligned(UnalignedOptions{Dir: benchDir(b, 8)})
	if err != nil {
		b.Fatal(err)
	}
	f := newFetcher(false)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := buildExample(ds, f, 1, 1, i, i%ds.Len()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkLoader is the Loader's throughput with its default workers
// (GOMAXPROCS), batches of 1 example (two images) of 286 -> 256, the
// consumer doing nothing else.
func BenchmarkLoader(b *testing.B) {
	ds, err := NewUnaligned(UnalignedOptions{Dir: benchDir(b, 16)})
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewLoader(context.Background(), ds, LoaderOptions{BatchSize: 1, Seed: 1, Epoch: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Next(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkResize286 is the bicubic 256 -> 286 resize alone, in full and as
// the 256x256 window that resize_and_crop computes.
func BenchmarkResize286(b *testing.B) {
	in := rgbImage(256, 256, 1)
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			Resize(in, 286, 286, Bicubic)
		}
	})
	b.Run("window", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 1))
		for b.Loop() {
			resizeWindow(in, 286, 286, Bicubic, rng.IntN(31), rng.IntN(31), 256, 256)
		}
	})
}

// BenchmarkDecodeJPEG256 is decoding a 256x256 JPEG with the PIL-matching
// colour conversion.
func BenchmarkDecodeJPEG256(b *testing.B) {
	dir := benchDir(b, 1)
	p := filepath.Join(dir, "trainA", "000.jpg")
	for b.Loop() {
		if _, err := Load(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLabeledExample is one StarGAN (CelebA-style) example on one
// goroutine: a 178x218 JPEG decoded, flipped at random, center-cropped to
// 178 and resized to 128 (bilinear).
func BenchmarkLabeledExample(b *testing.B) {
	dir := b.TempDir()
	for i := range 8 {
		writeImage(b, filepath.Join(dir, "d0", fmt.Sprintf("%03d.jpg", i)), 178, 218, i)
	}
	ds, err := NewFolders(FolderOptions{Dir: dir, CDim: 1, CropSize: 178, ImageSize: 128})
	if err != nil {
		b.Fatal(err)
	}
	f := newFetcher(false)
	for i := 0; b.Loop(); i++ {
		if _, err := buildExample(ds, f, 1, 1, i, i%ds.Len()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
