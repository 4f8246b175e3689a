package cli

import (
	"encoding/json"
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
		&cli.StringFlag{Name: "model", Category: catModel, Required: true, Usage: "exported generator (.onnx)"},
		&cli.StringFlag{Name: "input", Category: catData, Required: true, Usage: "folder of input images"},
		&cli.StringFlag{Name: "truth", Category: catData, Required: true, Usage: "folder of ground-truth counterparts"},
		&cli.StringFlag{Name: "device", Category: catRuntime, Value: "cpu", Usage: "cpu, cuda[:N], tensorrt[:N] or auto"},
		jsonFlag,
	},
	Action: func(c *cli.Context) error {
		t, err := runtime.Open(c.String("model"), runtime.Options{Device: c.String("device")})
		if err != nil {
			return err
		}
		defer t.Close()
		rep, err := eval.Run(c.Context, t, c.String("input"), c.String("truth"))
		if err != nil {
			return err
		}
		if c.Bool(jsonFlag.Name) {
			enc := json.NewEncoder(c.App.Writer)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		fmt.Fprint(c.App.Writer, rep.Text())
		return nil
	},
}
