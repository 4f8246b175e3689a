package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/demo"
)

var (
	demoOutFlag = &cli.StringFlag{Name: "out", Category: catOutput, Value: demo.Default.Out,
		Usage: "folder for the data, run, models and grid: new, empty, or a previous demo output (replaced); anything else is refused"}
	demoSeedFlag    = &cli.Uint64Flag{Name: "seed", Category: catRun, Value: demo.Default.Seed, Usage: "seed of the data and the training"}
	demoDeviceFlag  = &cli.StringFlag{Name: "device", Category: catRuntime, Value: "cpu", Usage: "where to train and translate: cpu, cuda[:N] or auto"}
	demoThreadsFlag = &cli.IntFlag{Name: "threads", Category: catRuntime, Value: 1, Usage: "ONNX Runtime intra-op threads for training (0: one per core); 1 trains the same run on every machine, another count a similar one"}
)

var demoCommand = &cli.Command{
	Name:      "demo",
	Usage:     "train, export, translate and evaluate a small CycleGAN on synthetic day/night scenes",
	ArgsUsage: " ",
	Description: `The README's first command (make demo). Generates a synthetic day/night data set
whose test scenes have true night renders, trains a small CycleGAN on --device
(the CPU by default) for a fixed, seeded number of iterations (about 4 minutes
on 2 cores; every machine trains the same run), exports the day-to-night
generator to ONNX, and measures it against the true night renders (L1, PSNR,
SSIM) beside the baselines that learn nothing (identity, mean/std colour
transfer and histogram matching to the night training images; see ganrt help
eval). A longer run's generator, shipped in the binary (trained by the command
in demo/longrun/README.md), is measured on the same scenes. OUT/grid.png shows
day input | best baseline | the demo's run | the longer run | true night, one
test scene a row. Last, the latency of the model as 'ganrt bench' measures it.
The demo fails (exit 1) if its model does not beat the best baseline on both
PSNR and SSIM.

'ganrt demo stargan' does the same for StarGAN on six weather domains.`,
	Flags: []cli.Flag{
		demoOutFlag,
		&cli.IntFlag{Name: "size", Category: catData, Value: demo.Default.Size, Usage: "image side (the longer run is shown only at 64)"},
		demoSeedFlag, demoDeviceFlag, demoThreadsFlag,
		quietFlag, printEveryFlag,
	},
	Action: func(c *cli.Context) error {
		if c.NArg() > 0 {
			return fmt.Errorf("demo takes no arguments, got %q (did you mean 'ganrt demo stargan'?)", c.Args().First())
		}
		cfg := demo.Default
		cfg.Out, cfg.Size, cfg.Seed, cfg.Device, cfg.Threads = c.String("out"), c.Int("size"), c.Uint64("seed"), c.String("device"), c.Int("threads")
		p := newProgress(c.App.ErrWriter, "training", "it", c.Int(printEveryFlag.Name), c.Bool(quietFlag.Name))
		p.order = []string{"cycle_A", "G_A"}
		_, err := demo.Run(c.Context, cfg, p, c.App.Writer)
		return err
	},
	Subcommands: []*cli.Command{{
		Name:      "stargan",
		Usage:     "the demo for StarGAN: six synthetic weather domains, one grid column per target",
		ArgsUsage: " ",
		Description: `Generates the synthetic weather domains (day, dusk, fog, night, rain, snow; a
folder each) with every test scene rendered in every domain, trains a small
StarGAN for a fixed, seeded number of iterations (about 4 minutes on 2 cores),
exports the generator, measures every test scene translated to every other
domain against its true render beside the same baselines as the CycleGAN demo
(one row per target). A generator shipped in the binary (a run at a higher learning
rate, made by the command in demo/longrun/README.md) is measured on the same
scenes.
OUT/grid.png shows, for each shown scene, a row of translations per run (input,
then one column per target) above a row of the true renders. The demo fails
(exit 1) if its model does not beat the best baseline on both PSNR and SSIM.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Category: catOutput, Value: demo.DefaultStarGAN.Out, Usage: demoOutFlag.Usage},
			&cli.Uint64Flag{Name: "seed", Category: catRun, Value: demo.DefaultStarGAN.Seed, Usage: demoSeedFlag.Usage},
			demoDeviceFlag, demoThreadsFlag, quietFlag, printEveryFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("demo stargan takes no arguments, got %q", c.Args().First())
			}
			cfg := demo.DefaultStarGAN
			cfg.Out, cfg.Seed, cfg.Device, cfg.Threads = c.String("out"), c.Uint64("seed"), c.String("device"), c.Int("threads")
			p := newProgress(c.App.ErrWriter, "training", "it", c.Int(printEveryFlag.Name), c.Bool(quietFlag.Name))
			_, err := demo.RunStarGAN(c.Context, cfg, p, c.App.Writer)
			return err
		},
	}},
}
