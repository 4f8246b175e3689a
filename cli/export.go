package cli

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/export"
)

var exportOutFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput,
	Usage: "ONNX file to write (needed unless --triton is given)"}

// Flags of the Triton model repository export.
var (
	tritonDirFlag = &cli.StringFlag{Name: "triton", Category: catOutput,
		Usage: "write a Triton Inference Server model repository entry under `DIR`: NAME/config.pbtxt and NAME/1/model.onnx"}
	tritonNameFlag = &cli.StringFlag{Name: "triton-name", Category: catOutput,
		Usage: "Triton model name and folder (default: the checkpoint's file name without extension)"}
	tritonMaxBatchFlag = &cli.IntFlag{Name: "max-batch", Category: catOutput, Value: export.DefaultTritonMaxBatch,
		Usage: "Triton max_batch_size: the most requests its dynamic batcher puts in one run"}
)

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

--triton DIR writes a Triton Inference Server model repository entry instead
(or as well, with -o): DIR/NAME/1/model.onnx, the same bytes as -o writes, and
DIR/NAME/config.pbtxt for the ONNX Runtime backend with dynamic batching and
one CPU instance (a comment in it says how to switch to GPUs). Triton batches
along the first dimension, so --batch must stay 0 (dynamic).

Examples:
   ganrt export runs/h2z/latest_net_G_A.safetensors -o h2z.onnx --fp16
   ganrt export runs/h2z/latest_net_G_A.safetensors --triton models/ --triton-name horse2zebra`,
	Flags: append(append(append([]cli.Flag{exportOutFlag}, modelFlags...), onnxFlags...),
		tritonDirFlag, tritonNameFlag, tritonMaxBatchFlag),
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return fmt.Errorf("export needs one checkpoint, got %d arguments", c.NArg())
		}
		out, triton := c.String(exportOutFlag.Name), c.String(tritonDirFlag.Name)
		if out == "" && triton == "" {
			return errors.New("export needs -o FILE.onnx or --triton DIR")
		}
		if mb := c.Int(tritonMaxBatchFlag.Name); triton != "" && mb < 1 {
			return fmt.Errorf("--max-batch %d: need 1 or more", mb)
		}
		m, err := export.Load(c.Args().First(), overridesFrom(c))
		if err != nil {
			return err
		}
		if triton != "" {
			dir, err := export.WriteTriton(m, triton, export.TritonOptions{
				Name:     c.String(tritonNameFlag.Name),
				MaxBatch: c.Int(tritonMaxBatchFlag.Name),
				ONNX:     onnxOptionsFrom(c),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote Triton model %s (%s)\n", dir, m.Spec)
		}
		if out == "" {
			return nil
		}
		if err := export.WriteONNX(m, out, onnxOptionsFrom(c)); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "wrote %s (%s)\n", out, m.Spec)
		return nil
	},
}
