package train

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/internal/imagegrid"
	"github.com/ganrt/ganrt/train/data"
)

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// cell returns the panel at (col, row) of a sample grid of 16x16 panels
// whose first row of each group of rows has titles (groups of one row).
func cell(g image.Image, col, row int) image.Image {
	colW := 0
	for _, t := range []string{"real_A", "fake_B", "rec_A", "idt_B"} {
		colW = max(colW, 7*len(t)+6) // imagegrid's titlePad
	}
	const side, titleH = 16, 14
	x := imagegrid.Gap + col*(colW+imagegrid.Gap) + (colW-side)/2
	y := imagegrid.Gap + row*(titleH+side+imagegrid.Gap) + titleH
	return g.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(x, y, x+side, y+side))
}

func samePixels(a, b image.Image) bool {
	if a.Bounds().Size() != b.Bounds().Size() {
		return false
	}
	for y := range a.Bounds().Dy() {
		for x := range a.Bounds().Dx() {
			if a.At(a.Bounds().Min.X+x, a.Bounds().Min.Y+y) != b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y) {
				return false
			}
		}
	}
	return true
}

// TestCycleGANSamplesAndPage trains 4 iterations with a sample every 2:
// both grids show the same fixed test images (the first of testA and of
// testB, as the training transform crops them with no flip) under column
// titles, the translations change, and index.html lists both grids
// newest first with the loss plot and the options.
func TestCycleGANSamplesAndPage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	cfg := tinyCycleGAN(t, synthData(t), out)
	cfg.MaxIters, cfg.SaveEpochEvery = 4, 0
	if err := TrainCycleGAN(context.Background(), cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	g2 := decodePNG(t, filepath.Join(out, "samples", "iter_0000002.png"))
	g4 := decodePNG(t, filepath.Join(out, "samples", "iter_0000004.png"))
	if g2.Bounds() != g4.Bounds() {
		t.Fatalf("grids %v and %v differ in size", g2.Bounds(), g4.Bounds())
	}
	for row, dir := range []string{"testA", "testB"} {
		tr := data.Transform{Preprocess: data.ResizeAndCrop, LoadSize: cfg.LoadSize, CropSize: cfg.CropSize, NoFlip: true}
		// The crop is drawn from the image's index (0) as loadCycleGANSamples does.
		fixed, _, err := loadFixed([]string{filepath.Join(cfg.Data, dir, "000000.png")}, []int{0},
			func(im *data.Image, i int) (*data.Image, error) { return tr.Apply(im, sampleRand(i)) })
		if err != nil {
			t.Fatal(err)
		}
		want := imageAt(fixed.x, fixed.shape, 0)
		if !samePixels(cell(g2, 0, row), want) || !samePixels(cell(g4, 0, row), want) {
			t.Errorf("row %d: the first column is not %s/000000.png at both iterations", row, dir)
		}
		if samePixels(cell(g2, 1, row), cell(g4, 1, row)) {
			t.Errorf("row %d: the translation did not change between iterations 2 and 4", row)
		}
	}
	// Titles: dark pixels above each group's first column.
	dark := 0
	for y := imagegrid.Gap; y < imagegrid.Gap+13; y++ {
		for x := imagegrid.Gap; x < imagegrid.Gap+42; x++ {
			if r, _, _, _ := g2.At(x, y).RGBA(); r < 0x8000 {
				dark++
			}
		}
	}
	if dark < 20 {
		t.Errorf("%d dark pixels where the real_A title goes; want a title", dark)
	}

	page, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	i4, i2 := strings.Index(html, `src="samples/iter_0000004.png"`), strings.Index(html, `src="samples/iter_0000002.png"`)
	if i4 < 0 || i2 < 0 || i4 > i2 {
		t.Errorf("index.html does not list the grids newest first (positions %d, %d)", i4, i2)
	}
	for _, w := range []string{`<img src="loss.png"`, "<th>netG</th><td>resnet_2blocks</td>", "<th>D_A</th>", "iteration 4 of 4",
		`width="` + strconv.Itoa(decodeWidth(t, filepath.Join(out, "samples", "iter_0000004.png"))*4) + `"`} {
		if !strings.Contains(html, w) {
			t.Errorf("index.html lacks %q", w)
		}
	}
}

func decodeWidth(t *testing.T, path string) int { return decodePNG(t, path).Bounds().Dx() }

// TestLossPlot checks loss.png's panels: one per family, with the bold
// mean lines in the palette's colours and faint raw ones.
func TestLossPlot(t *testing.T) {
	for _, c := range []struct {
		names  []string
		panels int
	}{
		{[]string{"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"}, 3},
		{[]string{"D/loss_real", "D/loss_fake", "D/loss_cls", "D/loss_gp", "G/loss_fake", "G/loss_rec", "G/loss_cls"}, 3},
		{[]string{"D_A", "G_A"}, 2},
	} {
		l, err := OpenLossLog(filepath.Join(t.TempDir(), "loss_log.jsonl"), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 300; i++ {
			m := map[string]float64{}
			for k, n := range c.names {
				m[n] = float64(k+1) * (1 + 0.3*math.Sin(float64(i))) * math.Exp(-float64(i)/200)
			}
			if err := l.Add(LossRecord{Iter: i, Losses: m}); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(t.TempDir(), "loss.png")
		if err := l.Plot(path, "test", 20); err != nil {
			t.Fatal(err)
		}
		l.Close()
		img := decodePNG(t, path)
		// 10 x (0.45 + 2.4 per panel) inches at 96 dpi.
		if want := image.Pt(960, int(96*(0.45+2.4*float64(c.panels)))); img.Bounds().Size() != want {
			t.Errorf("%v: loss.png %v; want %v (%d panels)", c.names, img.Bounds().Size(), want, c.panels)
		}
		bold, faint := 0, 0
		blue := palette[0].(color.RGBA)
		for y := range img.Bounds().Dy() {
			for x := range img.Bounds().Dx() {
				r, g, b, _ := img.At(x, y).RGBA()
				px := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
				switch {
				case px == blue:
					bold++
				case px.B > px.R+20 && px.R > 150: // light blue: the faint line over white
					faint++
				}
			}
		}
		if bold < 500 || faint < 200 {
			t.Errorf("%v: %d bold and %d faint blue pixels; want both lines drawn", c.names, bold, faint)
		}
	}
	for _, c := range []struct {
		name  string
		panel int
	}{{"G_A", 0}, {"G/loss_fake", 0}, {"D_B", 1}, {"D/loss_real", 1}, {"idt_A", 2}, {"D/loss_gp", 2}, {"G/loss_cls", 2}} {
		if p, _ := lossPanel(c.name); p != c.panel {
			t.Errorf("lossPanel(%q) = %d; want %d", c.name, p, c.panel)
		}
	}
}
