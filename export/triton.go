package export

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ganrt/ganrt/internal/atomicfile"
	"github.com/ganrt/ganrt/models"
)

// Defaults of TritonOptions' zero values.
const (
	DefaultTritonMaxBatch   = 8
	DefaultTritonQueueDelay = 2 * time.Millisecond
)

// TritonOptions configures a Triton Inference Server model repository
// export. Zero values take the defaults.
type TritonOptions struct {
	// Name is the model's name and folder in the repository (default:
	// TritonName).
	Name string
	// Version is the model version, a folder of the model's (default 1).
	Version int
	// Overwrite allows replacing an existing version's model.onnx and a
	// config.pbtxt that differs from this export's; without it both are
	// refused.
	Overwrite bool
	// MaxBatch is the config's max_batch_size, the most requests Triton
	// batches into one run (default DefaultTritonMaxBatch).
	MaxBatch int
	// PreferredBatch are the dynamic batcher's preferred batch sizes
	// (default: MaxBatch/2 and MaxBatch when MaxBatch >= 4 is even, else
	// MaxBatch).
	PreferredBatch []int
	// QueueDelay is how long the dynamic batcher holds a request for others
	// (max_queue_delay_microseconds; default DefaultTritonQueueDelay;
	// negative: 0).
	QueueDelay time.Duration
	// ONNX are the model's export options. Batch must be 0: Triton batches
	// along a dynamic first dimension. A fixed Height and Width give fixed
	// dims in the config.
	ONNX ONNXOptions
}

// trainingCheckpoint matches the file names (without extension) that the
// trainers and the references give checkpoints: {latest|EPOCH}_net_NET and
// {ITER}-G. They name the network's role, not the model.
var trainingCheckpoint = regexp.MustCompile(`^(?:(?:latest|[0-9]+)_net_(.+)|[0-9]+-G)$`)

// TritonName returns the default model name for a checkpoint at path
// holding spec: the file name without its extension, except for a training
// checkpoint's name (latest_net_G_A, 200000-G), which gives way to the run's:
// the name of the folder holding it (the one above for the StarGAN
// reference's RUN/models/), with the network's role for CycleGAN
// (horse2zebra_G_A), or, where there is no such folder, the spec's
// (cyclegan_resnet_9blocks_G_A, stargan). Characters other than letters,
// digits, '-', '_' and '.' become '_'.
func TritonName(path string, spec models.Spec) string {
	base := filepath.Base(path)
	base = strings.TrimSuffix(base, filepath.Ext(base))
	if m := trainingCheckpoint.FindStringSubmatch(base); m != nil {
		base = specName(spec)
		if abs, err := filepath.Abs(path); err == nil {
			dir := filepath.Dir(abs)
			if filepath.Base(dir) == "models" {
				dir = filepath.Dir(dir)
			}
			if run := filepath.Base(dir); run != string(filepath.Separator) && run != "." {
				base = run
			}
		}
		if m[1] != "" {
			base += "_" + m[1]
		}
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, base)
}

// specName names a model by its network: cyclegan_NETG or stargan.
func specName(s models.Spec) string {
	if s.Kind == models.CycleGANGenerator {
		return "cyclegan_" + s.NetG
	}
	return "stargan"
}

// withDefaults fills in o's defaults for model m and checks it.
func (o TritonOptions) withDefaults(m *Model) (TritonOptions, error) {
	if o.Name == "" {
		o.Name = TritonName(m.Path, m.Spec)
	}
	if o.Version == 0 {
		o.Version = 1
	}
	if o.Version < 1 {
		return o, fmt.Errorf("triton model version %d: need 1 or more", o.Version)
	}
	if o.Name == "" || o.Name == "." || o.Name == ".." || strings.ContainsAny(o.Name, `/\"`) {
		return o, fmt.Errorf("triton model name %q: need a plain folder name (no slashes or quotes)", o.Name)
	}
	if o.ONNX.TrainModeNorm {
		return o, fmt.Errorf("train-mode norm fixes the batch at 1, but a Triton repository needs a dynamic batch dimension (it batches requests along it)")
	}
	if o.ONNX.Batch != 0 {
		return o, fmt.Errorf("a Triton repository needs a dynamic batch dimension (it batches requests along it), but the batch is fixed at %d; export with batch 0 for a Triton repository", o.ONNX.Batch)
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultTritonMaxBatch
	}
	if o.MaxBatch < 1 {
		return o, fmt.Errorf("triton max batch size %d: need 1 or more", o.MaxBatch)
	}
	if o.PreferredBatch == nil {
		o.PreferredBatch = []int{o.MaxBatch}
		if o.MaxBatch >= 4 && o.MaxBatch%2 == 0 {
			o.PreferredBatch = []int{o.MaxBatch / 2, o.MaxBatch}
		}
	}
	for i, b := range o.PreferredBatch {
		if b < 1 || b > o.MaxBatch || (i > 0 && b <= o.PreferredBatch[i-1]) {
			return o, fmt.Errorf("triton preferred batch sizes %v: need increasing sizes in 1..%d", o.PreferredBatch, o.MaxBatch)
		}
	}
	if o.QueueDelay == 0 {
		o.QueueDelay = DefaultTritonQueueDelay
	}
	o.QueueDelay = max(o.QueueDelay, 0)
	return o, nil
}

// TritonConfig returns the config.pbtxt of model m for Triton's ONNX
// Runtime backend (platform "onnxruntime_onnx"): the inputs "image" [C,H,W]
// (and StarGAN's "label" [c_dim]) and output "output" [C,H,W] as TYPE_FP32,
// H and W -1 unless fixed, the batch dimension implied by max_batch_size,
// dynamic batching, and one CPU instance (a comment says how to use a GPU).
// The text is deterministic.
func TritonConfig(m *Model, o TritonOptions) (string, error) {
	o, err := o.withDefaults(m)
	if err != nil {
		return "", err
	}
	s := m.Spec
	if !s.IsGenerator() {
		return "", fmt.Errorf("%s: a Triton repository needs a generator, this is a %s", m.Path, s)
	}
	for _, v := range []int{o.ONNX.Height, o.ONNX.Width} {
		if v < 0 || v%s.Multiple() != 0 {
			return "", fmt.Errorf("fixed image size %dx%d: sides must be positive multiples of %d", o.ONNX.Height, o.ONNX.Width, s.Multiple())
		}
	}
	inC, outC := s.InputNCOrRGB(), 3
	if s.Kind == models.CycleGANGenerator {
		outC = s.OutputNC
	}
	side := func(v int) int {
		if v == 0 {
			return -1
		}
		return v
	}
	h, w := side(o.ONNX.Height), side(o.ONNX.Width)

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Triton Inference Server model configuration, written by `ganrt export --triton`.")
	p("# %s.", s)
	p("# Pixels are RGB float32 in [-1,1]: x/127.5 - 1 in, (y+1)*127.5 out.")
	if h < 0 || w < 0 {
		p("# Height and width: multiples of %d (pad others by reflection, crop the output back).", s.Multiple())
	}
	if s.Kind == models.StarGANGenerator {
		if len(s.Domains) > 0 {
			p("# label: one float per entry, in this order: %s.", strings.Join(s.Domains, ", "))
		} else {
			p("# label: one float per entry (%d entries).", s.CDim)
		}
	}
	p("name: %q", o.Name)
	p(`platform: "onnxruntime_onnx"`)
	p("max_batch_size: %d", o.MaxBatch)
	type tensor struct {
		name string
		dims []int
	}
	tensors := func(field string, ts []tensor) {
		p("%s [", field)
		for i, t := range ts {
			dims := make([]string, len(t.dims))
			for j, d := range t.dims {
				dims[j] = strconv.Itoa(d)
			}
			p("  {")
			p("    name: %q", t.name)
			p("    data_type: TYPE_FP32")
			p("    dims: [ %s ]", strings.Join(dims, ", "))
			if i < len(ts)-1 {
				p("  },")
			} else {
				p("  }")
			}
		}
		p("]")
	}
	inputs := []tensor{{InputImage, []int{inC, h, w}}}
	if s.Kind == models.StarGANGenerator {
		inputs = append(inputs, tensor{InputLabel, []int{s.CDim}})
	}
	tensors("input", inputs)
	tensors("output", []tensor{{OutputImage, []int{outC, h, w}}})
	pref := make([]string, len(o.PreferredBatch))
	for i, v := range o.PreferredBatch {
		pref[i] = strconv.Itoa(v)
	}
	p("dynamic_batching {")
	p("  preferred_batch_size: [ %s ]", strings.Join(pref, ", "))
	p("  max_queue_delay_microseconds: %d", o.QueueDelay.Microseconds())
	p("}")
	p("instance_group [")
	p("  {")
	p("    count: 1")
	p("    # To run on GPUs (ONNX Runtime's CUDA provider), use kind: KIND_GPU and")
	p("    # optionally gpus: [ 0 ] to pick devices; count is then per GPU.")
	p("    kind: KIND_CPU")
	p("  }")
	p("]")
	return b.String(), nil
}

// WriteTriton writes a Triton model repository entry for m under dir:
// dir/NAME/VERSION/model.onnx (the same bytes as ONNX with o.ONNX) and
// dir/NAME/config.pbtxt (TritonConfig), each atomically, the model first so
// that a Triton polling the repository never sees a config without its
// model. Unless o.Overwrite, an existing version is refused, and so is a
// config.pbtxt other than this export's (it serves every version of the
// model); other versions are kept. It returns the model's folder.
func WriteTriton(m *Model, dir string, o TritonOptions) (string, error) {
	o, err := o.withDefaults(m)
	if err != nil {
		return "", err
	}
	config, err := TritonConfig(m, o)
	if err != nil {
		return "", err
	}
	model, err := ONNX(m, o.ONNX)
	if err != nil {
		return "", err
	}
	root := filepath.Join(dir, o.Name)
	version := filepath.Join(root, strconv.Itoa(o.Version))
	if !o.Overwrite {
		if _, err := os.Stat(filepath.Join(version, "model.onnx")); err == nil {
			return "", fmt.Errorf("triton model %s already has version %d (%s): give another --model-version, or --overwrite to replace it", o.Name, o.Version, version)
		}
		if old, err := os.ReadFile(filepath.Join(root, "config.pbtxt")); err == nil && string(old) != config {
			return "", fmt.Errorf("%s differs from this export's and serves every version of model %s: export under another --triton-name, or --overwrite to replace it", filepath.Join(root, "config.pbtxt"), o.Name)
		}
	}
	if err := os.MkdirAll(version, 0o755); err != nil {
		return "", fmt.Errorf("triton repository: %w", err)
	}
	if err := atomicfile.CheckNotInput(filepath.Join(version, "model.onnx"), m.Path); err != nil {
		return "", err
	}
	if err := atomicfile.WriteBytes(filepath.Join(version, "model.onnx"), model); err != nil {
		return "", err
	}
	if err := atomicfile.WriteBytes(filepath.Join(root, "config.pbtxt"), []byte(config)); err != nil {
		return "", err
	}
	return root, nil
}
