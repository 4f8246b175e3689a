package demo

import (
	"fmt"
	"image"

	"github.com/ganrt/ganrt/eval"
	"github.com/ganrt/ganrt/internal/imagegrid"
	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/train/data"
)

// composeGrid lays out title lines (each a list of column titles) above
// rows of cells, each cell scaled up by scale (nearest neighbour, so every
// pixel stays visible as a block).
func composeGrid(titles [][]string, rows [][]image.Image, scale int) *image.RGBA {
	var grid []imagegrid.Row
	for _, t := range titles {
		grid = append(grid, imagegrid.Row{Titles: t})
	}
	for _, r := range rows {
		cells := make([]image.Image, len(r))
		for i, c := range r {
			cells[i] = upscale(c, scale)
		}
		grid = append(grid, imagegrid.Row{Cells: cells})
	}
	return imagegrid.Compose(grid)
}

// upscale repeats each pixel of img in a scale x scale block.
func upscale(img image.Image, scale int) image.Image {
	if scale <= 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*scale, b.Dy()*scale))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.Set(x, y, img.At(b.Min.X+x/scale, b.Min.Y+y/scale))
		}
	}
	return out
}

// trainStats reads the baselines' target statistics from a folder of
// training images (at most eval.DefaultMaxTrainImages, as eval reads them).
func trainStats(t *runtime.Translator, dir string) (*eval.DomainStats, error) {
	paths, err := data.ListImages(dir, 0)
	if err != nil {
		return nil, err
	}
	paths = paths[:min(len(paths), eval.DefaultMaxTrainImages)]
	st := &eval.DomainStats{}
	for _, p := range paths {
		img, err := t.DecodeFile(p)
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		st.Add(img)
	}
	return st, nil
}

// baselineImage is the named baseline's output for in.
func baselineImage(name string, in image.Image, st *eval.DomainStats) image.Image {
	switch name {
	case eval.MeanStd:
		return eval.MeanStdTransfer(in, st)
	case eval.Histogram:
		return eval.HistogramMatch(in, st)
	}
	return in
}
