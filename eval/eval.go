// Package eval measures a generator against ground truth: each input image
// is translated and compared with its true counterpart (mean L1 over RGB in
// [0,1] and PSNR in dB), beside the identity baseline (the input itself
// compared with the truth), which any useful translation must beat. Pairs
// whose truth equals the input (a target that is the image's own domain)
// are left out and counted.
//
// Truth layouts (those `ganrt data synth` writes):
//   - CycleGAN: TRUTH/NAME for each INPUT/NAME (same file name).
//   - StarGAN: TRUTH/SCENE/LABEL.png for each input INPUT/.../SCENE.png,
//     where LABEL is the target label as digits ("10010"); one report row
//     per target label.
package eval

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/synth"
)

// Stats are mean figures over some images.
type Stats struct {
	N int `json:"n"`
	// L1 is the mean absolute difference in [0,1]; PSNR the mean PSNR in dB
	// (identical pairs count as 100 dB).
	L1   float64 `json:"l1"`
	PSNR float64 `json:"psnr"`
}

func (s *Stats) add(l1, psnr float64) {
	s.N++
	s.L1 += l1
	s.PSNR += min(psnr, 100)
}

func (s Stats) mean() Stats {
	if s.N == 0 {
		return s
	}
	return Stats{N: s.N, L1: s.L1 / float64(s.N), PSNR: s.PSNR / float64(s.N)}
}

// Row is the result for one target (StarGAN) or for all images (CycleGAN,
// Target "").
type Row struct {
	Target   string `json:"target,omitempty"`
	Model    Stats  `json:"model"`
	Identity Stats  `json:"identity"`
}

// Report is an evaluation: one row per target, then the total over all.
type Report struct {
	Rows  []Row `json:"rows"`
	Total Row   `json:"total"`
	// Skipped counts pairs whose truth is the input itself (a StarGAN
	// target equal to the image's own domain), left out of the figures.
	Skipped int `json:"skipped,omitempty"`
}

// Run translates every image under input with t and compares it with the
// truth under truth. Images without a truth counterpart are an error.
func Run(ctx context.Context, t *runtime.Translator, input, truth string) (*Report, error) {
	inputs, err := listImages(input)
	if err != nil {
		return nil, err
	}
	rows := map[string]*[2]Stats{}
	skipped := 0
	compare := func(target string, in image.Image, label []float32, truthPath string) error {
		want, err := t.DecodeFile(truthPath)
		if err != nil {
			return err
		}
		got, err := t.Translate(ctx, in, label)
		if err != nil {
			return err
		}
		if got.Bounds().Size() != want.Bounds().Size() || in.Bounds().Size() != want.Bounds().Size() {
			return fmt.Errorf("%s is %v, the input and output %v and %v: sizes must match", truthPath, want.Bounds().Size(), in.Bounds().Size(), got.Bounds().Size())
		}
		idL1, idPSNR := synth.Metrics(in, want)
		if idL1 == 0 {
			// The target is the input's own domain: nothing to translate.
			skipped++
			return nil
		}
		r := rows[target]
		if r == nil {
			r = &[2]Stats{}
			rows[target] = r
		}
		r[0].add(synth.Metrics(got, want))
		r[1].add(idL1, idPSNR)
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
			if err := compare("", in, nil, filepath.Join(truth, filepath.Base(path))); err != nil {
				return nil, err
			}
			continue
		}
		scene := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		targets, err := filepath.Glob(filepath.Join(truth, scene, "*.png"))
		if err != nil || len(targets) == 0 {
			return nil, fmt.Errorf("no truth for %s: want %s/*.png", path, filepath.Join(truth, scene))
		}
		for _, tp := range targets {
			name := strings.TrimSuffix(filepath.Base(tp), ".png")
			bits, err := synth.ParseLabel(name)
			if err != nil || len(bits) != len(t.Info().Domains) {
				return nil, fmt.Errorf("%s: the file name is not a label of %d digits", tp, len(t.Info().Domains))
			}
			label := make([]float32, len(bits))
			for i, b := range bits {
				if b {
					label[i] = 1
				}
			}
			if err := compare(name, in, label, tp); err != nil {
				return nil, err
			}
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no images in %s", input)
	}
	rep := &Report{Skipped: skipped}
	var total [2]Stats
	for _, target := range sortedTargets(rows) {
		r := rows[target]
		rep.Rows = append(rep.Rows, Row{Target: target, Model: r[0].mean(), Identity: r[1].mean()})
		for i := range 2 {
			total[i].N += r[i].N
			total[i].L1 += r[i].L1
			total[i].PSNR += r[i].PSNR
		}
	}
	rep.Total = Row{Model: total[0].mean(), Identity: total[1].mean()}
	return rep, nil
}

func sortedTargets(m map[string]*[2]Stats) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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

// Text renders the report as a table.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %5s  %10s %10s  %10s %10s  %s\n", "target", "n", "L1", "PSNR dB", "id L1", "id PSNR", "PSNR gain")
	line := func(name string, row Row) {
		fmt.Fprintf(&b, "%-12s %5d  %10.4f %10.2f  %10.4f %10.2f  %+.2f\n", name, row.Model.N, row.Model.L1, row.Model.PSNR,
			row.Identity.L1, row.Identity.PSNR, row.Model.PSNR-row.Identity.PSNR)
	}
	for _, row := range r.Rows {
		if row.Target != "" {
			line(row.Target, row)
		}
	}
	line("all", r.Total)
	if r.Skipped > 0 {
		fmt.Fprintf(&b, "(%d pairs whose truth is the input itself left out)\n", r.Skipped)
	}
	return b.String()
}

// Gain is the total PSNR improvement over the identity baseline, in dB.
func (r *Report) Gain() float64 {
	g := r.Total.Model.PSNR - r.Total.Identity.PSNR
	if math.IsNaN(g) {
		return 0
	}
	return g
}
