package data

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
)

// Dataset is what a Loader draws examples from: *Unaligned (CycleGAN) or
// *Labeled (StarGAN).
type Dataset interface {
	// Len is the number of examples in one epoch.
	Len() int
	// shuffled reports whether each epoch visits the examples in a random
	// order (the references' DataLoader shuffle).
	shuffled() bool
	// example loads and transforms example idx, drawing its randomness
	// from rng(stream).
	example(f *fetcher, idx int, rng func(stream uint64) *rand.Rand) (example, error)
}

// example is one transformed example.
type example struct {
	a, b         tensor3 // b is empty for labeled data
	label        []float32
	aPath, bPath string
	skipped      []string
}

// tensor3 is a [C, H, W] float32 image.
type tensor3 struct {
	c, h, w int
	data    []float32
}

func toTensor(im *Image) tensor3 {
	t := tensor3{c: im.C, h: im.H, w: im.W, data: make([]float32, im.C*im.H*im.W)}
	im.Tensor(t.data)
	return t
}

// Randomness streams of one example (see the package documentation).
const (
	streamPerm uint64 = iota // the epoch's order (example 0 only)
	streamIndexB
	streamAugA
	streamAugB
)

// UnalignedOptions configures an Unaligned dataset. The zero value of every
// field is the CycleGAN reference's default.
type UnalignedOptions struct {
	// Dir holds PHASE+"A" and PHASE+"B" (DATA/trainA, DATA/trainB).
	Dir string
	// Phase is "train" (default) or "test".
	Phase string
	// Direction is "AtoB" (default) or "BtoA".
	Direction string
	// InputNC and OutputNC are the channel counts (default 3); a side
	// with 1 channel is converted to grayscale.
	InputNC, OutputNC int
	// Preprocess defaults to ResizeAndCrop, LoadSize to 286, CropSize to 256.
	Preprocess         Preprocess
	LoadSize, CropSize int
	NoFlip             bool
	// SerialBatches takes B images in order (index mod |B|) instead of at
	// random, and visits the examples in order instead of shuffling them.
	SerialBatches bool
	// MaxDatasetSize keeps at most this many images per side (0: all).
	MaxDatasetSize int
}

// Unaligned is the CycleGAN reference's UnalignedDataset: an epoch has
// max(|A|, |B|) examples; example i pairs A image i mod |A| with a B image
// drawn uniformly at random (or i mod |B| with SerialBatches). Unless
// SerialBatches, the loader visits the examples of each epoch in a random
// order, as the reference's DataLoader(shuffle=not serial_batches) does.
// With Direction BtoA the two sides swap after loading, so a batch's A is
// always the generator G_A's input (real_A).
type Unaligned struct {
	// APaths and BPaths are the images of the two folders, sorted.
	APaths, BPaths []string
	opt            UnalignedOptions
	tA, tB         Transform
}

// NewUnaligned lists the two image folders and checks the options.
func NewUnaligned(opt UnalignedOptions) (*Unaligned, error) {
	if opt.Phase == "" {
		opt.Phase = "train"
	}
	if opt.Direction == "" {
		opt.Direction = "AtoB"
	}
	if opt.Direction != "AtoB" && opt.Direction != "BtoA" {
		return nil, fmt.Errorf("direction %q: want AtoB or BtoA", opt.Direction)
	}
	if opt.InputNC == 0 {
		opt.InputNC = 3
	}
	if opt.OutputNC == 0 {
		opt.OutputNC = 3
	}
	for _, nc := range []int{opt.InputNC, opt.OutputNC} {
		if nc != 1 && nc != 3 {
			return nil, fmt.Errorf("channel count %d: want 1 or 3", nc)
		}
	}
	if opt.Preprocess == "" {
		opt.Preprocess = ResizeAndCrop
	}
	if opt.LoadSize == 0 {
		opt.LoadSize = 286
	}
	if opt.CropSize == 0 {
		opt.CropSize = 256
	}
	// The reference transforms the A folder with the channels of the
	// generator input it becomes: input_nc for AtoB, output_nc for BtoA.
	ncA, ncB := opt.InputNC, opt.OutputNC
	if opt.Direction == "BtoA" {
		ncA, ncB = ncB, ncA
	}
	u := &Unaligned{opt: opt}
	base := Transform{Preprocess: opt.Preprocess, LoadSize: opt.LoadSize, CropSize: opt.CropSize, NoFlip: opt.NoFlip}
	if err := base.Validate(); err != nil {
		return nil, err
	}
	u.tA, u.tB = base, base
	u.tA.Gray, u.tB.Gray = ncA == 1, ncB == 1
	var err error
	if u.APaths, err = ListImages(filepath.Join(opt.Dir, opt.Phase+"A"), opt.MaxDatasetSize); err != nil {
		return nil, err
	}
	if u.BPaths, err = ListImages(filepath.Join(opt.Dir, opt.Phase+"B"), opt.MaxDatasetSize); err != nil {
		return nil, err
	}
	return u, nil
}

// Len is max(|A|, |B|).
func (u *Unaligned) Len() int { return max(len(u.APaths), len(u.BPaths)) }

func (u *Unaligned) shuffled() bool { return !u.opt.SerialBatches }

func (u *Unaligned) example(f *fetcher, idx int, rng func(uint64) *rand.Rand) (example, error) {
	ai := idx % len(u.APaths)
	bi := idx % len(u.BPaths)
	if !u.opt.SerialBatches {
		bi = rng(streamIndexB).IntN(len(u.BPaths))
	}
	var ex example
	imA, ai, skipped, err := f.load(u.APaths, ai)
	if err != nil {
		return ex, err
	}
	imB, bi, skippedB, err := f.load(u.BPaths, bi)
	if err != nil {
		return ex, err
	}
	ex.aPath, ex.bPath = u.APaths[ai], u.BPaths[bi]
	ex.skipped = append(skipped, skippedB...)
	if imA, err = u.tA.Apply(imA, rng(streamAugA)); err != nil {
		return ex, fmt.Errorf("%s: %w", ex.aPath, err)
	}
	if imB, err = u.tB.Apply(imB, rng(streamAugB)); err != nil {
		return ex, fmt.Errorf("%s: %w", ex.bPath, err)
	}
	ex.a, ex.b = toTensor(imA), toTensor(imB)
	if u.opt.Direction == "BtoA" {
		ex.a, ex.b = ex.b, ex.a
		ex.aPath, ex.bPath = ex.bPath, ex.aPath
	}
	return ex, nil
}

// Labeled is a StarGAN dataset: images with float32 label vectors of
// length CDim() (one-hot for folder-per-domain data, multi-hot for CelebA
// attributes), transformed by a CenterTransform. Training data (Test false)
// is flipped at random and visited in a random order each epoch.
type Labeled struct {
	// Paths are the images and Labels their label vectors.
	Paths  []string
	Labels [][]float32
	// Names are the label entries' names: domain folders or attributes.
	Names     []string
	transform CenterTransform
}

// CDim is the label size.
func (l *Labeled) CDim() int { return len(l.Names) }

// Len is the number of images.
func (l *Labeled) Len() int { return len(l.Paths) }

func (l *Labeled) shuffled() bool { return l.transform.Flip }

func (l *Labeled) example(f *fetcher, idx int, rng func(uint64) *rand.Rand) (example, error) {
	var ex example
	im, i, skipped, err := f.load(l.Paths, idx)
	if err != nil {
		return ex, err
	}
	ex.aPath, ex.skipped = l.Paths[i], skipped
	ex.a = toTensor(l.transform.Apply(im, rng(streamAugA)))
	ex.label = l.Labels[i]
	return ex, nil
}

// fetcher loads images for the workers of one Loader and applies its
// policy for unreadable files.
type fetcher struct {
	stop bool
	mu   sync.Mutex
	bad  map[string]error // unreadable files met so far
}

func newFetcher(stop bool) *fetcher { return &fetcher{stop: stop, bad: map[string]error{}} }

// load loads paths[i]. An unreadable file is an error naming it when the
// policy is to stop; otherwise it is skipped for the next readable file
// after it (cyclically), and the skipped files are returned.
func (f *fetcher) load(paths []string, i int) (*Image, int, []string, error) {
	var skipped []string
	for n := 0; n < len(paths); n++ {
		j := (i + n) % len(paths)
		p := paths[j]
		f.mu.Lock()
		known := f.bad[p]
		f.mu.Unlock()
		if known == nil {
			im, err := Load(p)
			if err == nil {
				return im, j, skipped, nil
			}
			known = err
			f.mu.Lock()
			f.bad[p] = err
			f.mu.Unlock()
		}
		if f.stop {
			return nil, 0, nil, fmt.Errorf("unreadable image %s: %w", p, known)
		}
		skipped = append(skipped, p)
	}
	f.mu.Lock()
	first := f.bad[paths[i]]
	f.mu.Unlock()
	return nil, 0, nil, fmt.Errorf("none of the %d images in %s is readable (first: %w)", len(paths), filepath.Dir(paths[i]), first)
}

// skippedFiles returns the unreadable files met so far, sorted.
func (f *fetcher) skippedFiles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.bad))
	for p := range f.bad {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
