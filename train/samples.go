package train

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ganrt/ganrt/graph"
	"github.com/ganrt/ganrt/internal/atomicfile"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/internal/imagegrid"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
	"github.com/ganrt/ganrt/train/data"
)

// samplesPerSide is the number of fixed images of each domain that a
// CycleGAN sample grid shows; starGANSamples the number of a StarGAN one.
const (
	samplesPerSide = 2
	starGANSamples = 4
)

// samplesDir is the folder of a run's sample grids, iter_NNNNNNN.png.
const samplesDir = "samples"

// fixedImages is a batch of images [N, C, H, W] in [-1, 1], with labels
// [N, c_dim] for StarGAN, that every sample grid of a run shows, so that a
// user can watch the same scenes improve (and a resumed run shows them
// too).
type fixedImages struct {
	x     []float32
	shape [4]int
	label []float32
}

// evenly returns n indices spread evenly over [0, total), or all of them.
func evenly(n, total int) []int {
	n = min(n, total)
	idx := make([]int, n)
	for i := range n {
		idx[i] = i * total / n
	}
	return idx
}

// loadFixed loads the images at idx of paths through transform and stacks
// those of the first one's shape.
func loadFixed(paths []string, idx []int, transform func(*data.Image, int) (*data.Image, error)) (fixedImages, []int, error) {
	var f fixedImages
	var kept []int
	for _, i := range idx {
		im, err := data.Load(paths[i])
		if err != nil {
			return f, nil, fmt.Errorf("sample image: %w", err)
		}
		if im, err = transform(im, i); err != nil {
			return f, nil, fmt.Errorf("sample image %s: %w", paths[i], err)
		}
		if len(kept) == 0 {
			f.shape = [4]int{0, im.C, im.H, im.W}
		} else if [3]int{im.C, im.H, im.W} != [3]int(f.shape[1:]) {
			continue // preprocess none or scale_width: sizes vary
		}
		buf := make([]float32, im.C*im.H*im.W)
		im.Tensor(buf)
		f.x = append(f.x, buf...)
		f.shape[0]++
		kept = append(kept, i)
	}
	return f, kept, nil
}

// loadCycleGANSamples picks the fixed images of a CycleGAN run: from
// DATA/testA and testB when both hold images (else trainA and trainB),
// samplesPerSide of each spread over the sorted files, transformed as for
// training with a crop drawn from a seed of the image's index and no flip.
// a is the generators' G_A input side (B's folder with direction BtoA).
func loadCycleGANSamples(cfg CycleGANConfig) (a, b fixedImages, err error) {
	phase := "test"
	dirs := func(p string) (string, string) {
		da, db := filepath.Join(cfg.Data, p+"A"), filepath.Join(cfg.Data, p+"B")
		if cfg.Direction == "BtoA" {
			da, db = db, da
		}
		return da, db
	}
	da, db := dirs(phase)
	pa, errA := data.ListImages(da, 0)
	pb, errB := data.ListImages(db, 0)
	if errA != nil || errB != nil {
		da, db = dirs("train")
		if pa, err = data.ListImages(da, 0); err != nil {
			return a, b, err
		}
		if pb, err = data.ListImages(db, 0); err != nil {
			return a, b, err
		}
	}
	side := func(paths []string, nc int) (fixedImages, error) {
		t := data.Transform{Preprocess: data.Preprocess(cfg.Preprocess), LoadSize: cfg.LoadSize, CropSize: cfg.CropSize,
			NoFlip: true, Gray: nc == 1}
		f, _, err := loadFixed(paths, evenly(samplesPerSide, len(paths)), func(im *data.Image, i int) (*data.Image, error) {
			return t.Apply(im, sampleRand(i))
		})
		return f, err
	}
	if a, err = side(pa, cfg.InputNC); err != nil {
		return a, b, err
	}
	b, err = side(pb, cfg.OutputNC)
	return a, b, err
}

// sampleRand draws the crop of fixed sample image i.
func sampleRand(i int) *rand.Rand { return rand.New(rand.NewPCG(uint64(i), 0x5a3b1e)) }

// loadStarGANSamples picks starGANSamples images spread over a StarGAN
// training set, center-cropped and resized as for training, not flipped,
// with their labels.
func loadStarGANSamples(ds *data.Labeled, cfg StarGANConfig) (fixedImages, error) {
	t := data.CenterTransform{CropSize: cfg.CropSize, ImageSize: cfg.ImageSize}
	f, kept, err := loadFixed(ds.Paths, evenly(starGANSamples, len(ds.Paths)), func(im *data.Image, _ int) (*data.Image, error) {
		return t.Apply(im, nil), nil
	})
	for _, i := range kept {
		f.label = append(f.label, ds.Labels[i]...)
	}
	return f, err
}

// forwardParams adds to params the current values of the entries of n that
// a forward graph declared through sc, under their graph names.
func forwardParams(params map[string][]float32, n *Net, sc *nn.Scope) {
	for _, e := range n.Reg.Entries {
		if sc.Registry().Node(e.Name) != nil {
			params[n.Prefix()+e.Name] = n.Values[e.Name]
		}
	}
}

// writeSamples writes samples/iter_NNNNNNN.png for the fixed
// images: per A image a row real_A, fake_B, rec_A, idt_B (idt_B = G_B(real_A),
// with identity loss only), per B image real_B, fake_A, rec_B, idt_A, each
// group under its column titles. The generators run in inference mode (as
// exported: batch norm with running statistics, no dropout).
func (r *cycleGANRun) writeSamples(iter int, eo exec.Options) error {
	if err := syncHost(eo); err != nil {
		return err
	}
	a, b := r.samples[0], r.samples[1]
	identity := r.cfg.LambdaIdentity > 0 && r.cfg.InputNC == r.cfg.OutputNC
	var sa, sb *nn.Scope
	g, err := graph.Build(func(g *graph.Graph) {
		ra := g.Input("real_A", graph.Shape{a.shape[0], a.shape[1], a.shape[2], a.shape[3]})
		rb := g.Input("real_B", graph.Shape{b.shape[0], b.shape[1], b.shape[2], b.shape[3]})
		sa, sb = nn.NewScope(g, r.nets.GA.Prefix()), nn.NewScope(g, r.nets.GB.Prefix())
		gA := func(x *graph.Node) *graph.Node { return r.nets.GA.Spec.Forward(sa, x, nil)[0] }
		gB := func(x *graph.Node) *graph.Node { return r.nets.GB.Spec.Forward(sb, x, nil)[0] }
		fakeB, fakeA := gA(ra), gB(rb)
		g.Output("fake_B", fakeB)
		g.Output("rec_A", gB(fakeB))
		g.Output("fake_A", fakeA)
		g.Output("rec_B", gA(fakeA))
		if identity {
			g.Output("idt_B", gB(ra))
			g.Output("idt_A", gA(rb))
		}
	})
	if err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	params := map[string][]float32{}
	forwardParams(params, r.nets.GA, sa)
	forwardParams(params, r.nets.GB, sb)
	eo.Params = params
	fwd, err := exec.Compile(g, eo)
	if err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	defer fwd.Close()
	out, err := fwd.Run(map[string]exec.Tensor{"real_A": {Data: a.x}, "real_B": {Data: b.x}})
	if err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	block := func(real fixedImages, outShape [4]int, names []string) []imagegrid.Row {
		rows := make([]imagegrid.Row, real.shape[0])
		for i := range rows {
			rows[i].Cells = []image.Image{imageAt(real.x, real.shape, i)}
			for k, name := range names[1:] {
				shape := outShape
				if k >= 1 { // reconstruction and identity: the input's domain
					shape = real.shape
				}
				rows[i].Cells = append(rows[i].Cells, imageAt(out[name].Data, shape, i))
			}
		}
		rows[0].Titles = names
		return rows
	}
	namesA, namesB := []string{"real_A", "fake_B", "rec_A"}, []string{"real_B", "fake_A", "rec_B"}
	if identity {
		namesA, namesB = append(namesA, "idt_B"), append(namesB, "idt_A")
	}
	rows := block(a, [4]int{a.shape[0], b.shape[1], a.shape[2], a.shape[3]}, namesA)
	rows = append(rows, block(b, [4]int{b.shape[0], a.shape[1], b.shape[2], b.shape[3]}, namesB)...)
	return writeGrid(filepath.Join(r.cfg.Out, samplesDir, fmt.Sprintf("iter_%07d.png", iter)), rows)
}

// writeSamples translates the fixed images to every grid target with the
// current generator and writes samples/iter_NNNNNNN.png: one row per
// image, the input followed by one column per target, under titles that
// name the targets (an exclusive entry set, another flipped, or the
// domain of single-label data).
func (r *starGANRun) writeSamples(iter int, eo exec.Options) error {
	f := r.samples
	n, c := f.shape[0], r.cfg.CDim
	rows := make([]imagegrid.Row, n)
	targets := make([][][]float32, n)
	for i := range n {
		rows[i].Cells = []image.Image{imageAt(f.x, f.shape, i)}
		targets[i] = models.GridTargets(f.label[i*c:(i+1)*c], r.names, r.gen.Spec.Exclusive, r.single)
	}
	rows[0].Titles = append([]string{"input"}, starGANTitles(r.names, r.gen.Spec.Exclusive, r.single)...)
	fwd, err := r.sampler(f.shape, eo)
	if err != nil {
		return err
	}
	defer fwd.Close()
	for k := range c {
		lbl := make([]float32, n*c)
		for i := range n {
			copy(lbl[i*c:], targets[i][k])
		}
		out, err := fwd.Run(map[string]exec.Tensor{"x_real": {Data: f.x}, "c_trg": {Data: lbl}})
		if err != nil {
			return err
		}
		for i := range n {
			rows[i].Cells = append(rows[i].Cells, imageAt(out["x_fake"].Data, f.shape, i))
		}
	}
	return writeGrid(filepath.Join(r.cfg.Out, samplesDir, fmt.Sprintf("iter_%07d.png", iter)), rows)
}

// starGANTitles names the columns of models.GridTargets: the domain for
// single-label data; for multi-label data the entry for one of the
// exclusive group, "flip NAME" for the others.
func starGANTitles(names, exclusive []string, single bool) []string {
	titles := make([]string, len(names))
	for i, n := range names {
		titles[i] = "flip " + n
		if single {
			titles[i] = n
		}
		for _, e := range exclusive {
			if e == n {
				titles[i] = n
			}
		}
	}
	return titles
}

// imageAt converts image i of a batch [N, C, H, W] in [-1, 1] to 8-bit RGB.
func imageAt(batch []float32, shape [4]int, i int) *image.RGBA {
	per := shape[1] * shape[2] * shape[3]
	return toRGBA(batch[i*per:(i+1)*per], shape[1], shape[2], shape[3])
}

// toRGBA converts one image [3,h,w] (or [1,h,w]) in [-1,1] to 8-bit RGB by
// (y+1)*127.5, rounded and clamped.
func toRGBA(chw []float32, c, h, w int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			for k := range 3 {
				src := k
				if c == 1 {
					src = 0
				}
				v := (float64(chw[src*plane+y*w+x]) + 1) * 127.5
				row[4*x+k] = uint8(math.Max(0, math.Min(255, math.Round(v))))
			}
			row[4*x+3] = 255
		}
	}
	return img
}

// writeGrid writes rows (see imagegrid.Compose) as a PNG, atomically,
// creating the folder if needed.
func writeGrid(path string, rows []imagegrid.Row) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	grid := imagegrid.Compose(rows)
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, grid) })
}
