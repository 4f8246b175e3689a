package cli

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/demo"
)

var demoCommand = &cli.Command{
	Name:  "demo",
	Usage: "train, export, translate and evaluate a small CycleGAN on synthetic day/night scenes",
	Description: `The README's first command (make demo). Generates a synthetic day/night data set
whose test scenes have true night renders, trains a small CycleGAN on --device
(the CPU by default) for --minutes, exports the day-to-night generator to ONNX, translates the test
scenes into a side-by-side grid, and prints the L1/PSNR against the truth
beside the identity baseline, and the inference latency.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "out", Category: catOutput, Value: demo.Default.Out, Usage: "folder for the data, run, model and grid (replaced when an earlier demo made it; a folder holding other files is refused)"},
		&cli.Float64Flag{Name: "minutes", Category: catRun, Value: demo.Default.Train.Minutes(), Usage: "training time budget"},
		&cli.IntFlag{Name: "size", Category: catData, Value: demo.Default.Size, Usage: "image side"},
		&cli.Uint64Flag{Name: "seed", Category: catRun, Value: demo.Default.Seed, Usage: "seed of the data and the training"},
		&cli.StringFlag{Name: "device", Category: catRuntime, Value: "cpu", Usage: "where to train and translate: cpu, cuda[:N] or auto"},
		quietFlag, printEveryFlag,
	},
	Action: func(c *cli.Context) error {
		cfg := demo.Default
		cfg.Out, cfg.Size, cfg.Seed, cfg.Device = c.String("out"), c.Int("size"), c.Uint64("seed"), c.String("device")
		cfg.Train = minutes(c.Float64("minutes"))
		p := newProgress(c.App.ErrWriter, "training", "it", c.Int(printEveryFlag.Name), c.Bool(quietFlag.Name))
		p.budget, p.order = cfg.Train, []string{"cycle_A", "G_A"}
		return demo.Run(c.Context, cfg, p, c.App.Writer)
	},
}

func minutes(m float64) time.Duration { return time.Duration(m * float64(time.Minute)) }
