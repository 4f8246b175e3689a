package cli

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/train"
)

const (
	catTraining = "Training"
	catRun      = "Run"
)

var trainCommand = &cli.Command{
	Name:  "train",
	Usage: "train a CycleGAN or StarGAN",
	Description: `Training steps (forward, losses, gradients, Adam) run as ONNX Runtime graphs;
options follow the reference implementations' names in kebab case, with their
defaults.

On a terminal a progress line shows the iteration, rate, ETA and losses;
elsewhere (a pipe, a log, CI) a line is logged every --print-every
iterations. A CPU run with GPU-sized options says so and estimates its
time after 3 iterations. The run folder gets index.html (samples, loss.png
and options) at every sample. Ctrl-C finishes the iteration, saves, says
how to continue with --resume and exits with status 130; a second Ctrl-C
aborts once the file writes in flight are done. --json prints a summary.`,
	Subcommands: []*cli.Command{trainCycleGANCommand, trainStarGANCommand},
}

// Flags of both trainers.
var (
	resumeFlag = &cli.BoolFlag{Name: "resume", Category: catRun,
		Usage: "continue the run in --out from its latest checkpoint with the options in its options.json; of the flags given again, iterations, epochs, cadences, device, threads and data folders may change (recorded in options.json), others must keep their values"}
	overwriteFlag = &cli.BoolFlag{Name: "overwrite", Category: catRun,
		Usage: "start a new run in --out even if a run is there, removing that run's files (checkpoints, logs, samples, options.json)"}
	dropLastFlag = &cli.BoolFlag{Name: "drop-last", Category: catData,
		Usage: "drop each epoch's last partial batch (the references keep it)"}
)

// waived reports whether the required flag f may be left out: --data of a
// train command given --resume, which reads it from the run's options.json.
func waived(c *cli.Context, f cli.Flag) bool {
	return f.Names()[0] == "data" && c.Bool(resumeFlag.Name)
}

func cycleGANFlags() []cli.Flag {
	d := train.DefaultCycleGANConfig
	return append([]cli.Flag{
		&cli.StringFlag{Name: "data", Category: catData, Required: true, Usage: "dataset folder with trainA and trainB"},
		&cli.StringFlag{Name: "out", Category: catOutput, Required: true, Usage: "run folder for checkpoints, logs and samples"},
		&cli.StringFlag{Name: "netg", Category: catModel, Value: d.NetG, Usage: "generator: resnet_9blocks, resnet_6blocks, unet_256, unet_128"},
		&cli.StringFlag{Name: "netd", Category: catModel, Value: d.NetD, Usage: "discriminator: basic, n_layers, pixel"},
		&cli.IntFlag{Name: "n-layers-d", Category: catModel, Value: d.NLayersD, Usage: "discriminator layers for --netd n_layers"},
		&cli.IntFlag{Name: "ngf", Category: catModel, Value: d.NGF, Usage: "generator filters in the first conv layer"},
		&cli.IntFlag{Name: "ndf", Category: catModel, Value: d.NDF, Usage: "discriminator filters in the first conv layer"},
		&cli.IntFlag{Name: "input-nc", Category: catModel, Value: d.InputNC, Usage: "input image channels (3 RGB, 1 grayscale)"},
		&cli.IntFlag{Name: "output-nc", Category: catModel, Value: d.OutputNC, Usage: "output image channels"},
		&cli.StringFlag{Name: "norm", Category: catModel, Value: d.Norm, Usage: "norm layer: instance, batch or none"},
		&cli.StringFlag{Name: "init-type", Category: catModel, Value: d.InitType, Usage: "weight init: normal, xavier, kaiming, orthogonal"},
		&cli.Float64Flag{Name: "init-gain", Category: catModel, Value: d.InitGain, Usage: "scale of normal, xavier and orthogonal init", Action: nonNegative("init-gain")},
		&cli.BoolFlag{Name: "no-dropout", Category: catModel, Value: true, Usage: "no dropout in the generator (the CycleGAN default; --no-dropout=false enables it)"},
		&cli.StringFlag{Name: "gan-mode", Category: catTraining, Value: d.GANMode, Usage: "adversarial loss: lsgan, vanilla, wgangp"},
		&cli.Float64Flag{Name: "lambda-a", Category: catTraining, Value: d.LambdaA, Usage: "weight of the cycle loss A->B->A", Action: nonNegative("lambda-a")},
		&cli.Float64Flag{Name: "lambda-b", Category: catTraining, Value: d.LambdaB, Usage: "weight of the cycle loss B->A->B", Action: nonNegative("lambda-b")},
		&cli.Float64Flag{Name: "lambda-identity", Category: catTraining, Value: d.LambdaIdentity, Usage: "identity loss weight, relative to lambda-a/b (0 disables it)", Action: nonNegative("lambda-identity")},
		&cli.IntFlag{Name: "pool-size", Category: catTraining, Value: d.PoolSize, Usage: "image pool size per direction (0 disables it)"},
		&cli.Float64Flag{Name: "lr", Category: catTraining, Value: d.LR, Usage: "initial Adam learning rate", Action: nonNegative("lr")},
		&cli.Float64Flag{Name: "beta1", Category: catTraining, Value: d.Beta1, Usage: "Adam beta1", Action: unitInterval("beta1")},
		&cli.StringFlag{Name: "lr-policy", Category: catTraining, Value: d.LRPolicy, Usage: "learning-rate policy: linear, step, cosine"},
		&cli.IntFlag{Name: "epochs", Category: catTraining, Value: d.Epochs, Usage: "epochs at the initial learning rate"},
		&cli.IntFlag{Name: "epochs-decay", Category: catTraining, Value: d.EpochsDecay, Usage: "epochs of linear decay to zero"},
		&cli.IntFlag{Name: "lr-decay-iters", Category: catTraining, Value: d.LRDecayIters, Usage: "epochs between steps of the step policy"},
		&cli.IntFlag{Name: "batch", Category: catData, Value: d.Batch, Usage: "batch size"},
		&cli.StringFlag{Name: "preprocess", Category: catData, Value: d.Preprocess, Usage: "resize_and_crop, crop, scale_width, scale_width_and_crop, none"},
		&cli.IntFlag{Name: "load-size", Category: catData, Value: d.LoadSize, Usage: "scale images to this size"},
		&cli.IntFlag{Name: "crop-size", Category: catData, Value: d.CropSize, Usage: "then crop to this size"},
		&cli.BoolFlag{Name: "no-flip", Category: catData, Usage: "no random horizontal flips"},
		&cli.BoolFlag{Name: "serial-batches", Category: catData, Usage: "take images in order instead of at random"},
		dropLastFlag,
		&cli.StringFlag{Name: "direction", Category: catData, Value: d.Direction, Usage: "AtoB or BtoA"},
		&cli.Uint64Flag{Name: "seed", Category: catRun, Value: d.Seed, Usage: "seed of all randomness (init, data order, augmentation, pool, dropout)"},
		&cli.StringFlag{Name: "device", Category: catRun, Value: d.Device, Usage: "cpu, cuda[:N] or auto"},
		&cli.IntFlag{Name: "threads", Category: catRun, Usage: "ONNX Runtime threads per operator (0: one per core)"},
		&cli.IntFlag{Name: "max-iters", Category: catRun, Usage: "stop after this many iterations (0: all epochs)"},
		&cli.IntFlag{Name: "save-every", Category: catRun, Value: d.SaveEvery, Usage: "save the latest checkpoint every N iterations"},
		&cli.IntFlag{Name: "save-epoch-every", Category: catRun, Value: d.SaveEpochEvery, Usage: "keep an epoch checkpoint every N epochs"},
		&cli.IntFlag{Name: "sample-every", Category: catRun, Value: d.SampleEvery, Usage: "write a sample grid every N iterations (0: never)"},
		resumeFlag, overwriteFlag,
		&cli.StringFlag{Name: "init", Category: catRun, Usage: "start from latest_net_{G_A,G_B,D_A,D_B}.{pth,safetensors} in this folder"},
	}, trainOutputFlags...)
}

var trainCycleGANCommand = &cli.Command{
	Name:  "cyclegan",
	Usage: "train a CycleGAN on unpaired folders DATA/trainA and DATA/trainB",
	Description: `Each iteration is the reference's: a generator step with the discriminators
frozen, then one step of both discriminators on fakes from the image pool.
RUNDIR gets {latest|EPOCH}_net_{G_A,G_B,D_A,D_B}.safetensors, the run state for
--resume, options.json, loss_log.jsonl, loss.png, index.html and samples/
(fixed test images: real_A, fake_B, rec_A, idt_B and real_B, fake_A, rec_B,
idt_A). Each checkpoint set is saved in one atomic step; --out must not hold
a run unless --resume (which takes the options from options.json) or
--overwrite is given.

Example:
   ganrt data synth --out /tmp/dn --size 64
   ganrt train cyclegan --data /tmp/dn --out runs/dn --netg resnet_6blocks --ngf 32 --ndf 32 \
       --load-size 72 --crop-size 64 --epochs 5 --epochs-decay 5
   ganrt export runs/dn/latest_net_G_A.safetensors -o dn.onnx`,
	Flags: cycleGANFlags(),
	Action: func(c *cli.Context) error {
		cfg := train.DefaultCycleGANConfig
		cfg.Data, cfg.Out = c.String("data"), c.String("out")
		cfg.NetG, cfg.NetD, cfg.NLayersD = c.String("netg"), c.String("netd"), c.Int("n-layers-d")
		cfg.NGF, cfg.NDF, cfg.InputNC, cfg.OutputNC = c.Int("ngf"), c.Int("ndf"), c.Int("input-nc"), c.Int("output-nc")
		cfg.Norm, cfg.InitType, cfg.InitGain = c.String("norm"), c.String("init-type"), c.Float64("init-gain")
		cfg.Dropout = !c.Bool("no-dropout")
		cfg.GANMode, cfg.LambdaA, cfg.LambdaB = c.String("gan-mode"), c.Float64("lambda-a"), c.Float64("lambda-b")
		cfg.LambdaIdentity, cfg.PoolSize = c.Float64("lambda-identity"), c.Int("pool-size")
		cfg.LR, cfg.Beta1, cfg.LRPolicy = c.Float64("lr"), c.Float64("beta1"), c.String("lr-policy")
		cfg.Epochs, cfg.EpochsDecay, cfg.LRDecayIters = c.Int("epochs"), c.Int("epochs-decay"), c.Int("lr-decay-iters")
		cfg.Batch, cfg.Preprocess = c.Int("batch"), c.String("preprocess")
		cfg.LoadSize, cfg.CropSize = c.Int("load-size"), c.Int("crop-size")
		cfg.NoFlip, cfg.SerialBatches, cfg.Direction = c.Bool("no-flip"), c.Bool("serial-batches"), c.String("direction")
		cfg.Seed, cfg.Device, cfg.Threads = c.Uint64("seed"), c.String("device"), c.Int("threads")
		cfg.MaxIters, cfg.SaveEvery, cfg.SaveEpochEvery = c.Int("max-iters"), c.Int("save-every"), c.Int("save-epoch-every")
		cfg.SampleEvery, cfg.Init = c.Int("sample-every"), c.String("init")
		cfg.DropLast, cfg.Overwrite = c.Bool(dropLastFlag.Name), c.Bool(overwriteFlag.Name)
		if c.Bool(resumeFlag.Name) {
			var err error
			if cfg, err = train.ResumeCycleGANConfig(cfg.Out, cfg, c.IsSet); err != nil {
				return err
			}
		}
		p := newTrainProgress(c, "cyclegan", train.CycleGANLosses, cfg.Device, cycleGANSize(cfg), cycleGANSmaller)
		if err := train.TrainCycleGAN(c.Context, cfg, p, trainLogger(c)); err != nil {
			return err
		}
		return finishTraining(c, p, "cyclegan", cfg.Out,
			func(int) string { return filepath.Join(cfg.Out, "latest_net_{G_A,G_B,D_A,D_B}.safetensors") },
			func(int) string { return filepath.Join(cfg.Out, "latest_net_G_A.safetensors") })
	},
}

func starGANFlags() []cli.Flag {
	d := train.DefaultStarGANConfig
	return append([]cli.Flag{
		&cli.StringFlag{Name: "celeba-images", Category: catData, Usage: "CelebA image folder (with --celeba-attrs)"},
		&cli.StringFlag{Name: "celeba-attrs", Category: catData, Usage: "list_attr_celeba.txt"},
		&cli.IntFlag{Name: "celeba-split", Category: catData, Usage: "hold out CelebA entries i with i+1 < N as the test split (0: the reference's 2000; -1: none)"},
		&cli.StringFlag{Name: "attrs", Category: catData, Value: strings.Join(d.Attrs, ","), Usage: "selected CelebA attributes, in label order"},
		&cli.StringFlag{Name: "data", Category: catData, Usage: "folder with one subfolder per domain (RaFD style; class = sorted folder index)"},
		&cli.StringFlag{Name: "exclusive", Category: catData, Value: strings.Join(d.Exclusive, ","), Usage: "label entries of which sample grids set one at a time (e.g. Day,Night for synthetic weather data)"},
		&cli.StringFlag{Name: "out", Category: catOutput, Required: true, Usage: "run folder for checkpoints, logs and samples"},
		&cli.IntFlag{Name: "c-dim", Category: catModel, Usage: "label size: attributes or domains (0: from the data, which --init must match)"},
		&cli.IntFlag{Name: "image-size", Category: catData, Value: d.ImageSize, Usage: "image resolution (the discriminator works only at it)"},
		&cli.IntFlag{Name: "crop-size", Category: catData, Usage: "center crop before resizing (0: the reference's 178 for CelebA, 256 for --data folders)"},
		&cli.IntFlag{Name: "g-conv-dim", Category: catModel, Value: d.GConvDim, Usage: "generator filters in the first layer"},
		&cli.IntFlag{Name: "d-conv-dim", Category: catModel, Value: d.DConvDim, Usage: "discriminator filters in the first layer"},
		&cli.IntFlag{Name: "g-repeat-num", Category: catModel, Value: d.GRepeatNum, Usage: "generator residual blocks"},
		&cli.IntFlag{Name: "d-repeat-num", Category: catModel, Value: d.DRepeatNum, Usage: "discriminator strided conv layers"},
		&cli.Float64Flag{Name: "lambda-cls", Category: catTraining, Value: d.LambdaCls, Usage: "weight of the domain classification loss", Action: nonNegative("lambda-cls")},
		&cli.Float64Flag{Name: "lambda-rec", Category: catTraining, Value: d.LambdaRec, Usage: "weight of the reconstruction loss", Action: nonNegative("lambda-rec")},
		&cli.Float64Flag{Name: "lambda-gp", Category: catTraining, Value: d.LambdaGP, Usage: "weight of the gradient penalty", Action: nonNegative("lambda-gp")},
		&cli.IntFlag{Name: "n-critic", Category: catTraining, Value: d.NCritic, Usage: "critic steps per generator step"},
		&cli.IntFlag{Name: "iters", Category: catTraining, Value: d.Iters, Usage: "training iterations"},
		&cli.IntFlag{Name: "iters-decay", Category: catTraining, Value: d.ItersDecay, Usage: "final iterations over which the learning rates decay"},
		&cli.IntFlag{Name: "lr-update-step", Category: catTraining, Value: d.LRUpdateStep, Usage: "iterations between learning-rate updates"},
		&cli.Float64Flag{Name: "g-lr", Category: catTraining, Value: d.GLR, Usage: "generator learning rate", Action: nonNegative("g-lr")},
		&cli.Float64Flag{Name: "d-lr", Category: catTraining, Value: d.DLR, Usage: "discriminator learning rate", Action: nonNegative("d-lr")},
		&cli.Float64Flag{Name: "beta1", Category: catTraining, Value: d.Beta1, Usage: "Adam beta1", Action: unitInterval("beta1")},
		&cli.Float64Flag{Name: "beta2", Category: catTraining, Value: d.Beta2, Usage: "Adam beta2", Action: unitInterval("beta2")},
		&cli.StringFlag{Name: "decay", Category: catTraining, Value: d.Decay, Usage: "learning-rate decay: linear (to zero) or reference (the reference's arithmetic)"},
		&cli.IntFlag{Name: "batch", Category: catData, Value: d.Batch, Usage: "batch size"},
		dropLastFlag,
		&cli.Uint64Flag{Name: "seed", Category: catRun, Value: d.Seed, Usage: "seed of all randomness"},
		&cli.StringFlag{Name: "device", Category: catRun, Value: d.Device, Usage: "cpu, cuda[:N] or auto"},
		&cli.IntFlag{Name: "threads", Category: catRun, Usage: "ONNX Runtime threads per operator (0: one per core)"},
		&cli.IntFlag{Name: "max-iters", Category: catRun, Usage: "stop after this many iterations without changing the schedule (0: all)"},
		&cli.IntFlag{Name: "save-every", Category: catRun, Value: d.SaveEvery, Usage: "save {ITER}-G/-D checkpoints every N iterations"},
		&cli.IntFlag{Name: "sample-every", Category: catRun, Value: d.SampleEvery, Usage: "write a sample grid every N iterations (0: never)"},
		resumeFlag, overwriteFlag,
		&cli.StringFlag{Name: "init", Category: catRun, Usage: "start from PREFIX-G and PREFIX-D (.ckpt or .safetensors), e.g. runs/celeba/200000"},
	}, trainOutputFlags...)
}

var trainStarGANCommand = &cli.Command{
	Name:  "stargan",
	Usage: "train a StarGAN on CelebA-style attributes or one folder per domain",
	Description: `A critic step every iteration (adversarial terms, classification of real
images, gradient penalty with second-order gradients through D) and a generator
step every --n-critic iterations. RUNDIR gets {ITER}-G and {ITER}-D
.safetensors with the run state, options.json, loss_log.jsonl, loss.png,
index.html and samples/ (fixed images, the input followed by one column per
target). --init PREFIX takes PREFIX-G and PREFIX-D, such as the reference's
200000-G.ckpt and -D.ckpt; --c-dim defaults to the data's label count.

Example:
   ganrt data synth --kind weather-single --out /tmp/ws --size 64
   ganrt train stargan --data /tmp/ws/train --image-size 64 --crop-size 64 \
       --g-conv-dim 32 --d-conv-dim 32 --batch 4 --iters 2000 --iters-decay 1000 --out runs/ws`,
	Flags: starGANFlags(),
	Action: func(c *cli.Context) error {
		cfg := train.DefaultStarGANConfig
		cfg.CelebAImages, cfg.CelebAAttrs, cfg.Folders = c.String("celeba-images"), c.String("celeba-attrs"), c.String("data")
		cfg.Attrs, cfg.Exclusive = splitList(c.String("attrs")), splitList(c.String("exclusive"))
		cfg.CelebASplit = c.Int("celeba-split")
		cfg.Out, cfg.CDim, cfg.ImageSize, cfg.CropSize = c.String("out"), c.Int("c-dim"), c.Int("image-size"), c.Int("crop-size")
		cfg.GConvDim, cfg.DConvDim = c.Int("g-conv-dim"), c.Int("d-conv-dim")
		cfg.GRepeatNum, cfg.DRepeatNum = c.Int("g-repeat-num"), c.Int("d-repeat-num")
		cfg.LambdaCls, cfg.LambdaRec, cfg.LambdaGP = c.Float64("lambda-cls"), c.Float64("lambda-rec"), c.Float64("lambda-gp")
		cfg.NCritic, cfg.Iters, cfg.ItersDecay, cfg.LRUpdateStep = c.Int("n-critic"), c.Int("iters"), c.Int("iters-decay"), c.Int("lr-update-step")
		cfg.GLR, cfg.DLR, cfg.Beta1, cfg.Beta2 = c.Float64("g-lr"), c.Float64("d-lr"), c.Float64("beta1"), c.Float64("beta2")
		cfg.Decay, cfg.Batch = c.String("decay"), c.Int("batch")
		cfg.Seed, cfg.Device, cfg.Threads = c.Uint64("seed"), c.String("device"), c.Int("threads")
		cfg.MaxIters, cfg.SaveEvery, cfg.SampleEvery = c.Int("max-iters"), c.Int("save-every"), c.Int("sample-every")
		cfg.Init, cfg.DropLast, cfg.Overwrite = c.String("init"), c.Bool(dropLastFlag.Name), c.Bool(overwriteFlag.Name)
		if c.Bool(resumeFlag.Name) {
			var err error
			if cfg, err = train.ResumeStarGANConfig(cfg.Out, cfg, c.IsSet); err != nil {
				return err
			}
		}
		p := newTrainProgress(c, "stargan", slices.Concat(train.StarGANDLosses, train.StarGANGLosses),
			cfg.Device, starGANSize(cfg), starGANSmaller)
		if err := train.TrainStarGAN(c.Context, cfg, p, trainLogger(c)); err != nil {
			return err
		}
		return finishTraining(c, p, "stargan", cfg.Out,
			func(iter int) string { return filepath.Join(cfg.Out, fmt.Sprintf("%d-{G,D}.safetensors", iter)) },
			func(iter int) string { return filepath.Join(cfg.Out, fmt.Sprintf("%d-G.safetensors", iter)) })
	},
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// nonNegative is the Action of a float flag that takes a finite value >= 0
// (learning rates, loss weights, the init gain): NaN, Inf and negative
// values are refused naming the flag.
func nonNegative(name string) func(*cli.Context, float64) error {
	return func(_ *cli.Context, v float64) error {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("--%s %v: want a finite number >= 0", name, v)
		}
		return nil
	}
}

// unitInterval is the Action of a float flag in [0, 1) (Adam's betas: 1
// would never forget, and the bias correction divides by 1 - beta^t).
func unitInterval(name string) func(*cli.Context, float64) error {
	return func(_ *cli.Context, v float64) error {
		if math.IsNaN(v) || v < 0 || v >= 1 {
			return fmt.Errorf("--%s %v: want a number in [0, 1)", name, v)
		}
		return nil
	}
}
