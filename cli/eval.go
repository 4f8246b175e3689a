package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/eval"
	"github.com/ganrt/ganrt/runtime"
)

var evalCommand = &cli.Command{
	Name:      "eval",
	Usage:     "measure a generator against ground-truth counterparts (L1, PSNR) beside the identity baseline",
	ArgsUsage: " ",
	Description: `Translates every image under --input and compares it with its true
counterpart under --truth, as 'ganrt data synth' lays them out: the same file
name for CycleGAN (testA -> testA_truth), TRUTH/SCENE/LABEL.png for StarGAN
(one row per target label). The identity row compares the input itself with
the truth: a useful model beats it.

Example:
   ganrt eval --model dn.onnx --input /tmp/dn/testA --truth /tmp/dn/testA_truth`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "model", Category: catModel, Required: true, Usage: "exported generator (.onnx), or a generator checkpoint exported in memory"},
		&cli.StringFlag{Name: "input", Category: catData, Required: true, Usage: "folder of input images"},
		&cli.StringFlag{Name: "truth", Category: catData, Required: true, Usage: "folder of ground-truth counterparts"},
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
		rep, err := eval.Run(c.Context, t, c.String("input"), c.String("truth"))
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
