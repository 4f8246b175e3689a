package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// LossRecord is one line of loss_log.jsonl: the iteration (from 1), epoch,
// learning rate, wall seconds of the iteration and the losses by name.
type LossRecord struct {
	Iter   int
	Epoch  int
	LR     float64
	Sec    float64
	Losses map[string]float64
}

// MarshalJSON writes a flat object: iter, epoch, lr, sec, then the losses
// in name order.
func (r LossRecord) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"iter":%d`, r.Iter)
	if r.Epoch > 0 {
		fmt.Fprintf(&b, `,"epoch":%d`, r.Epoch)
	}
	fmt.Fprintf(&b, `,"lr":%g,"sec":%.4f`, r.LR, r.Sec)
	for _, k := range sortedKeys(r.Losses) {
		v, err := json.Marshal(r.Losses[k])
		if err != nil {
			return nil, fmt.Errorf("loss %s: %w", k, err)
		}
		fmt.Fprintf(&b, `,%q:%s`, k, v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// LossLog appends records to a JSON-lines file and keeps them for plots.
type LossLog struct {
	path    string
	f       *os.File
	records []LossRecord
}

// OpenLossLog opens path for appending, first dropping any lines past
// iteration keep (a resumed run rewrites what came after its checkpoint).
func OpenLossLog(path string, keep int) (*LossLog, error) {
	l := &LossLog{path: path}
	if data, err := os.ReadFile(path); err == nil {
		var kept bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var raw map[string]any
			if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			rec := recordFrom(raw)
			if rec.Iter > keep {
				break
			}
			l.records = append(l.records, rec)
			kept.Write(sc.Bytes())
			kept.WriteByte('\n')
		}
		if err := atomicfile.WriteBytes(path, kept.Bytes()); err != nil {
			return nil, err
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	l.f = f
	return l, nil
}

func recordFrom(raw map[string]any) LossRecord {
	rec := LossRecord{Losses: map[string]float64{}}
	for k, v := range raw {
		f, _ := v.(float64)
		switch k {
		case "iter":
			rec.Iter = int(f)
		case "epoch":
			rec.Epoch = int(f)
		case "lr":
			rec.LR = f
		case "sec":
			rec.Sec = f
		default:
			rec.Losses[k] = f
		}
	}
	return rec
}

// Add appends a record to the file.
func (l *LossLog) Add(r LossRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	l.records = append(l.records, r)
	return nil
}

// Latest returns the latest value of every loss (a StarGAN generator loss
// is logged every n_critic iterations only).
func (l *LossLog) Latest() map[string]float64 {
	out := map[string]float64{}
	for _, r := range slices.Backward(l.records) {
		for k, v := range r.Losses {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

// Close closes the file.
func (l *LossLog) Close() error { return l.f.Close() }

// Plot writes loss.png to path, atomically: one panel per loss family
// (see lossPanel), each loss a faint line of its value at every iteration
// and a bold line of its mean over the last window iterations (or a
// hundredth of the run, if more), with a grid and the legend beside the
// panel. Long runs are drawn from at most 3000 points per line.
func (l *LossLog) Plot(path, title string, window int) error {
	window = max(window, len(l.records)/100, 1)
	stride := max(1, len(l.records)/3000)
	panels := map[int][]string{}
	panelTitle := map[int]string{}
	for _, r := range l.records {
		for k := range r.Losses {
			i, t := lossPanel(k)
			if !slices.Contains(panels[i], k) {
				panels[i] = append(panels[i], k)
				panelTitle[i] = t
			}
		}
	}
	order := slices.Sorted(maps.Keys(panels))
	const (
		width, legendW  = 10 * vg.Inch, 2.4 * vg.Inch
		panelH, headerH = 2.4 * vg.Inch, 0.45 * vg.Inch
	)
	height := headerH + vg.Length(max(len(order), 1))*panelH
	img := vgimg.New(width, height)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	header := text.Style{Font: font.From(plot.DefaultFont, 14), Handler: plot.DefaultTextHandler, XAlign: draw.XCenter}
	dc.FillText(header, vg.Point{X: width / 2, Y: height - headerH*0.7}, fmt.Sprintf("%s (%d iterations)", title, len(l.records)))

	plots := make([][]*plot.Plot, len(order))
	legends := make([]plot.Legend, len(order))
	for pi, key := range order {
		names := panels[key]
		sort.Strings(names)
		p := plot.New()
		p.Title.Text = panelTitle[key]
		p.Title.TextStyle.Font.Size = 12
		p.Y.Label.Text = "loss"
		p.X.Tick.Marker = thousands{}
		if pi == len(order)-1 {
			p.X.Label.Text = "iteration"
		}
		p.Add(plotter.NewGrid())
		leg := plot.NewLegend()
		leg.Left, leg.Top = true, true
		var lo, hi []float64
		for ni, name := range names {
			raw, avg := lossSeries(l.records, name, window, stride)
			c := palette[ni%len(palette)]
			faint, err := plotter.NewLine(raw)
			if err != nil {
				return fmt.Errorf("plot %s: %w", name, err)
			}
			faint.Color, faint.Width = fade(c), vg.Points(0.7)
			bold, err := plotter.NewLine(avg)
			if err != nil {
				return fmt.Errorf("plot %s: %w", name, err)
			}
			bold.Color, bold.Width = c, vg.Points(2)
			p.Add(faint, bold)
			leg.Add(name, bold)
			for _, xy := range avg {
				lo, hi = append(lo, xy.Y), append(hi, xy.Y)
			}
			for _, xy := range raw {
				lo, hi = append(lo, xy.Y), append(hi, xy.Y)
			}
		}
		swatch := func(c color.Color, w float64) *plotter.Line {
			return &plotter.Line{LineStyle: draw.LineStyle{Color: c, Width: vg.Points(w)}}
		}
		grey := color.RGBA{90, 90, 90, 255}
		faintText := "faint: every iteration"
		if stride > 1 {
			faintText = fmt.Sprintf("faint: every %d iterations", stride)
		}
		leg.Add(faintText, swatch(fade(grey), 0.7))
		leg.Add(fmt.Sprintf("bold: mean of the last %d", window), swatch(grey, 2))
		p.Y.Min, p.Y.Max = yRange(lo)
		plots[pi] = []*plot.Plot{p}
		legends[pi] = leg
	}
	if len(order) > 0 {
		area := draw.Crop(dc, 0, -legendW, 0, -headerH)
		tiles := draw.Tiles{Rows: len(order), Cols: 1, PadY: vg.Points(12), PadLeft: vg.Points(6), PadBottom: vg.Points(6)}
		canvases := plot.Align(plots, tiles, area)
		for pi := range order {
			plots[pi][0].Draw(canvases[pi][0])
			side := canvases[pi][0]
			side.Min.X, side.Max.X = width-legendW+vg.Points(8), width-vg.Points(4)
			side.Max.Y -= vg.Points(22)
			legends[pi].Draw(side)
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// lossPanel says in which panel of loss.png a loss goes, by order, and the
// panel's title: the generators' adversarial losses, the discriminators'
// (StarGAN's critic's), then the rest (CycleGAN's cycle and identity,
// StarGAN's reconstruction, classification and gradient penalty).
func lossPanel(name string) (int, string) {
	switch {
	case strings.HasPrefix(name, "G_"):
		return 0, "generators: adversarial loss"
	case name == "G/loss_fake":
		return 0, "generator: adversarial loss"
	case strings.HasPrefix(name, "D_"):
		return 1, "discriminators"
	case name == "D/loss_real", name == "D/loss_fake":
		return 1, "critic: adversarial loss"
	case strings.HasPrefix(name, "cycle_"), strings.HasPrefix(name, "idt_"):
		return 2, "cycle and identity losses"
	}
	return 2, "reconstruction, classification, gradient penalty"
}

// lossSeries returns the values of loss name at every stride-th record
// that has it, and their means over the last window records that have it.
func lossSeries(records []LossRecord, name string, window, stride int) (raw, avg plotter.XYs) {
	var win []float64
	sum := 0.0
	seen := 0
	for _, r := range records {
		v, ok := r.Losses[name]
		if !ok {
			continue
		}
		win = append(win, v)
		sum += v
		if len(win) > window {
			sum -= win[0]
			win = win[1:]
		}
		if seen%stride == 0 {
			raw = append(raw, plotter.XY{X: float64(r.Iter), Y: v})
			avg = append(avg, plotter.XY{X: float64(r.Iter), Y: sum / float64(len(win))})
		}
		seen++
	}
	return raw, avg
}

// yRange is the span of the middle 98% of values, padded by a tenth, so
// that a few early spikes (clipped at the panel's edge) do not flatten
// the curves.
func yRange(values []float64) (lo, hi float64) {
	if len(values) == 0 {
		return 0, 1
	}
	v := slices.Clone(values)
	slices.Sort(v)
	lo, hi = v[len(v)/100], v[len(v)-1-len(v)/100]
	if hi-lo < 1e-9 {
		return lo - 0.5, hi + 0.5
	}
	pad := (hi - lo) / 10
	return lo - pad, hi + pad
}

// fade is c at a quarter of its opacity, for raw values.
func fade(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 64}
}

// thousands ticks iterations at round steps (1, 2 or 5 times a power of
// ten, about five of them) labelled 500, 1k, 1.5k, 20k, 1.2M.
type thousands struct{}

func (thousands) Ticks(lo, hi float64) []plot.Tick {
	raw := (hi - lo) / 5
	step := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*step >= raw {
			step *= m
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		var label string
		switch {
		case math.Abs(v) >= 1e6:
			label = strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
		case math.Abs(v) >= 1e3:
			label = strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
		default:
			label = strconv.FormatFloat(v, 'f', -1, 64)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
		if minor := v + step/2; minor <= hi {
			ticks = append(ticks, plot.Tick{Value: minor})
		}
	}
	return ticks
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
}
