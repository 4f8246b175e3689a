// Package eval measures a generator against ground truth: each input image
// is translated and compared with its true counterpart, beside baselines
// that learn nothing (see Baselines: the input itself, a per-channel
// mean/std colour transfer and a per-channel histogram match to the target
// domain, whose statistics come from the target domain's training images
// alone). A model is better than the baselines only where it beats the best
// of them; Row.Margin gives by how much.
//
// Figures, for 8-bit RGB images as color.Color.RGBA gives them:
//   - L1: mean absolute difference over R, G and B in [0, 1] (lower is
//     better);
//   - PSNR: 10*log10(1/MSE) over R, G and B in [0, 1], in dB, identical
//     pairs counted as 100 dB;
//   - SSIM: structural similarity of the luminances (BT.601 Y in [0, 1]) with
//     the standard 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03 (see
//     SSIM), in [-1, 1]. A blur or a uniform darkening loses here even where
//     its PSNR is high.
//
// Pairs whose truth equals the input (a target that is the image's own
// domain) are left out and counted.
//
// Truth layouts (those `ganrt data synth` writes):
//   - CycleGAN: TRUTH/NAME for each INPUT/NAME (same file name); the
//     training images of the target domain are a folder (DATA/trainB for
//     A -> B).
//   - StarGAN: TRUTH/SCENE/LABEL.png for each input INPUT/.../SCENE.png,
//     where LABEL is the target label as digits ("10010"); one report row
//     per target, named by its domain ("night", or "Day+Rain" for a
//     multi-label target). The training images are the training set: a
//     folder per domain (DATA/train), or the CelebA layout (a folder holding
//     list_attr.txt and images/), grouped by label.
package eval

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/synth"
	"github.com/ganrt/ganrt/train/data"
)

// Figures compare one image, or the mean over several, with its truth.
type Figures struct {
	L1   float64 `json:"l1"`
	PSNR float64 `json:"psnr"`
	SSIM float64 `json:"ssim"`
}

func (f *Figures) add(g Figures) { f.L1, f.PSNR, f.SSIM = f.L1+g.L1, f.PSNR+g.PSNR, f.SSIM+g.SSIM }

func (f Figures) div(n int) Figures {
	if n == 0 {
		return f
	}
	d := float64(n)
	return Figures{L1: f.L1 / d, PSNR: f.PSNR / d, SSIM: f.SSIM / d}
}

// Stats are the mean figures over N images.
type Stats struct {
	N int `json:"n"`
	Figures
}

// Image is the result for one input and target.
type Image struct {
	// File is the input's path relative to the input folder.
	File string `json:"file"`
	// Target names the target domain, Label is its label digits (StarGAN
	// only).
	Target string `json:"target,omitempty"`
	Label  string `json:"label,omitempty"`
	// Model and each baseline against the truth.
	Model     Figures            `json:"model"`
	Baselines map[string]Figures `json:"baselines"`
}

// Best names the best baseline for each figure.
type Best struct {
	L1   string `json:"l1"`
	PSNR string `json:"psnr"`
	SSIM string `json:"ssim"`
}

// Row is the result for one target (StarGAN) or for all images.
type Row struct {
	// Target names the target domain and Label gives its digits (StarGAN
	// rows); both are empty for the CycleGAN row and the total.
	Target string `json:"target,omitempty"`
	Label  string `json:"label,omitempty"`
	// Model and each baseline (by name, see Baselines), means over N pairs.
	Model     Stats            `json:"model"`
	Baselines map[string]Stats `json:"baselines"`
	// Best is the best baseline for each figure; Margin is how much better
	// the model is than that best baseline: model minus best for PSNR (dB)
	// and SSIM, best minus model for L1. Positive means the model wins.
	Best   Best    `json:"best_baseline"`
	Margin Figures `json:"margin"`
}

// Better reports whether the model beats the best baseline on both PSNR and
// SSIM.
func (r Row) Better() bool { return r.Margin.PSNR > 0 && r.Margin.SSIM > 0 }

// Report is an evaluation: one row per target, the total over all pairs,
// and every pair's figures.
type Report struct {
	Rows   []Row   `json:"rows"`
	Total  Row     `json:"total"`
	Images []Image `json:"images"`
	// Skipped counts pairs whose truth is the input itself (a StarGAN
	// target equal to the image's own domain), left out of the figures.
	Skipped int `json:"skipped,omitempty"`
	// TrainImages counts the training images whose statistics the
	// baselines use, per target ("" for CycleGAN).
	TrainImages map[string]int `json:"train_images"`
}

// DefaultMaxTrainImages is how many training images per target domain the
// baselines read at most (the first in sorted order).
const DefaultMaxTrainImages = 1000

// Options say what to evaluate.
type Options struct {
	// Input is the folder of input images, Truth that of their true
	// counterparts (see the package doc for the layouts).
	Input, Truth string
	// Train holds the training images the baselines take the target
	// domain's statistics from: the target domain's folder for CycleGAN,
	// the training set for StarGAN (see the package doc).
	Train string
	// MaxTrainImages bounds the training images read per target domain
	// (0: DefaultMaxTrainImages). Memory for the statistics is fixed
	// (3x256 counters per target); time grows with the images read.
	MaxTrainImages int
}

// Run translates every image under o.Input with t and compares it and each
// baseline with the truth under o.Truth. Images without a truth
// counterpart are an error; so are targets without training images. Images
// are decoded one at a time under t's pixel limit; memory beyond that is
// one small record per pair.
func Run(ctx context.Context, t *runtime.Translator, o Options) (*Report, error) {
	if o.Train == "" {
		return nil, fmt.Errorf("eval: no training images for the baselines: give the target domain's training folder")
	}
	if o.MaxTrainImages <= 0 {
		o.MaxTrainImages = DefaultMaxTrainImages
	}
	inputs, err := listImages(o.Input)
	if err != nil {
		return nil, err
	}
	refs, err := newReference(t, o)
	if err != nil {
		return nil, err
	}
	rep := &Report{TrainImages: map[string]int{}}
	compare := func(path, label string, in image.Image, labelVec []float32, truthPath string) error {
		want, err := t.DecodeFile(truthPath)
		if err != nil {
			return err
		}
		if in.Bounds().Size() != want.Bounds().Size() {
			return fmt.Errorf("%s is %v and its input %s %v: sizes must match", truthPath, want.Bounds().Size(), path, in.Bounds().Size())
		}
		if l1, _ := synth.Metrics(in, want); l1 == 0 {
			// The target is the input's own domain: nothing to translate.
			rep.Skipped++
			return nil
		}
		got, err := t.Translate(ctx, in, labelVec)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if got.Bounds().Size() != want.Bounds().Size() {
			return fmt.Errorf("the model made a %v image of %s, whose truth %s is %v: sizes must match", got.Bounds().Size(), path, truthPath, want.Bounds().Size())
		}
		st, err := refs.stats(label)
		if err != nil {
			return err
		}
		rep.TrainImages[label] = st.Images
		rel, err := filepath.Rel(o.Input, path)
		if err != nil {
			rel = path
		}
		im := Image{File: filepath.ToSlash(rel), Label: label, Target: refs.name(label), Baselines: map[string]Figures{}}
		if im.Model, err = figures(got, want); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for name, b := range map[string]image.Image{Identity: in, MeanStd: MeanStdTransfer(in, st), Histogram: HistogramMatch(in, st)} {
			if im.Baselines[name], err = figures(b, want); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		rep.Images = append(rep.Images, im)
		return nil
	}
	for _, path := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in, err := t.DecodeFile(path)
		if err != nil {
			return nil, err
		}
		if !t.Info().StarGAN() {
			if err := compare(path, "", in, nil, filepath.Join(o.Truth, filepath.Base(path))); err != nil {
				return nil, err
			}
			continue
		}
		scene := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		targets, err := filepath.Glob(filepath.Join(o.Truth, scene, "*.png"))
		if err != nil || len(targets) == 0 {
			return nil, fmt.Errorf("no truth for %s: want %s/*.png", path, filepath.Join(o.Truth, scene))
		}
		for _, tp := range targets {
			name := strings.TrimSuffix(filepath.Base(tp), ".png")
			bits, err := synth.ParseLabel(name)
			if err != nil || len(bits) != len(t.Info().Domains) {
				return nil, fmt.Errorf("%s: the file name is not a label of %d digits", tp, len(t.Info().Domains))
			}
			if err := compare(path, name, in, labelOf(bits), tp); err != nil {
				return nil, err
			}
		}
	}
	if len(rep.Images) == 0 {
		return nil, fmt.Errorf("no pair under %s and %s to compare (every truth equals its input)", o.Input, o.Truth)
	}
	rep.summarize()
	return rep, nil
}

func labelOf(bits []bool) []float32 {
	l := make([]float32, len(bits))
	for i, b := range bits {
		if b {
			l[i] = 1
		}
	}
	return l
}

// figures compares got with want.
func figures(got, want image.Image) (Figures, error) {
	l1, psnr := synth.Metrics(got, want)
	s, err := SSIM(got, want)
	if err != nil {
		return Figures{}, err
	}
	return Figures{L1: l1, PSNR: min(psnr, 100), SSIM: s}, nil
}

// summarize fills the rows and the total from the images.
func (r *Report) summarize() {
	byLabel := map[string][]Image{}
	for _, im := range r.Images {
		byLabel[im.Label] = append(byLabel[im.Label], im)
	}
	labels := make([]string, 0, len(byLabel))
	for l := range byLabel {
		labels = append(labels, l)
	}
	// Descending digits: one-hot labels in domain order, "10000" (the
	// first attribute) first.
	sort.Sort(sort.Reverse(sort.StringSlice(labels)))
	for _, l := range labels {
		ims := byLabel[l]
		if l == "" {
			break // CycleGAN: the total is the only row
		}
		row := rowOf(ims)
		row.Label, row.Target = l, ims[0].Target
		r.Rows = append(r.Rows, row)
	}
	r.Total = rowOf(r.Images)
}

func rowOf(ims []Image) Row {
	var model Figures
	base := map[string]Figures{}
	for _, im := range ims {
		model.add(im.Model)
		for _, b := range Baselines {
			f := base[b]
			f.add(im.Baselines[b])
			base[b] = f
		}
	}
	n := len(ims)
	row := Row{Model: Stats{N: n, Figures: model.div(n)}, Baselines: map[string]Stats{}}
	bestL1, bestPSNR, bestSSIM := math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, b := range Baselines {
		s := Stats{N: n, Figures: base[b].div(n)}
		row.Baselines[b] = s
		if s.L1 < bestL1 {
			bestL1, row.Best.L1 = s.L1, b
		}
		if s.PSNR > bestPSNR {
			bestPSNR, row.Best.PSNR = s.PSNR, b
		}
		if s.SSIM > bestSSIM {
			bestSSIM, row.Best.SSIM = s.SSIM, b
		}
	}
	row.Margin = Figures{L1: bestL1 - row.Model.L1, PSNR: row.Model.PSNR - bestPSNR, SSIM: row.Model.SSIM - bestSSIM}
	return row
}

// reference gives each target's training statistics, read on first use.
type reference struct {
	t     *runtime.Translator
	max   int
	paths map[string][]string // label digits ("" for CycleGAN) -> training images
	names []string            // label entry names (StarGAN)
	cache map[string]*DomainStats
	dir   string
}

func newReference(t *runtime.Translator, o Options) (*reference, error) {
	r := &reference{t: t, max: o.MaxTrainImages, paths: map[string][]string{}, cache: map[string]*DomainStats{}, dir: o.Train}
	if !t.Info().StarGAN() {
		ps, err := data.ListImages(o.Train, 0)
		if err != nil {
			return nil, fmt.Errorf("training images of the target domain: %w", err)
		}
		r.paths[""] = ps
		return r, nil
	}
	domains := t.Info().Domains
	r.names = domains
	var l *data.Labeled
	var err error
	if attr := filepath.Join(o.Train, "list_attr.txt"); fileExists(attr) {
		l, err = data.NewCelebA(data.CelebAOptions{Images: filepath.Join(o.Train, "images"), AttrFile: attr, Attrs: domains, Split: -1})
	} else {
		l, err = data.NewFolders(data.FolderOptions{Dir: o.Train, CDim: len(domains)})
		if err == nil && !unnamed(domains) && !slices.Equal(l.Names, domains) {
			err = fmt.Errorf("%s has the domain folders %s but the model's domains are %s", o.Train, strings.Join(l.Names, ", "), strings.Join(domains, ", "))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("training images for the baselines: %w", err)
	}
	for i, p := range l.Paths {
		bits := make([]bool, len(l.Labels[i]))
		for j, v := range l.Labels[i] {
			bits[j] = v > 0.5
		}
		k := synth.LabelString(bits)
		r.paths[k] = append(r.paths[k], p)
	}
	return r, nil
}

// unnamed reports whether the model's domains are the placeholders "0",
// "1", ... of a model that names none.
func unnamed(domains []string) bool {
	for i, d := range domains {
		if d != fmt.Sprint(i) {
			return false
		}
	}
	return true
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// name is the domain name of a label: the names of its set entries joined
// by "+" ("none" if none is set); "" for CycleGAN.
func (r *reference) name(label string) string {
	if label == "" {
		return ""
	}
	var set []string
	for i, c := range label {
		if c == '1' && i < len(r.names) {
			set = append(set, r.names[i])
		}
	}
	if len(set) == 0 {
		return "none"
	}
	return strings.Join(set, "+")
}

// stats returns the target's statistics over its first r.max training
// images.
func (r *reference) stats(label string) (*DomainStats, error) {
	if s := r.cache[label]; s != nil {
		return s, nil
	}
	ps := r.paths[label]
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s has no training image of the target %s (label %s): the baselines need the target domain's statistics", r.dir, r.name(label), label)
	}
	ps = slices.Clone(ps)
	sort.Strings(ps)
	ps = ps[:min(len(ps), r.max)]
	s := &DomainStats{}
	for _, p := range ps {
		img, err := r.t.DecodeFile(p)
		if err != nil {
			return nil, fmt.Errorf("training image for the baselines: %w", err)
		}
		s.Add(img)
	}
	r.cache[label] = s
	return s, nil
}

// listImages returns the image files under dir (recursive, sorted).
func listImages(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && runtime.IsImageFile(p) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("no images in %s", dir)
	}
	return out, nil
}

// Text renders the report as a table: for each row, the model and every
// baseline, the best baseline of each figure marked with '*', and the
// model's margins over it.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %-10s %5s  %8s %9s %7s\n", "target", "method", "n", "L1", "PSNR dB", "SSIM")
	mark := func(ok bool) string {
		if ok {
			return "*"
		}
		return " "
	}
	line := func(name string, row Row) {
		fmt.Fprintf(&b, "%-14s %-10s %5d  %8.4f %9.2f %7.4f\n", name, "model", row.Model.N, row.Model.L1, row.Model.PSNR, row.Model.SSIM)
		for _, bn := range Baselines {
			s := row.Baselines[bn]
			fmt.Fprintf(&b, "%-14s %-10s %5s  %8.4f%s%8.2f%s%7.4f%s\n", "", bn, "", s.L1, mark(row.Best.L1 == bn), s.PSNR, mark(row.Best.PSNR == bn), s.SSIM, mark(row.Best.SSIM == bn))
		}
		fmt.Fprintf(&b, "%-14s %-10s %5s  %+8.4f %+9.2f %+7.4f  (%s)\n", "", "margin", "", row.Margin.L1, row.Margin.PSNR, row.Margin.SSIM, verdict(row))
	}
	for _, row := range r.Rows {
		line(row.Target, row)
	}
	line("all", r.Total)
	b.WriteString("* best baseline; margin: the model over the best baseline (L1 lower is better, so best minus model)\n")
	if r.Skipped > 0 {
		fmt.Fprintf(&b, "(%d pairs whose truth is the input itself left out)\n", r.Skipped)
	}
	return b.String()
}

// verdict says on which figures the model beats the best baseline.
func verdict(row Row) string {
	var win, lose []string
	for _, f := range []struct {
		name string
		m    float64
	}{{"L1", row.Margin.L1}, {"PSNR", row.Margin.PSNR}, {"SSIM", row.Margin.SSIM}} {
		if f.m > 0 {
			win = append(win, f.name)
		} else {
			lose = append(lose, f.name)
		}
	}
	switch {
	case len(lose) == 0:
		return "beats the best baseline on every figure"
	case len(win) == 0:
		return "does not beat the best baseline on any figure"
	}
	return "beats the best baseline on " + strings.Join(win, ", ") + ", not on " + strings.Join(lose, ", ")
}
