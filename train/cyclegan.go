package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/exec"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
	"github.com/ganrt/ganrt/train/data"
)

// CycleGANConfig holds the options of a CycleGAN run, named after the
// reference's; the zero value of a field is not its default: start from
// DefaultCycleGANConfig.
type CycleGANConfig struct {
	Data string `json:"dataroot" flag:"data,mutable"`
	Out  string `json:"out"`

	NetG           string  `json:"netG" flag:"netg"`
	NetD           string  `json:"netD" flag:"netd"`
	NLayersD       int     `json:"n_layers_D" flag:"n-layers-d"`
	NGF            int     `json:"ngf" flag:"ngf"`
	NDF            int     `json:"ndf" flag:"ndf"`
	InputNC        int     `json:"input_nc" flag:"input-nc"`
	OutputNC       int     `json:"output_nc" flag:"output-nc"`
	Norm           string  `json:"norm" flag:"norm"`
	InitType       string  `json:"init_type" flag:"init-type"`
	InitGain       float64 `json:"init_gain" flag:"init-gain"`
	Dropout        bool    `json:"dropout" flag:"no-dropout,invert"`
	GANMode        string  `json:"gan_mode" flag:"gan-mode"`
	LambdaA        float64 `json:"lambda_A" flag:"lambda-a"`
	LambdaB        float64 `json:"lambda_B" flag:"lambda-b"`
	LambdaIdentity float64 `json:"lambda_identity" flag:"lambda-identity"`
	PoolSize       int     `json:"pool_size" flag:"pool-size"`

	LR           float64 `json:"lr" flag:"lr"`
	Beta1        float64 `json:"beta1" flag:"beta1"`
	LRPolicy     string  `json:"lr_policy" flag:"lr-policy"`
	Epochs       int     `json:"n_epochs" flag:"epochs,mutable"`
	EpochsDecay  int     `json:"n_epochs_decay" flag:"epochs-decay,mutable"`
	LRDecayIters int     `json:"lr_decay_iters" flag:"lr-decay-iters"`

	Batch         int    `json:"batch_size" flag:"batch"`
	Preprocess    string `json:"preprocess" flag:"preprocess"`
	LoadSize      int    `json:"load_size" flag:"load-size"`
	CropSize      int    `json:"crop_size" flag:"crop-size"`
	NoFlip        bool   `json:"no_flip" flag:"no-flip"`
	SerialBatches bool   `json:"serial_batches" flag:"serial-batches"`
	Direction     string `json:"direction" flag:"direction"`

	Seed   uint64 `json:"seed" flag:"seed"`
	Device string `json:"device" flag:"device,mutable"`
	// Threads is ONNX Runtime's intra-op thread count (0: one per core).
	Threads int `json:"threads" flag:"threads,mutable"`
	// MaxIters stops after this many iterations in all (0: run all epochs).
	MaxIters int `json:"max_iters" flag:"max-iters,mutable"`
	// SaveEvery saves the latest checkpoint every this many iterations;
	// SaveEpochEvery keeps an epoch checkpoint every this many epochs.
	SaveEvery      int `json:"save_every" flag:"save-every,mutable"`
	SaveEpochEvery int `json:"save_epoch_every" flag:"save-epoch-every,mutable"`
	// SampleEvery writes a sample grid every this many iterations.
	SampleEvery int `json:"sample_every" flag:"sample-every,mutable"`
	// DropLast drops each epoch's last partial batch (the reference keeps
	// it).
	DropLast bool `json:"drop_last" flag:"drop-last"`
	// Init starts from the networks in this folder, named like the
	// reference's latest_net_{G_A,G_B,D_A,D_B}.{pth,safetensors}.
	Init string `json:"init,omitempty" flag:"init"`
	RunControl
}

// DefaultCycleGANConfig is the reference's train options for cycle_gan.
var DefaultCycleGANConfig = CycleGANConfig{
	NetG: "resnet_9blocks", NetD: "basic", NLayersD: 3, NGF: 64, NDF: 64, InputNC: 3, OutputNC: 3,
	Norm: "instance", InitType: "normal", InitGain: 0.02, GANMode: "lsgan",
	LambdaA: 10, LambdaB: 10, LambdaIdentity: 0.5, PoolSize: 50,
	LR: 2e-4, Beta1: 0.5, LRPolicy: "linear", Epochs: 100, EpochsDecay: 100, LRDecayIters: 50,
	Batch: 1, Preprocess: "resize_and_crop", LoadSize: 286, CropSize: 256, Direction: "AtoB",
	Seed: 1, Device: "cpu", SaveEvery: 5000, SaveEpochEvery: 5, SampleEvery: 400,
}

// Progress receives what a trainer reports as it runs; all methods may be
// no-ops.
type Progress interface {
	// Start is called once with the iteration to start from and the total.
	Start(done, total int)
	// Iter is called after each iteration with its losses.
	Iter(iter int, losses map[string]float64)
	// Finish is called once at the end.
	Finish()
}

// specs returns the generator and discriminator specs of the options.
func (c CycleGANConfig) specs() (g, d models.Spec, err error) {
	g = models.Spec{Kind: models.CycleGANGenerator, NetG: c.NetG, InputNC: c.InputNC, OutputNC: c.OutputNC,
		NGF: c.NGF, Norm: c.Norm, Dropout: c.Dropout}
	d = models.Spec{Kind: models.CycleGANDiscriminator, NetD: c.NetD, NLayersD: c.NLayersD, NDF: c.NDF, Norm: c.Norm}
	if c.NetD == "basic" {
		d.NLayersD = 3
	}
	if c.NetD == "pixel" {
		d.NLayersD = 0
	}
	if err := g.Validate(); err != nil {
		return g, d, err
	}
	return g, d, nil
}

// discSpec returns the discriminator spec for input channels nc.
func discSpec(d models.Spec, nc int) models.Spec {
	d.InputNC = nc
	return d
}

// cycleGANRun is the live state of a CycleGAN run.
type cycleGANRun struct {
	cfg    CycleGANConfig
	nets   cycleGANNets
	optG   *Optimizer
	optD   *Optimizer
	poolA  *ImagePool // fakes of domain A (G_B's outputs)
	poolB  *ImagePool
	policy LRPolicy
	steps  stepPairs // compiled (G, D) steps by batch shape
	log    *slog.Logger
	// samples are the fixed A and B images of the sample grids.
	samples [2]fixedImages
}

func (r *cycleGANRun) allNets() []*Net {
	return []*Net{r.nets.GA, r.nets.GB, r.nets.DA, r.nets.DB}
}

func cycleGANNetFile(tag string) func(*Net) string {
	return func(n *Net) string { return fmt.Sprintf("%s_net_%s.safetensors", tag, n.Name) }
}

// TrainCycleGAN runs (or resumes) CycleGAN training as configured. It
// stops after the last epoch, after MaxIters iterations or when ctx is
// cancelled; in every case the latest checkpoint is saved first. A
// non-finite loss stops the run with an error and leaves the last saved
// checkpoint as it was. The options, the data and ONNX Runtime are checked
// and the first step is compiled before a new run's folder is created, so
// a run that cannot start leaves nothing behind.
func TrainCycleGAN(ctx context.Context, cfg CycleGANConfig, progress Progress, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	gspec, dspec, err := cfg.specs()
	if err != nil {
		return err
	}
	mode, err := nn.ParseGANMode(cfg.GANMode)
	if err != nil {
		return err
	}
	policy := LRPolicy{Name: cfg.LRPolicy, Epochs: cfg.Epochs, EpochsDecay: cfg.EpochsDecay, DecayIters: cfg.LRDecayIters}
	if _, err := policy.Factor(1); err != nil {
		return err
	}
	if cfg.Batch < 1 {
		return fmt.Errorf("batch size must be at least 1, got %d", cfg.Batch)
	}
	if err := checkOut(cfg.Out, cfg.Resume, cfg.Overwrite); err != nil {
		return err
	}
	// tag is the checkpoint to resume from: none when a resumed run was
	// killed before its first save completed; it then starts over.
	var run *runDir
	tag := ""
	if cfg.Resume {
		if run, err = openRun(cfg.Out, logger); err != nil {
			return err
		}
		defer run.Close()
		if tag, err = resumeTag(cfg.Out, func(tag string) bool { return tag == "latest" }, logger); err != nil {
			return err
		}
	}
	dataset, err := data.NewUnaligned(data.UnalignedOptions{
		Dir: cfg.Data, Direction: cfg.Direction, InputNC: cfg.InputNC, OutputNC: cfg.OutputNC,
		Preprocess: data.Preprocess(cfg.Preprocess), LoadSize: cfg.LoadSize, CropSize: cfg.CropSize,
		NoFlip: cfg.NoFlip, SerialBatches: cfg.SerialBatches,
	})
	if err != nil {
		return err
	}
	r := &cycleGANRun{cfg: cfg, policy: policy, steps: stepPairs{}, log: logger,
		poolA: NewImagePool(cfg.PoolSize), poolB: NewImagePool(cfg.PoolSize)}
	if cfg.SampleEvery > 0 {
		if r.samples[0], r.samples[1], err = loadCycleGANSamples(cfg); err != nil {
			return err
		}
	}
	if err := r.initNets(gspec, dspec, tag == ""); err != nil {
		return err
	}
	adam := nn.Adam{Beta1: cfg.Beta1, Beta2: 0.999, Eps: 1e-8}
	r.optG = NewOptimizer("opt_G", adam, r.nets.GA, r.nets.GB)
	r.optD = NewOptimizer("opt_D", adam, r.nets.DA, r.nets.DB)
	st := RunState{Epoch: 1, Seed: cfg.Seed}
	if tag != "" {
		if st, err = loadCheckpoint(cfg.Out, tag, r.allNets(), cycleGANNetFile(tag), []*Optimizer{r.optG, r.optD},
			map[string]*ImagePool{"A": r.poolA, "B": r.poolB}); err != nil {
			return err
		}
		cfg.Seed = st.Seed
		r.cfg.Seed = st.Seed
		logger.Info("resuming", "iter", st.Iter, "epoch", st.Epoch, "batch", st.Batch)
	}
	eo, err := execOptions(cfg.Device, cfg.Threads, logger)
	if err != nil {
		return err
	}
	defer r.steps.CloseWith(eo.Resident)

	loader, err := data.NewLoader(ctx, dataset, data.LoaderOptions{BatchSize: cfg.Batch, Seed: cfg.Seed,
		Epoch: st.Epoch, Batch: st.Batch, DropLast: cfg.DropLast})
	if err != nil {
		return err
	}
	defer loader.Close()
	first, err := loader.Next(ctx)
	if err != nil {
		return err
	}
	if _, err := r.stepsFor(first.AShape, eo, mode); err != nil {
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
	perEpoch := loader.BatchesPerEpoch()
	total := (cfg.Epochs + cfg.EpochsDecay) * perEpoch
	if cfg.MaxIters > 0 {
		total = min(total, cfg.MaxIters)
	}
	lossLog, err := OpenLossLog(filepath.Join(cfg.Out, "loss_log.jsonl"), st.Iter)
	if err != nil {
		return err
	}
	defer lossLog.Close()
	if progress != nil {
		progress.Start(st.Iter, total)
		defer progress.Finish()
	}
	save := func(tag string) error {
		if err := syncHost(eo); err != nil {
			return err
		}
		if err := saveCheckpoint(cfg.Out, tag, r.allNets(), cycleGANNetFile(tag), []*Optimizer{r.optG, r.optD},
			map[string]*ImagePool{"A": r.poolA, "B": r.poolB}, st); err != nil {
			return err
		}
		return writeReport(cfg.Out, "CycleGAN", lossLog, st.Iter, total, CycleGANLosses, cfg.CropSize)
	}
	next := func() (data.Batch, error) {
		if first.A != nil {
			b := first
			first = data.Batch{}
			return b, nil
		}
		return loader.Next(ctx)
	}
	for st.Iter < total {
		if ctx.Err() != nil {
			logger.Info("interrupted: saving latest", "iter", st.Iter)
			return save("latest")
		}
		b, err := next()
		if err != nil {
			if ctx.Err() != nil {
				return save("latest")
			}
			return err
		}
		start := time.Now()
		factor, _ := policy.Factor(b.Epoch)
		lr := cfg.LR * factor
		losses, err := r.iterate(b, lr, st.Iter, eo, mode)
		if err != nil {
			return fmt.Errorf("iteration %d: %w", st.Iter+1, err)
		}
		st.Iter++
		st.Epoch, st.Batch = b.Following()
		if err := lossLog.Add(LossRecord{Iter: st.Iter, Epoch: b.Epoch, LR: lr, Sec: time.Since(start).Seconds(), Losses: losses}); err != nil {
			return err
		}
		if progress != nil {
			progress.Iter(st.Iter, losses)
		}
		if cfg.SampleEvery > 0 && st.Iter%cfg.SampleEvery == 0 {
			if err := r.writeSamples(st.Iter, eo); err != nil {
				return err
			}
			if err := writeReport(cfg.Out, "CycleGAN", lossLog, st.Iter, total, CycleGANLosses, cfg.CropSize); err != nil {
				return err
			}
		}
		// As in the reference, an epoch checkpoint comes with a latest one,
		// so that latest is always the newest set (the one --resume takes).
		epochSave := b.Last && cfg.SaveEpochEvery > 0 && b.Epoch%cfg.SaveEpochEvery == 0
		if epochSave {
			if err := save(fmt.Sprint(b.Epoch)); err != nil {
				return err
			}
		}
		if epochSave || (cfg.SaveEvery > 0 && st.Iter%cfg.SaveEvery == 0) {
			if err := save("latest"); err != nil {
				return err
			}
		}
	}
	return save("latest")
}

// initNets creates the four networks: from --init files when useInit (a
// run that does not resume from a checkpoint), or initialized by the
// configured scheme from the seed.
func (r *cycleGANRun) initNets(gspec, dspec models.Spec, useInit bool) error {
	cfg := r.cfg
	scheme, err := nn.ParseInit(cfg.InitType)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1417))
	specs := []struct {
		name string
		spec models.Spec
	}{
		{"G_A", gspec},
		{"G_B", models.Spec{Kind: gspec.Kind, NetG: gspec.NetG, InputNC: cfg.OutputNC, OutputNC: cfg.InputNC, NGF: gspec.NGF, Norm: gspec.Norm, Dropout: gspec.Dropout}},
		{"D_A", discSpec(dspec, cfg.OutputNC)},
		{"D_B", discSpec(dspec, cfg.InputNC)},
	}
	nets := make([]*Net, len(specs))
	for i, s := range specs {
		var values map[string][]float32
		if cfg.Init != "" && useInit {
			m, err := loadInit(cfg.Init, "latest_net_"+s.name)
			if err != nil {
				return err
			}
			if m.Spec.DropoutUnknown {
				// The keys do not say: the options do.
				m.Spec.Dropout, m.Spec.DropoutUnknown = s.spec.Dropout, false
			}
			if m.Spec.JSON() != s.spec.JSON() {
				return fmt.Errorf("%s holds %s; the options ask for %s", m.Path, m.Spec, s.spec)
			}
			values = m.Weights
		} else {
			reg, err := s.spec.Registry()
			if err != nil {
				return err
			}
			values = nn.Init(reg, scheme, cfg.InitGain, rng)
		}
		if nets[i], err = NewNet(s.name, s.spec, values); err != nil {
			return err
		}
	}
	r.nets = cycleGANNets{GA: nets[0], GB: nets[1], DA: nets[2], DB: nets[3]}
	return nil
}

// loadInit reads base.safetensors, .pth or .ckpt from dir.
func loadInit(dir, base string) (*export.Model, error) {
	return loadInitPrefix(filepath.Join(dir, base))
}

// loadInitPrefix reads prefix.safetensors, .pth or .ckpt.
func loadInitPrefix(prefix string) (*export.Model, error) {
	for _, ext := range []string{".safetensors", ".pth", ".ckpt"} {
		if _, err := os.Stat(prefix + ext); err == nil {
			return export.Load(prefix+ext, export.Overrides{})
		}
	}
	return nil, fmt.Errorf("--init: no %s.safetensors, .pth or .ckpt", prefix)
}

// stepsFor returns the compiled steps for a batch shape, compiling them the
// first time.
func (r *cycleGANRun) stepsFor(shape [4]int, eo exec.Options, mode nn.GANMode) ([2]*Step, error) {
	if s, ok := r.steps[shape]; ok {
		return s, nil
	}
	c := cycleGANLossConfig{Mode: mode, LambdaA: r.cfg.LambdaA, LambdaB: r.cfg.LambdaB, LambdaI: r.cfg.LambdaIdentity,
		Batch: shape[0], Channels: shape[1], H: shape[2], W: shape[3]}
	if r.cfg.InputNC != r.cfg.OutputNC && c.LambdaI > 0 {
		return [2]*Step{}, fmt.Errorf("identity loss needs input_nc == output_nc (got %d and %d); set --lambda-identity 0", r.cfg.InputNC, r.cfg.OutputNC)
	}
	gg, err := buildGStep(r.nets, r.optG, c, false)
	if err != nil {
		return [2]*Step{}, err
	}
	dg, err := buildDStep(r.nets, r.optD, c, false)
	if err != nil {
		return [2]*Step{}, err
	}
	gs, err := Compile(gg, r.allNets(), []*Optimizer{r.optG}, eo)
	if err != nil {
		return [2]*Step{}, err
	}
	ds, err := Compile(dg, []*Net{r.nets.DA, r.nets.DB}, []*Optimizer{r.optD}, eo)
	if err != nil {
		gs.Close()
		return [2]*Step{}, err
	}
	if err := errors.Join(gs.trackNorms(gStepNormCalls(r.nets, c)...), ds.trackNorms(dStepNormCalls(r.nets)...)); err != nil {
		gs.Close()
		ds.Close()
		return [2]*Step{}, err
	}
	r.steps[shape] = [2]*Step{gs, ds}
	r.log.Info("compiled step graphs", "batch", shape)
	return r.steps[shape], nil
}

// Random streams of a run, each keyed by (seed, stream, iteration).
const (
	streamPool uint64 = iota + 1
	streamDropout
)

func iterRand(seed, stream uint64, iter int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream<<48|uint64(iter)))
}

// iterate runs one reference iteration on batch b: the G step, the pool
// query, the D step. It returns the eight losses.
func (r *cycleGANRun) iterate(b data.Batch, lr float64, iter int, eo exec.Options, mode nn.GANMode) (map[string]float64, error) {
	steps, err := r.stepsFor(b.AShape, eo, mode)
	if err != nil {
		return nil, err
	}
	gs, ds := steps[0], steps[1]
	copy(gs.Data["real_A"], b.A)
	copy(gs.Data["real_B"], b.B)
	dr := iterRand(r.cfg.Seed, streamDropout, iter)
	for _, name := range sortedKeys(gs.Data) {
		if strings.HasPrefix(name, nn.DropoutInputPrefix) {
			for i := range gs.Data[name] {
				gs.Data[name][i] = 0
				if dr.Float64() >= 0.5 {
					gs.Data[name][i] = 2
				}
			}
		}
	}
	if err := gs.Run(lr); err != nil {
		return nil, err
	}
	per := b.AShape[1] * b.AShape[2] * b.AShape[3]
	pr := iterRand(r.cfg.Seed, streamPool, iter)
	r.poolB.Query(gs.Out["fake_B"], per, ds.Data["pool_fake_B"], pr)
	r.poolA.Query(gs.Out["fake_A"], per, ds.Data["pool_fake_A"], pr)
	copy(ds.Data["real_A"], b.A)
	copy(ds.Data["real_B"], b.B)
	if err := ds.Run(lr); err != nil {
		return nil, err
	}
	losses := map[string]float64{}
	for _, name := range CycleGANLosses {
		s := gs
		if name == "D_A" || name == "D_B" {
			s = ds
		}
		v := 0.0
		if out, ok := s.Out[lossPrefix+name]; ok {
			v = float64(out[0])
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("loss %s is %v: training diverged (try a lower --lr); the last saved checkpoint is unchanged", name, v)
		}
		losses[name] = v
	}
	return losses, nil
}
