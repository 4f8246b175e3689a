package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
	"github.com/ganrt/ganrt/train/data"
)

// StarGANConfig holds the options of a StarGAN run, named after the
// reference's solver options. Start from DefaultStarGANConfig.
type StarGANConfig struct {
	// Data: CelebA-style images + attribute file, or one folder per domain.
	CelebAImages string `json:"celeba_image_dir,omitempty" flag:"celeba-images,mutable"`
	CelebAAttrs  string `json:"attr_path,omitempty" flag:"celeba-attrs,mutable"`
	// CelebASplit is the reference's test-split boundary (entries i with
	// i+1 < CelebASplit are held out; 0: 2000; negative: none).
	CelebASplit int      `json:"celeba_split,omitempty" flag:"celeba-split"`
	Attrs       []string `json:"selected_attrs,omitempty" flag:"attrs"`
	Folders     string   `json:"rafd_image_dir,omitempty" flag:"data,mutable"`
	// Exclusive lists the label entries of which one is set at a time in
	// sample grids (CelebA's hair colours by default).
	Exclusive []string `json:"exclusive,omitempty" flag:"exclusive"`
	Out       string   `json:"out"`

	// CDim is the label size; 0 infers it from the data (the number of
	// domain folders or of selected attributes), which an --init
	// checkpoint must agree with.
	CDim      int `json:"c_dim" flag:"c-dim"`
	ImageSize int `json:"image_size" flag:"image-size"`
	// CropSize is the center crop before resizing; 0 is the reference's
	// for the kind of data: 178 for CelebA, 256 for folders (RaFD).
	CropSize   int `json:"crop_size" flag:"crop-size"`
	GConvDim   int `json:"g_conv_dim" flag:"g-conv-dim"`
	DConvDim   int `json:"d_conv_dim" flag:"d-conv-dim"`
	GRepeatNum int `json:"g_repeat_num" flag:"g-repeat-num"`
	DRepeatNum int `json:"d_repeat_num" flag:"d-repeat-num"`

	LambdaCls float64 `json:"lambda_cls" flag:"lambda-cls"`
	LambdaRec float64 `json:"lambda_rec" flag:"lambda-rec"`
	LambdaGP  float64 `json:"lambda_gp" flag:"lambda-gp"`

	Batch        int     `json:"batch_size" flag:"batch"`
	Iters        int     `json:"num_iters" flag:"iters,mutable"`
	ItersDecay   int     `json:"num_iters_decay" flag:"iters-decay,mutable"`
	GLR          float64 `json:"g_lr" flag:"g-lr"`
	DLR          float64 `json:"d_lr" flag:"d-lr"`
	NCritic      int     `json:"n_critic" flag:"n-critic"`
	Beta1        float64 `json:"beta1" flag:"beta1"`
	Beta2        float64 `json:"beta2" flag:"beta2"`
	LRUpdateStep int     `json:"lr_update_step" flag:"lr-update-step"`
	// Decay is "linear" (to zero) or "reference" (the reference's arithmetic).
	Decay string `json:"decay" flag:"decay"`

	Seed    uint64 `json:"seed" flag:"seed"`
	Device  string `json:"device" flag:"device,mutable"`
	Threads int    `json:"threads" flag:"threads,mutable"`
	// MaxIters stops after this many iterations in all without changing
	// the schedule (0: run all Iters).
	MaxIters    int `json:"max_iters" flag:"max-iters,mutable"`
	SaveEvery   int `json:"model_save_step" flag:"save-every,mutable"`
	SampleEvery int `json:"sample_step" flag:"sample-every,mutable"`
	// DropLast drops each epoch's last partial batch (the reference keeps
	// it).
	DropLast bool `json:"drop_last" flag:"drop-last"`
	// Init starts from {ITER}-G and {ITER}-D (.ckpt or .safetensors) files:
	// a path prefix such as runs/celeba/200000.
	Init string `json:"init,omitempty" flag:"init"`
	RunControl
}

// DefaultStarGANConfig is the reference's CelebA training setup; c_dim and
// the crop size follow the data (5 and 178 for the default attributes).
var DefaultStarGANConfig = StarGANConfig{
	Attrs: data.DefaultAttrs, Exclusive: models.HairColors,
	ImageSize: 128, GConvDim: 64, DConvDim: 64, GRepeatNum: 6, DRepeatNum: 6,
	LambdaCls: 1, LambdaRec: 10, LambdaGP: 10,
	Batch: 16, Iters: 200000, ItersDecay: 100000, GLR: 1e-4, DLR: 1e-4, NCritic: 5, Beta1: 0.5, Beta2: 0.999,
	LRUpdateStep: 1000, Decay: "linear",
	Seed: 1, Device: "cpu", SaveEvery: 10000, SampleEvery: 1000,
}

// starGANRun is the live state of a StarGAN run.
type starGANRun struct {
	cfg        StarGANConfig
	gen, disc  *Net
	optG, optD *Optimizer
	single     bool
	names      []string
	steps      stepPairs // (D, G) steps by batch shape
	decay      StarGANDecay
	samples    fixedImages // the images of the sample grids
}

func starGANNetFile(tag string) func(*Net) string {
	return func(n *Net) string { return tag + "-" + n.Name + ".safetensors" }
}

// TrainStarGAN runs (or resumes) StarGAN training as configured: a critic
// step every iteration and a generator step every NCritic iterations. It
// saves {ITER}-G/-D checkpoints with the run state every SaveEvery
// iterations, at the end and when ctx is cancelled. As in TrainCycleGAN, a
// run that cannot start leaves no folder behind.
func TrainStarGAN(ctx context.Context, cfg StarGANConfig, progress Progress, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Decay != "linear" && cfg.Decay != "reference" {
		return fmt.Errorf("unknown decay %q (want linear or reference)", cfg.Decay)
	}
	if cfg.Batch < 1 || cfg.NCritic < 1 {
		return fmt.Errorf("batch size and n_critic must be at least 1, got %d and %d", cfg.Batch, cfg.NCritic)
	}
	if err := checkOut(cfg.Out, cfg.Resume, cfg.Overwrite); err != nil {
		return err
	}
	// tag is the checkpoint to resume from (see TrainCycleGAN).
	var run *runDir
	tag := ""
	if cfg.Resume {
		var err error
		if run, err = openRun(cfg.Out, logger); err != nil {
			return err
		}
		defer run.Close()
		if tag, err = resumeTag(cfg.Out, isIteration, logger); err != nil {
			return err
		}
	}
	var init [2]*export.Model
	if cfg.Init != "" && tag == "" {
		for i, suffix := range []string{"-G", "-D"} {
			m, err := loadInitPrefix(cfg.Init + suffix)
			if err != nil {
				return err
			}
			init[i] = m
		}
	}
	cfg.CropSize = cfg.cropSize()
	ds, single, err := starGANDataset(cfg)
	if err != nil {
		return err
	}
	if cfg.CDim, err = starGANCDim(cfg.CDim, ds, init[0]); err != nil {
		return err
	}
	r := &starGANRun{cfg: cfg, single: single, names: ds.Names, steps: stepPairs{},
		decay: StarGANDecay{Iters: cfg.Iters, DecayIters: cfg.ItersDecay, UpdateStep: cfg.LRUpdateStep, Reference: cfg.Decay == "reference"}}
	if cfg.SampleEvery > 0 {
		if r.samples, err = loadStarGANSamples(ds, cfg); err != nil {
			return err
		}
	}
	gspec, dspec := cfg.specs(ds.Names, single)
	if err := r.initNets(gspec, dspec, init); err != nil {
		return err
	}
	r.optG = NewOptimizer("opt_G", nn.Adam{Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: 1e-8}, r.gen)
	r.optD = NewOptimizer("opt_D", nn.Adam{Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: 1e-8}, r.disc)
	st := RunState{Epoch: 1, Seed: cfg.Seed}
	if tag != "" {
		if st, err = loadCheckpoint(cfg.Out, tag, []*Net{r.gen, r.disc}, starGANNetFile(tag), []*Optimizer{r.optG, r.optD}, nil); err != nil {
			return err
		}
		cfg.Seed, r.cfg.Seed = st.Seed, st.Seed
		logger.Info("resuming", "iter", st.Iter)
	}
	eo, err := execOptions(cfg.Device, cfg.Threads, logger)
	if err != nil {
		return err
	}
	defer r.steps.CloseWith(eo.Resident)
	loader, err := data.NewLoader(ctx, ds, data.LoaderOptions{BatchSize: cfg.Batch, Seed: cfg.Seed, Epoch: st.Epoch, Batch: st.Batch, DropLast: cfg.DropLast})
	if err != nil {
		return err
	}
	defer loader.Close()
	first, err := loader.Next(ctx)
	if err != nil {
		return err
	}
	if _, err := r.stepsFor(first.AShape, eo); err != nil {
		return err
	}
	if !cfg.Resume {
		if run, err = createRun(cfg.Out, cfg.Overwrite, logger); err != nil {
			return err
		}
		defer run.Close()
	}
	cfg.History = recordChanges(cfg.History, cfg.changes, st.Iter)
	if err := writeOptions(cfg.Out, cfg); err != nil {
		return err
	}
	lossLog, err := OpenLossLog(filepath.Join(cfg.Out, "loss_log.jsonl"), st.Iter)
	if err != nil {
		return err
	}
	defer lossLog.Close()
	stop := cfg.Iters
	if cfg.MaxIters > 0 {
		stop = min(stop, cfg.MaxIters)
	}
	if progress != nil {
		progress.Start(st.Iter, stop)
		defer progress.Finish()
	}
	save := func() error {
		if err := syncHost(eo); err != nil {
			return err
		}
		tag := strconv.Itoa(st.Iter)
		if err := saveCheckpoint(cfg.Out, tag, []*Net{r.gen, r.disc}, starGANNetFile(tag), []*Optimizer{r.optG, r.optD}, nil, st); err != nil {
			return err
		}
		return writeReport(cfg.Out, "StarGAN", lossLog, st.Iter, stop, slices.Concat(StarGANDLosses, StarGANGLosses), cfg.ImageSize)
	}
	next := func() (data.Batch, error) {
		if first.A != nil {
			b := first
			first = data.Batch{}
			return b, nil
		}
		return loader.Next(ctx)
	}
	for st.Iter < stop {
		if ctx.Err() != nil {
			return save()
		}
		b, err := next()
		if err != nil {
			if ctx.Err() != nil {
				return save()
			}
			return err
		}
		start := time.Now()
		losses, err := r.iterate(b, st.Iter, eo)
		if err != nil {
			return fmt.Errorf("iteration %d: %w", st.Iter+1, err)
		}
		st.Iter++
		st.Epoch, st.Batch = b.Following()
		if err := lossLog.Add(LossRecord{Iter: st.Iter, LR: r.decay.LR(cfg.GLR, st.Iter-1), Sec: time.Since(start).Seconds(), Losses: losses}); err != nil {
			return err
		}
		if progress != nil {
			progress.Iter(st.Iter, losses)
		}
		if cfg.SampleEvery > 0 && st.Iter%cfg.SampleEvery == 0 {
			if err := r.writeSamples(st.Iter, eo); err != nil {
				return err
			}
			if err := writeReport(cfg.Out, "StarGAN", lossLog, st.Iter, stop, slices.Concat(StarGANDLosses, StarGANGLosses), cfg.ImageSize); err != nil {
				return err
			}
		}
		if cfg.SaveEvery > 0 && st.Iter%cfg.SaveEvery == 0 && st.Iter < stop {
			if err := save(); err != nil {
				return err
			}
		}
	}
	return save()
}

// specs returns the generator and discriminator specs of the options for
// data with label names and kind (single: one-hot domains).
func (c StarGANConfig) specs(names []string, single bool) (g, d models.Spec) {
	labels := "multi"
	if single {
		labels = "single"
	}
	g = models.Spec{Kind: models.StarGANGenerator, ConvDim: c.GConvDim, CDim: c.CDim, RepeatNum: c.GRepeatNum,
		Domains: names, Labels: labels, Exclusive: exclusiveIn(c.Exclusive, names)}
	d = models.Spec{Kind: models.StarGANDiscriminator, ImageSize: c.ImageSize, ConvDim: c.DConvDim, CDim: c.CDim, RepeatNum: c.DRepeatNum,
		Domains: names, Labels: labels, Exclusive: g.Exclusive}
	return g, d
}

// cropSize is the configured crop, or the reference's for the kind of
// data: 256 for folders (RaFD), 178 for CelebA.
func (c StarGANConfig) cropSize() int {
	switch {
	case c.CropSize != 0:
		return c.CropSize
	case c.Folders != "":
		return 256
	}
	return 178
}

// exclusiveIn keeps the entries of group that name labels, in label order.
func exclusiveIn(group, names []string) []string {
	var out []string
	for _, n := range names {
		for _, g := range group {
			if n == g {
				out = append(out, n)
			}
		}
	}
	return out
}

// starGANDataset opens the configured training data.
func starGANDataset(cfg StarGANConfig) (*data.Labeled, bool, error) {
	switch {
	case cfg.Folders != "" && cfg.CelebAImages != "":
		return nil, false, errors.New("give either folder-per-domain data or CelebA data, not both")
	case cfg.Folders != "":
		ds, err := data.NewFolders(data.FolderOptions{Dir: cfg.Folders, CDim: cfg.CDim, CropSize: cfg.CropSize, ImageSize: cfg.ImageSize})
		return ds, true, err
	case cfg.CelebAImages != "":
		ds, err := data.NewCelebA(data.CelebAOptions{Images: cfg.CelebAImages, AttrFile: cfg.CelebAAttrs, Attrs: cfg.Attrs,
			CropSize: cfg.CropSize, ImageSize: cfg.ImageSize, Split: cfg.CelebASplit})
		return ds, false, err
	}
	return nil, false, errors.New("no training data: give CelebA images and attributes, or a folder with one subfolder per domain")
}

// isIteration reports whether a checkpoint tag is an iteration number,
// as StarGAN's are.
func isIteration(tag string) bool {
	_, err := strconv.Atoi(tag)
	return err == nil
}

// initNets creates G and D: from the --init models (architectures must
// match; the label kind, exclusive group and names, which a reference
// .ckpt cannot carry, come from the options and the data), or by PyTorch's
// default init from the seed.
func (r *starGANRun) initNets(gspec, dspec models.Spec, init [2]*export.Model) error {
	var gv, dv map[string][]float32
	if init[0] != nil {
		for i, s := range []struct {
			spec models.Spec
			out  *map[string][]float32
		}{{gspec, &gv}, {dspec, &dv}} {
			m := init[i]
			if architecture(m.Spec) != architecture(s.spec) {
				return fmt.Errorf("%s holds %s; the options ask for %s", m.Path, m.Spec, s.spec)
			}
			*s.out = m.Weights
		}
	} else {
		rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x5a6))
		for _, s := range []struct {
			spec models.Spec
			out  *map[string][]float32
		}{{gspec, &gv}, {dspec, &dv}} {
			reg, err := s.spec.Registry()
			if err != nil {
				return err
			}
			*s.out = nn.Init(reg, nn.InitPyTorch, 0, rng)
		}
	}
	var err error
	if r.gen, err = NewNet("G", gspec, gv); err != nil {
		return err
	}
	r.disc, err = NewNet("D", dspec, dv)
	return err
}

// architecture is the part of a StarGAN spec that the weights determine.
func architecture(s models.Spec) string {
	s.Domains, s.Labels, s.Exclusive = nil, "", nil
	return s.JSON()
}

// starGANCDim returns the label size of a run: the configured one, or when
// that is 0 the data's. The data and an --init generator (when given) must
// agree with it; errors name both sides.
func starGANCDim(cdim int, ds *data.Labeled, initG *export.Model) (int, error) {
	what := fmt.Sprintf("%d label entries (%s)", ds.CDim(), strings.Join(ds.Names, ", "))
	if cdim == 0 {
		if initG != nil && initG.Spec.CDim != ds.CDim() {
			return 0, fmt.Errorf("the --init generator %s has c_dim %d but the data has %s", initG.Path, initG.Spec.CDim, what)
		}
		return ds.CDim(), nil
	}
	if ds.CDim() != cdim {
		return 0, fmt.Errorf("--c-dim is %d but the data has %s", cdim, what)
	}
	return cdim, nil
}

// stepsFor returns the compiled (D, G) steps for a batch shape.
func (r *starGANRun) stepsFor(shape [4]int, eo exec.Options) ([2]*Step, error) {
	if s, ok := r.steps[shape]; ok {
		return s, nil
	}
	if shape[2] != r.cfg.ImageSize || shape[3] != r.cfg.ImageSize {
		return [2]*Step{}, fmt.Errorf("images are %dx%d; the discriminator needs %dx%d", shape[3], shape[2], r.cfg.ImageSize, r.cfg.ImageSize)
	}
	c := starGANLossConfig{SingleLabel: r.single, LambdaCls: r.cfg.LambdaCls, LambdaRec: r.cfg.LambdaRec, LambdaGP: r.cfg.LambdaGP,
		Batch: shape[0], CDim: r.cfg.CDim, Size: shape[2]}
	dg, err := buildStarGANDStep(r.gen, r.disc, r.optD, c, false)
	if err != nil {
		return [2]*Step{}, err
	}
	gg, err := buildStarGANGStep(r.gen, r.disc, r.optG, c, false)
	if err != nil {
		return [2]*Step{}, err
	}
	nets := []*Net{r.gen, r.disc}
	ds, err := Compile(dg, nets, []*Optimizer{r.optD}, eo)
	if err != nil {
		return [2]*Step{}, err
	}
	gs, err := Compile(gg, nets, []*Optimizer{r.optG}, eo)
	if err != nil {
		ds.Close()
		return [2]*Step{}, err
	}
	if err := errors.Join(ds.trackNorms(starGANDStepNormCalls(r.gen)...), gs.trackNorms(starGANGStepNormCalls(r.gen)...)); err != nil {
		ds.Close()
		gs.Close()
		return [2]*Step{}, err
	}
	r.steps[shape] = [2]*Step{ds, gs}
	return r.steps[shape], nil
}

// Random streams of a StarGAN run.
const (
	streamTarget uint64 = iota + 16
	streamAlpha
)

// iterate runs iteration iter (from 0): targets by a random permutation of
// the batch's labels, the critic step, and every NCritic-th iteration the
// generator step. It returns the losses of the steps that ran.
func (r *starGANRun) iterate(b data.Batch, iter int, eo exec.Options) (map[string]float64, error) {
	steps, err := r.stepsFor(b.AShape, eo)
	if err != nil {
		return nil, err
	}
	ds, gs := steps[0], steps[1]
	n, c := b.LabelShape[0], b.LabelShape[1]
	perm := iterRand(r.cfg.Seed, streamTarget, iter).Perm(n)
	for _, s := range []*Step{ds, gs} {
		copy(s.Data["x_real"], b.A)
		copy(s.Data["c_org"], b.Label)
		for i, p := range perm {
			copy(s.Data["c_trg"][i*c:(i+1)*c], b.Label[p*c:(p+1)*c])
		}
	}
	ar := iterRand(r.cfg.Seed, streamAlpha, iter)
	for i := range ds.Data["alpha"] {
		ds.Data["alpha"][i] = float32(ar.Float64())
	}
	losses := map[string]float64{}
	if err := ds.Run(r.decay.LR(r.cfg.DLR, iter)); err != nil {
		return nil, err
	}
	names := append([]string(nil), StarGANDLosses...)
	outs := []*Step{ds, ds, ds, ds}
	if (iter+1)%r.cfg.NCritic == 0 {
		if err := gs.Run(r.decay.LR(r.cfg.GLR, iter)); err != nil {
			return nil, err
		}
		names = append(names, StarGANGLosses...)
		outs = append(outs, gs, gs, gs)
	}
	for i, name := range names {
		v := float64(outs[i].Out[lossPrefix+name][0])
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("loss %s is %v: training diverged; the last saved checkpoint is unchanged", name, v)
		}
		losses[name] = v
	}
	return losses, nil
}

// sampler compiles G's forward with the current weights as initializers.
func (r *starGANRun) sampler(shape [4]int, eo exec.Options) (*exec.Exec, error) {
	if err := syncHost(eo); err != nil {
		return nil, err
	}
	g, err := buildForward(r.gen, shape, r.cfg.CDim)
	if err != nil {
		return nil, err
	}
	params := map[string][]float32{}
	for _, e := range r.gen.Reg.Trainable() {
		params[r.gen.Prefix()+e.Name] = r.gen.Values[e.Name]
	}
	eo.Params = params
	return exec.Compile(g, eo)
}
