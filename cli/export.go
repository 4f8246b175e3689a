package cli

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/models"
)

var exportOutFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput,
	Usage: "ONNX file to write (needed unless --triton is given)"}

// Flags of the Triton model repository export.
var (
	tritonDirFlag = &cli.StringFlag{Name: "triton", Category: catOutput,
		Usage: "write a Triton Inference Server model repository entry under `DIR`: NAME/config.pbtxt and NAME/1/model.onnx"}
	tritonNameFlag = &cli.StringFlag{Name: "triton-name", Category: catOutput,
		Usage: "Triton model name and folder (default: the checkpoint's file name without extension; for latest_net_G_A or 200000-G, the run folder's name, e.g. horse2zebra_G_A)"}
	tritonVersionFlag = &cli.IntFlag{Name: "model-version", Category: catOutput, Value: 1,
		Usage: "Triton model version: the model goes to NAME/`N`/model.onnx, beside other versions"}
	tritonOverwriteFlag = &cli.BoolFlag{Name: "overwrite", Category: catOutput,
		Usage: "replace an existing Triton model version (and a config.pbtxt that differs, which serves every version)"}
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
(or as well, with -o): DIR/NAME/VERSION/model.onnx, the same bytes as -o
writes, and DIR/NAME/config.pbtxt for the ONNX Runtime backend with dynamic
batching and one CPU instance (a comment in it says how to switch to GPUs).
Triton batches along the first dimension, so --batch must stay 0 (dynamic).
NAME defaults to the checkpoint's name, or for a training checkpoint
(latest_net_G_A, 200000-G) to its run folder's (h2z_G_A); an existing version
is kept unless --overwrite.

Examples:
   ganrt export runs/h2z/latest_net_G_A.safetensors -o h2z.onnx --fp16
   ganrt export runs/h2z/latest_net_G_A.safetensors --triton models/ --triton-name horse2zebra --model-version 2`,
	Flags: append(append(append([]cli.Flag{exportOutFlag}, modelFlags...), onnxFlags...),
		tritonDirFlag, tritonNameFlag, tritonVersionFlag, tritonOverwriteFlag, tritonMaxBatchFlag, jsonFlag),
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
		res := exportResult{Source: m.Path, Network: m.Spec.String(), Spec: m.Spec}
		if triton != "" {
			dir, err := export.WriteTriton(m, triton, export.TritonOptions{
				Name:      c.String(tritonNameFlag.Name),
				Version:   c.Int(tritonVersionFlag.Name),
				Overwrite: c.Bool(tritonOverwriteFlag.Name),
				MaxBatch:  c.Int(tritonMaxBatchFlag.Name),
				ONNX:      onnxOptionsFrom(c),
			})
			if err != nil {
				return err
			}
			res.Triton = dir
		}
		if out != "" {
			if err := export.WriteONNX(m, out, onnxOptionsFrom(c)); err != nil {
				return err
			}
			res.ONNX = out
		}
		return res.print(c)
	},
}

// exportResult is what export and convert wrote (--json): the source, its
// network, and the written files; with --json also the written model as
// ganrt info describes it.
type exportResult struct {
	Source  string       `json:"source"`
	Network string       `json:"network"`
	Spec    models.Spec  `json:"spec"`
	ONNX    string       `json:"onnx,omitempty"`
	Triton  string       `json:"triton,omitempty"`
	Output  string       `json:"output,omitempty"` // convert's .safetensors
	Model   *export.Info `json:"model,omitempty"`
}

func (r exportResult) print(c *cli.Context) error {
	w := c.App.Writer
	if !c.Bool(jsonFlag.Name) {
		if r.Triton != "" {
			fmt.Fprintf(w, "wrote Triton model %s (%s)\n", r.Triton, r.Network)
		}
		for _, f := range []string{r.ONNX, r.Output} {
			if f != "" {
				fmt.Fprintf(w, "wrote %s (%s)\n", f, r.Network)
			}
		}
		return nil
	}
	if f := cmp.Or(r.ONNX, r.Output); f != "" && r.Model == nil {
		info, err := export.Inspect(f)
		if err != nil {
			return err
		}
		r.Model = info
	}
	return writeJSON(w, r)
}
