package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/demo"
)

var demoCommand = &cli.Command{
	Name:  "demo",
	Usage: "train, export, translate and evaluate a small CycleGAN on synthetic day/night scenes",
	Description: `The README's first command (make demo). Generates a synthetic day/night data set
whose test scenes have true night renders, trains a small CycleGAN on the CPU
for --minutes, exports the day-to-night generator to ONNX, translates the test
scenes into a side-by-side grid, and prints the L1/PSNR against the truth
beside the identity baseline, and the inference latency.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "out", Category: catOutput, Value: demo.Default.Out, Usage: "folder for the data, run, model and grid (replaced)"},
		&cli.Float64Flag{Name: "minutes", Category: catRun, Value: demo.Default.Train.Minutes(), Usage: "training time budget"},
		&cli.IntFlag{Name: "size", Category: catData, Value: demo.Default.Size, Usage: "image side"},
		&cli.Uint64Flag{Name: "seed", Category: catRun, Value: demo.Default.Seed, Usage: "seed of the data and the training"},
	},
	Action: func(c *cli.Context) error {
		cfg := demo.Default
		cfg.Out, cfg.Size, cfg.Seed = c.String("out"), c.Int("size"), c.Uint64("seed")
		cfg.Train = minutes(c.Float64("minutes"))
		return demo.Run(c.Context, cfg, &budgetBar{budget: cfg.Train}, c.App.Writer)
	},
}

// budgetBar shows training against a time budget: the bar fills with
// elapsed seconds rather than iterations, whose total is open.
type budgetBar struct {
	budget time.Duration
	start  time.Time
	pb     *progressbar.ProgressBar
}

func (b *budgetBar) Start(done, total int) {
	b.start = time.Now()
	b.pb = progressbar.NewOptions(int(b.budget.Seconds()),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription("training"),
		progressbar.OptionThrottle(500*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (b *budgetBar) Iter(iter int, losses map[string]float64) {
	b.pb.Describe(fmt.Sprintf("training: iteration %d, cycle_A %.3f, G_A %.3f", iter, losses["cycle_A"], losses["G_A"]))
	_ = b.pb.Set(int(time.Since(b.start).Seconds()))
}

func (b *budgetBar) Finish() { _ = b.pb.Finish() }

func minutes(m float64) time.Duration { return time.Duration(m * float64(time.Minute)) }
