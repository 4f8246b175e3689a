package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
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

// Close closes the file.
func (l *LossLog) Close() error { return l.f.Close() }

// Plot writes the loss curves (a moving average over window iterations) as
// a PNG to path, atomically.
func (l *LossLog) Plot(path, title string, window int) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "iteration"
	p.Y.Label.Text = "loss"
	names := map[string]bool{}
	for _, r := range l.records {
		for k := range r.Losses {
			names[k] = true
		}
	}
	for i, name := range sortedKeys(names) {
		var pts plotter.XYs
		var sum float64
		var win []float64
		for _, r := range l.records {
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
			pts = append(pts, plotter.XY{X: float64(r.Iter), Y: sum / float64(len(win))})
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %w", name, err)
		}
		line.Color = palette[i%len(palette)]
		line.Width = vg.Points(1.2)
		p.Add(line)
		p.Legend.Add(name, line)
	}
	p.Legend.Top = true
	canvas := vgimg.PngCanvas{Canvas: vgimg.New(9*vg.Inch, 5*vg.Inch)}
	p.Draw(draw.New(canvas))
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := canvas.WriteTo(w)
		return err
	})
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
}
