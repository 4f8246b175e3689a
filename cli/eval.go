package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/eval"
	"github.com/ganrt/ganrt/runtime"
)

var evalCommand = &cli.Command{
	Name:      "eval",
	Usage:     "measure a generator against ground-truth counterparts (L1, PSNR, SSIM) beside baselines that learn nothing",
	ArgsUsage: " ",
	Description: `Translates every image under --input and compares it with its true
counterpart under --truth, as 'ganrt data synth' lays them out: the same file
name for CycleGAN (testA -> testA_truth), TRUTH/SCENE/LABEL.png for StarGAN
(one row per target, named by its domain). Beside the model, three baselines
that learn nothing are measured the same way: identity (the input itself),
mean_std (each RGB channel moved to the target domain's mean and standard
deviation) and histogram (each channel's histogram matched to the target
domain's), their target statistics taken from the training images under
--train alone (at most --max-train per domain). The text marks the best
baseline of each figure with '*' and gives the model's margin over it; the
model is better than the baselines only where that margin is positive.
L1 and PSNR are over RGB in [0,1]; SSIM is on the luminance (BT.601 Y) with
the standard 11x11 Gaussian window (sigma 1.5), as skimage computes it.
--json gives every figure: per image, per target and in total.

Examples:
   ganrt eval --model dn.onnx --input /tmp/dn/testA --truth /tmp/dn/testA_truth --train /tmp/dn/trainB
   ganrt eval --model sg.onnx --input /tmp/w/test --truth /tmp/w/test_truth --train /tmp/w/train`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "model", Category: catModel, Required: true, Usage: "exported generator (.onnx), or a generator checkpoint exported in memory"},
		&cli.StringFlag{Name: "input", Category: catData, Required: true, Usage: "folder of input images"},
		&cli.StringFlag{Name: "truth", Category: catData, Required: true, Usage: "folder of ground-truth counterparts"},
		&cli.StringFlag{Name: "train", Category: catData, Required: true, Usage: "training images for the baselines' target statistics: the target domain's folder (CycleGAN: DATA/trainB), or the training set (StarGAN: a folder per domain, or a folder with list_attr.txt and images/)"},
		&cli.IntFlag{Name: "max-train", Category: catData, Value: eval.DefaultMaxTrainImages, Usage: "training images read per target domain at most (the first in sorted order)"},
		&cli.StringFlag{Name: "device", Category: catRuntime, Value: "cpu", Usage: "cpu, cuda[:N], tensorrt[:N] or auto"},
		jsonFlag, quietFlag, translatePrintEveryFlag,
	},
	Action: func(c *cli.Context) error {
		p := newProgress(c.App.ErrWriter, "eval", "img", c.Int(translatePrintEveryFlag.Name), c.Bool(quietFlag.Name))
		t, err := openModel(c.String("model"), runtime.Options{Device: c.String("device"),
			OnBatch: func(s runtime.BatchStats) { p.Add(s.Images) }}, false)
		if err != nil {
			return err
		}
		defer t.Close()
		p.Start(0, 0)
		rep, err := eval.Run(c.Context, t, eval.Options{Input: c.String("input"), Truth: c.String("truth"),
			Train: c.String("train"), MaxTrainImages: c.Int("max-train")})
		p.Finish()
		if err != nil {
			return err
		}
		if c.Bool(jsonFlag.Name) {
			return writeJSON(c.App.Writer, rep)
		}
		fmt.Fprint(c.App.Writer, rep.Text())
		return nil
	},
}
