package runtime

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/train/data"
)

// Session options passed through to ONNX Runtime.
type (
	// GraphOptLevel is how much ORT rewrites the graph (GraphOptDefault:
	// everything).
	GraphOptLevel = ort.GraphOptLevel
	// CUDAOptions configures the CUDA provider (cuDNN algorithm search,
	// extra provider options).
	CUDAOptions = ort.CUDAOptions
	// TensorRTOptions configures the TensorRT provider (fp16, engine cache
	// folder, extra provider options).
	TensorRTOptions = ort.TensorRTOptions
	// ConvAlgoSearch is the cuDNN convolution algorithm search.
	ConvAlgoSearch = ort.ConvAlgoSearch
)

// Graph optimization levels and cuDNN algorithm searches.
const (
	GraphOptDefault    = ort.GraphOptDefault
	GraphOptDisabled   = ort.GraphOptDisabled
	GraphOptBasic      = ort.GraphOptBasic
	GraphOptExtended   = ort.GraphOptExtended
	GraphOptAll        = ort.GraphOptAll
	ConvAlgoExhaustive = ort.ConvAlgoExhaustive
	ConvAlgoHeuristic  = ort.ConvAlgoHeuristic
	ConvAlgoDefault    = ort.ConvAlgoDefault
)

// Options configures Open. The zero value runs at full resolution on the
// CPU with ORT's defaults.
type Options struct {
	// Device is cpu (""), cuda[:N], tensorrt[:N] or auto (CUDA when it
	// works, else the CPU with the reason logged and in Info).
	Device string
	// Library is the ONNX Runtime shared library to load; "" searches (see
	// internal/ort.FindLibraryFor: $ONNXRUNTIME_SHARED_LIBRARY_PATH, a
	// library installed with the executable, .ort-gpu/ and .ort/ from `make
	// ort-gpu` and `make ort`, the system loader; GPU installs first for a
	// GPU device).
	Library string
	// CUDAPlugin is the CUDA plugin execution provider to register for
	// cuda devices when the library has no CUDA built in; "" searches
	// ($GANRT_CUDA_PLUGIN, then beside the library).
	CUDAPlugin string
	// IntraOpThreads is the number of threads one ORT operator may use (0:
	// one per physical core); InterOpThreads likewise between operators.
	IntraOpThreads, InterOpThreads int
	// GraphOptLevel is ORT's graph optimization level.
	GraphOptLevel GraphOptLevel
	// CUDA and TensorRT configure those providers.
	CUDA     CUDAOptions
	TensorRT TensorRTOptions
	// Size, when positive, resizes every image to Size x Size (PIL's bicubic,
	// aspect ratio not kept) as the CycleGAN reference does at test time;
	// 0 keeps full resolution (pad to the model's multiple, crop back).
	Size int
	// BatchSize is the most images one ORT run takes in TranslateBatch and
	// TranslateGrid (0: all of them at once). A model exported with a fixed
	// batch runs exactly that many, padding short batches.
	BatchSize int
	// MaxPixels bounds the pixels of an image Translate accepts, and of
	// files DecodeFile reads (0: DefaultMaxPixels; negative: no limit). It
	// applies to the image as decoded, as resized (Size, or sides fixed by
	// the model) and as padded to the model's multiple; a model whose batch
	// is fixed at export runs every slot, so there the padded pixels of all
	// its slots count. Open refuses a model whose fixed sizes (or Size) are
	// over the limit.
	MaxPixels int64
	// Labels is how StarGAN targets are built (LabelAuto: guessed from the
	// label names).
	Labels LabelMode
	// OnBatch, when not nil, is called after each ORT run with its timings
	// (from the goroutine that ran it; it must be safe for concurrent use
	// when the Translator is used concurrently).
	OnBatch func(BatchStats)
	// Logger receives warnings (device auto falling back to the CPU).
	Logger *slog.Logger
}

// BatchStats are the timings of one ORT run and the work around it.
type BatchStats struct {
	// Images is the number of images in the run (a fixed-batch model may
	// have run more slots).
	Images int
	// Width and Height are the padded input size of the run.
	Width, Height int
	// Preprocess is the time spent normalizing and padding into the input
	// tensor (resizing happens before, in Fit); Run the time inside ORT's
	// Run; Postprocess the time cropping and denormalizing into images.
	Preprocess, Run, Postprocess time.Duration
}

// Translator runs one exported generator on images. It is safe for
// concurrent use (see the package documentation).
type Translator struct {
	sess   *ort.Session
	info   Info
	io     modelIO
	labels *labelSet // nil for CycleGAN
	opts   Options
	// minSide is the smallest padded side the network takes: a ResNet
	// generator reflection-pads its 1/4-size bottleneck by 1, which needs 2
	// samples there.
	minSide int

	mu   sync.Mutex
	free []*workspace // buffers for reuse, at most maxFree
}

// workspace holds the float32 buffers of one ORT run.
type workspace struct {
	in, out, label []float32
	rgb            []float32 // RGB planes of one image, for 1-channel models
}

// Open loads the ganrt generator in modelPath (an ONNX file written by
// `ganrt convert` or `ganrt export`) and prepares it to run on o.Device.
// It fails, naming the file and what is missing, for an ONNX file that is
// not a ganrt generator. The caller calls Close when done.
func Open(modelPath string, o Options) (*Translator, error) {
	model, err := os.ReadFile(modelPath)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return OpenModel(modelPath, model, o)
}

// OpenModel is Open for an ONNX model already in memory (an export done in
// memory); modelPath names it in Info and in errors, and external data is
// read from its folder only.
func OpenModel(modelPath string, model []byte, o Options) (*Translator, error) {
	dev, err := ort.ParseDevice(o.Device)
	if o.Device == "" {
		dev, err = ort.Device{Kind: ort.KindCPU}, nil
	}
	if err != nil {
		return nil, err
	}
	if o.Size < 0 || o.BatchSize < 0 {
		return nil, fmt.Errorf("negative size %d or batch size %d", o.Size, o.BatchSize)
	}
	if o.Size > MaxSide {
		return nil, fmt.Errorf("size %d: at most %d", o.Size, MaxSide)
	}
	if err := ort.InitWith(ort.Libraries{Core: o.Library, CUDAPlugin: o.CUDAPlugin, GPU: dev.Kind != ort.KindCPU}); err != nil {
		return nil, err
	}
	sess, err := ort.NewSession(model, ort.SessionOptions{
		Device:         dev,
		IntraOpThreads: o.IntraOpThreads,
		InterOpThreads: o.InterOpThreads,
		GraphOptLevel:  o.GraphOptLevel,
		CUDA:           o.CUDA,
		TensorRT:       o.TensorRT,
		// Each pooled workspace needs up to 3 wrappers per image shape; a
		// small cache also bounds how long outgrown buffers stay alive.
		TensorCacheSize: 4 * maxFree,
		Logger:          o.Logger,
		ModelDir:        filepath.Dir(modelPath),
	})
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", modelPath, err)
	}
	info, mio, err := readModel(modelPath, sess, o.Labels)
	if err != nil {
		sess.Close()
		return nil, err
	}
	info.Device, info.Provider, info.FallbackReason = sess.Device().String(), sess.Provider(), sess.FallbackReason()
	if o.Size > 0 && ((info.Height > 0 && info.Height != o.Size) || (info.Width > 0 && info.Width != o.Size)) {
		sess.Close()
		return nil, fmt.Errorf("%s: the model takes %dx%d images (fixed at export); size %d does not fit", modelPath, info.Width, info.Height, o.Size)
	}
	t := &Translator{sess: sess, info: info, io: mio, opts: o, minSide: info.Multiple}
	if info.Spec.Kind == models.CycleGANGenerator && strings.HasPrefix(info.Spec.NetG, "resnet") {
		t.minSide = 2 * info.Multiple
	}
	if err := t.checkFixedSizes(); err != nil {
		sess.Close()
		return nil, fmt.Errorf("%s: %w", modelPath, err)
	}
	if info.StarGAN() {
		t.labels = newLabelSet(info.Spec.CDim, info.Domains, info.LabelMode)
	}
	return t, nil
}

// Close waits for translations in flight and frees the ORT session. Later
// calls fail; Close itself may be called again.
func (t *Translator) Close() error {
	err := t.sess.Close()
	t.mu.Lock()
	t.free = nil
	t.mu.Unlock()
	return err
}

// Info describes the model and the device it runs on.
func (t *Translator) Info() Info {
	i := t.info
	i.Domains = append([]string(nil), i.Domains...)
	i.Spec.Domains = append([]string(nil), i.Spec.Domains...)
	return i
}

// MaxPixels returns the pixel limit in force (Options.MaxPixels with 0
// resolved; negative: none).
func (t *Translator) MaxPixels() int64 {
	if t.opts.MaxPixels == 0 {
		return DefaultMaxPixels
	}
	return t.opts.MaxPixels
}

// DecodeFile decodes an image file under the Translator's pixel limit (see
// the package-level DecodeFile).
func (t *Translator) DecodeFile(path string) (image.Image, error) {
	return DecodeFile(path, t.MaxPixels())
}

// OutputSize returns the size of the image Translate makes from an image of
// size w x h: w x h at full resolution, else Size x Size; a side fixed at
// export overrides either.
func (t *Translator) OutputSize(w, h int) (int, int) {
	if t.opts.Size > 0 {
		w, h = t.opts.Size, t.opts.Size
	}
	if t.info.Width > 0 {
		w = t.info.Width
	}
	if t.info.Height > 0 {
		h = t.info.Height
	}
	return w, h
}

// Fit returns img as the model will see it: resized to OutputSize as the
// references' PIL does (convert("RGB"), then resize with BICUBIC, to the
// bit: the training loader's resizer), or img itself when it already has
// that size. Translate calls it; calling it earlier, in another goroutine,
// moves the resize out of the Translate call. An image that the pixel limit
// refuses (as decoded, resized or padded) is returned as it is, for
// Translate to refuse.
func (t *Translator) Fit(img image.Image) image.Image {
	b := img.Bounds()
	w, h := t.OutputSize(b.Dx(), b.Dy())
	if w == b.Dx() && h == b.Dy() {
		return img
	}
	if _, err := t.checkSize(b.Dx(), b.Dy()); err != nil {
		return img
	}
	return data.Resize(data.FromImage(img), w, h, data.Bicubic).RGBA()
}

// Translate translates one image. label is the StarGAN label (see Target;
// it must be nil for CycleGAN). The result is a new opaque image of
// OutputSize.
func (t *Translator) Translate(ctx context.Context, img image.Image, label []float32) (*image.RGBA, error) {
	var labels [][]float32
	if label != nil {
		labels = [][]float32{label}
	}
	out, err := t.TranslateBatch(ctx, []image.Image{img}, labels)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ErrSizeMismatch is wrapped by TranslateBatch's error when the images do
// not all have the same size after Fit.
var ErrSizeMismatch = errors.New("images in a batch must have the same size")

// TranslateBatch translates images of the same size (after Fit) in batches
// of Options.BatchSize per ORT run. labels holds one StarGAN label per image,
// or one for all of them; it must be nil for CycleGAN. The results are new
// images, in order.
func (t *Translator) TranslateBatch(ctx context.Context, imgs []image.Image, labels [][]float32) ([]*image.RGBA, error) {
	return t.translateBatch(ctx, imgs, labels, t.opts.OnBatch)
}

// translateBatch is TranslateBatch reporting timings to observe (may be
// nil).
func (t *Translator) translateBatch(ctx context.Context, imgs []image.Image, labels [][]float32, observe func(BatchStats)) ([]*image.RGBA, error) {
	if len(imgs) == 0 {
		return nil, nil
	}
	if err := t.checkLabels(labels, len(imgs)); err != nil {
		return nil, err
	}
	fitted := make([]image.Image, len(imgs))
	for i, img := range imgs {
		if err := t.checkPixels(img); err != nil {
			return nil, err
		}
		fitted[i] = t.Fit(img)
		if i > 0 && fitted[i].Bounds().Size() != fitted[0].Bounds().Size() {
			return nil, fmt.Errorf("%w: image %d is %v, image 0 is %v", ErrSizeMismatch, i, fitted[i].Bounds().Size(), fitted[0].Bounds().Size())
		}
	}
	sz := fitted[0].Bounds().Size()
	f, err := t.checkSize(sz.X, sz.Y)
	if err != nil {
		return nil, err
	}
	outs := make([]*image.RGBA, len(imgs))
	err = t.run(ctx, f, len(imgs),
		func(i int, in []float32, ws *workspace) { t.fill(in, ws, fitted[i], f) },
		func(i int) []float32 { return pick(labels, i) },
		func(i int, out []float32) {
			outs[i] = image.NewRGBA(image.Rect(0, 0, f.w, f.h))
			t.denorm(outs[i], out, f)
		}, observe)
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// TranslateGrid translates img once per label and returns the reference's
// test grid: the input (after Fit) followed by one column per label, left
// to right. It needs a StarGAN model; AllTargets gives the reference's
// labels.
func (t *Translator) TranslateGrid(ctx context.Context, img image.Image, labels [][]float32) (*image.RGBA, error) {
	if t.labels == nil {
		return nil, errors.New("a grid of targets needs a StarGAN model; this is a CycleGAN generator")
	}
	if len(labels) == 0 {
		return nil, errors.New("grid: no target labels")
	}
	if err := t.checkLabels(labels, len(labels)); err != nil {
		return nil, err
	}
	if err := t.checkPixels(img); err != nil {
		return nil, err
	}
	img = t.Fit(img)
	sz := img.Bounds().Size()
	f, err := t.checkSize(sz.X, sz.Y)
	if err != nil {
		return nil, err
	}
	grid := image.NewRGBA(image.Rect(0, 0, sz.X*(1+len(labels)), sz.Y))
	column := func(j int) *image.RGBA {
		return grid.SubImage(image.Rect(j*sz.X, 0, (j+1)*sz.X, sz.Y)).(*image.RGBA)
	}
	var first []float32 // the normalized input, filled once and copied
	err = t.run(ctx, f, len(labels),
		func(i int, in []float32, ws *workspace) {
			if first == nil {
				t.fill(in, ws, img, f)
				first = append([]float32(nil), in...)
				t.denormInput(column(0), first, f)
				return
			}
			copy(in, first)
		},
		func(i int) []float32 { return labels[i] },
		func(i int, out []float32) { t.denorm(column(1+i), out, f) }, t.opts.OnBatch)
	if err != nil {
		return nil, err
	}
	return grid, nil
}

func pick(labels [][]float32, i int) []float32 {
	switch len(labels) {
	case 0:
		return nil
	case 1:
		return labels[0]
	}
	return labels[i]
}

func (t *Translator) checkLabels(labels [][]float32, n int) error {
	if t.labels == nil {
		if len(labels) > 0 {
			return errors.New("a CycleGAN generator takes no label")
		}
		return nil
	}
	if len(labels) != 1 && len(labels) != n {
		return fmt.Errorf("StarGAN needs one label per image or one for all: got %d labels for %d images", len(labels), n)
	}
	for _, l := range labels {
		if len(l) != t.info.Spec.CDim {
			return fmt.Errorf("StarGAN label has %d entries; the model takes %d (%v)", len(l), t.info.Spec.CDim, t.info.Domains)
		}
		for i, v := range l {
			if err := checkLabelValue(t.info.Domains[i], float64(v)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Translator) checkPixels(img image.Image) error {
	b := img.Bounds()
	if b.Empty() {
		return errors.New("image has no pixels")
	}
	_, err := t.checkSize(b.Dx(), b.Dy())
	return err
}

// maxRunElements bounds the float32 elements of one image tensor of a run
// even without a pixel limit, so that sizes cannot overflow.
const maxRunElements = 1 << 40

// checkSize checks an input image of w x h pixels against the pixel limit
// three times: as decoded, as resized by Fit (OutputSize), and as padded to
// the model's multiple, the plane every run computes; for a model whose
// batch is fixed at export, the padded pixels of all its slots count, since
// every slot runs. It returns the padded frame.
func (t *Translator) checkSize(w, h int) (frame, error) {
	limit := t.MaxPixels()
	if err := checkPixels(w, h, limit); err != nil {
		return frame{}, err
	}
	ow, oh := t.OutputSize(w, h)
	if ow != w || oh != h {
		if err := checkPixels(ow, oh, limit); err != nil {
			return frame{}, fmt.Errorf("resized from %dx%d: %w", w, h, err)
		}
	}
	if int64(ow)*int64(oh) > maxRunElements {
		return frame{}, fmt.Errorf("%w: %dx%d is %d pixels", ErrPixelLimit, ow, oh, int64(ow)*int64(oh))
	}
	f := newFrame(ow, oh, t.info.Multiple, t.minSide)
	slots := int64(max(t.info.Batch, 1))
	padded := slots * int64(f.pw) * int64(f.ph)
	if padded*int64(max(t.info.InputChannels, t.info.OutputChannels)) > maxRunElements {
		return frame{}, fmt.Errorf("%w: %dx%d padded to %dx%d, %d slots", ErrPixelLimit, ow, oh, f.pw, f.ph, slots)
	}
	if limit > 0 && padded > limit {
		if slots > 1 {
			return frame{}, fmt.Errorf("%w: %dx%d padded to %dx%d (multiples of %d) in each of the %d slots of the model's fixed batch is %d pixels, limit %d",
				ErrPixelLimit, ow, oh, f.pw, f.ph, t.info.Multiple, slots, padded, limit)
		}
		return frame{}, fmt.Errorf("%w: %dx%d padded to %dx%d (multiples of %d, at least %d) is %d pixels, limit %d",
			ErrPixelLimit, ow, oh, f.pw, f.ph, t.info.Multiple, t.minSide, padded, limit)
	}
	return f, nil
}

// checkFixedSizes checks the sizes fixed by the model or by Options.Size
// against the pixel limit, when the Translator is opened: a model whose
// fixed input is over the limit takes no image at all.
func (t *Translator) checkFixedSizes() error {
	limit := t.MaxPixels()
	w, h := t.OutputSize(0, 0)
	if limit <= 0 || w == 0 || h == 0 {
		return nil
	}
	f := newFrame(w, h, t.info.Multiple, t.minSide)
	slots := int64(max(t.info.Batch, 1))
	if px := slots * int64(f.pw) * int64(f.ph); px > limit {
		what := fmt.Sprintf("the model's input is fixed at %dx%d", t.info.Width, t.info.Height)
		if t.info.Width == 0 || t.info.Height == 0 {
			what = fmt.Sprintf("size %d makes %dx%d images", t.opts.Size, w, h)
		}
		if slots > 1 {
			what += fmt.Sprintf(" in a batch fixed at %d", slots)
		}
		return fmt.Errorf("%w: %s, %d pixels (padded to %dx%d), limit %d", ErrPixelLimit, what, px, f.pw, f.ph, limit)
	}
	return nil
}

// fill normalizes img (frame f) into in, the input planes of one image.
func (t *Translator) fill(in []float32, ws *workspace, img image.Image, f frame) {
	p := f.plane()
	if t.info.InputChannels == 3 {
		r, g, b := in[:p], in[p:2*p], in[2*p:3*p]
		fillRGB(r, g, b, img, f)
		pad(r, f)
		pad(g, f)
		pad(b, f)
		return
	}
	if cap(ws.rgb) < 3*p {
		ws.rgb = make([]float32, 3*p)
	}
	rgb := ws.rgb[:3*p]
	fillRGB(rgb[:p], rgb[p:2*p], rgb[2*p:], img, f)
	toGray(in[:p], rgb[:p], rgb[p:2*p], rgb[2*p:], f)
	pad(in[:p], f)
}

// denorm writes output planes out (frame f) into dst.
func (t *Translator) denorm(dst *image.RGBA, out []float32, f frame) {
	p := f.plane()
	if t.info.OutputChannels == 1 {
		denormRGBA(dst, out[:p], out[:p], out[:p], f)
		return
	}
	denormRGBA(dst, out[:p], out[p:2*p], out[2*p:3*p], f)
}

// denormInput writes input planes in (frame f) into dst.
func (t *Translator) denormInput(dst *image.RGBA, in []float32, f frame) {
	p := f.plane()
	if t.info.InputChannels == 1 {
		denormRGBA(dst, in[:p], in[:p], in[:p], f)
		return
	}
	denormRGBA(dst, in[:p], in[p:2*p], in[2*p:3*p], f)
}

// maxFree bounds the workspaces kept for reuse.
var maxFree = 2*goruntime.GOMAXPROCS(0) + 2

// getWorkspace returns a workspace from the pool, or a new one.
func (t *Translator) getWorkspace() *workspace {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.free); n > 0 {
		ws := t.free[n-1]
		t.free = t.free[:n-1]
		return ws
	}
	return &workspace{}
}

func (t *Translator) putWorkspace(ws *workspace) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.free) < maxFree {
		t.free = append(t.free, ws)
	}
}

// grow returns buf resliced to n elements, reallocated (with headroom, so
// that growth is rare: ORT keeps a wrapper per buffer) when too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		buf = make([]float32, n, n+n/4)
	}
	return buf[:n]
}

// run translates n images of frame f in ORT runs of at most the batch size:
// fill(i, in, ws) writes image i's input planes, label(i) gives its label,
// emit(i, out) reads its output planes (valid only during the call);
// observe, when not nil, gets each run's timings.
func (t *Translator) run(ctx context.Context, f frame, n int,
	fill func(i int, in []float32, ws *workspace), label func(i int) []float32, emit func(i int, out []float32),
	observe func(BatchStats)) error {
	chunk := t.opts.BatchSize
	if t.info.Batch > 0 {
		chunk = t.info.Batch
	}
	if chunk <= 0 || chunk > n {
		chunk = n
	}
	ws := t.getWorkspace()
	defer t.putWorkspace(ws)
	p := f.plane()
	inC, outC := t.info.InputChannels, t.info.OutputChannels
	for start := 0; start < n; start += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(chunk, n-start) // images in this run
		slots := m
		if t.info.Batch > 0 {
			slots = t.info.Batch
		}
		t0 := time.Now()
		ws.in = grow(ws.in, slots*inC*p)
		ws.out = grow(ws.out, slots*outC*p)
		for i := range m {
			fill(start+i, ws.in[i*inC*p:(i+1)*inC*p], ws)
		}
		clear(ws.in[m*inC*p:])
		inputs := make([]ort.Tensor, t.io.nInputs)
		inputs[t.io.image] = ort.Tensor{Shape: []int64{int64(slots), int64(inC), int64(f.ph), int64(f.pw)}, Data: ws.in}
		if t.labels != nil {
			c := t.info.Spec.CDim
			ws.label = grow(ws.label, slots*c)
			clear(ws.label)
			for i := range m {
				copy(ws.label[i*c:(i+1)*c], label(start+i))
			}
			inputs[t.io.label] = ort.Tensor{Shape: []int64{int64(slots), int64(c)}, Data: ws.label}
		}
		output := ort.Tensor{Shape: []int64{int64(slots), int64(outC), int64(f.ph), int64(f.pw)}, Data: ws.out}
		t1 := time.Now()
		if err := t.sess.RunContext(ctx, inputs, []ort.Tensor{output}); err != nil {
			return fmt.Errorf("%s: %w", t.info.Path, err)
		}
		t2 := time.Now()
		for i := range m {
			emit(start+i, ws.out[i*outC*p:(i+1)*outC*p])
		}
		if observe != nil {
			observe(BatchStats{Images: m, Width: f.pw, Height: f.ph,
				Preprocess: t1.Sub(t0), Run: t2.Sub(t1), Postprocess: time.Since(t2)})
		}
	}
	return nil
}

// Target builds a StarGAN target label: target is a name ("Blond_Hair")
// or a list of name=value pairs ("Male=0,Young=1"); source is the label of
// the input image that the target starts from (nil: all zeros; see
// ParseSource). Multi-label: naming a hair colour also sets the other hair
// colours to 0; other entries keep the source's values. Single-label: the
// one-hot vector of the named domain. Unknown names are an error that lists
// the valid ones.
func (t *Translator) Target(target string, source []float32) ([]float32, error) {
	if t.labels == nil {
		return nil, errors.New("a CycleGAN generator takes no target")
	}
	return t.labels.target(target, source)
}

// ParseSource parses the label of the input images for a multi-label
// model: "Male=1,Young=0" (bare names mean 1; unnamed entries are 0). ""
// is all zeros.
func (t *Translator) ParseSource(source string) ([]float32, error) {
	if t.labels == nil {
		return nil, errors.New("a CycleGAN generator takes no source label")
	}
	return t.labels.source(source)
}

// AllTargets returns the reference's grid labels for source (nil: zeros),
// one per label entry, in the order of Info().Domains: multi-label sets a
// hair colour (the others to 0) or flips another attribute; single-label is
// one-hot.
func (t *Translator) AllTargets(source []float32) ([][]float32, error) {
	if t.labels == nil {
		return nil, errors.New("a CycleGAN generator takes no target")
	}
	return t.labels.all(source)
}
