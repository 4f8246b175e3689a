package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/export"
)

var exportOutFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput, Required: true,
	Usage: "ONNX file to write"}

var exportCommand = &cli.Command{
	Name:      "export",
	Usage:     "export a generator checkpoint as an ONNX inference model",
	ArgsUsage: "CKPT",
	Description: `Writes the frozen generator of CKPT (ganrt .safetensors or PyTorch state dict)
as ONNX: input "image" [N,3,H,W] in [-1,1] (StarGAN also "label" [N,c_dim]),
output "output" [N,3,H,W] in [-1,1], weights as initializers, instance norm as
InstanceNormalization, dynamic N/H/W unless fixed, and metadata (network spec,
domain names, normalization) that translate and serve read. Exporting twice
gives identical bytes.

Example:
   ganrt export runs/h2z/latest_net_G_A.safetensors -o h2z.onnx --fp16`,
	Flags: append(append([]cli.Flag{exportOutFlag}, modelFlags...), onnxFlags...),
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("export needs one checkpoint, got %d arguments", c.NArg())
		}
		m, err := export.Load(c.Args().First(), overridesFrom(c))
		if err != nil {
			return err
		}
		out := c.String(exportOutFlag.Name)
		if err := export.WriteONNX(m, out, onnxOptionsFrom(c)); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "wrote %s (%s)\n", out, m.Spec)
		return nil
	},
}
