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

// Flags of the int8 and fp16-compute exports.
var (
	int8Flag = &cli.BoolFlag{Name: "int8", Category: catModel,
		Usage: "write a static int8 QDQ model (int8 per-channel weights, uint8 activations) calibrated on --calibrate"}
	calibrateFlag = &cli.StringFlag{Name: "calibrate", Category: catModel,
		Usage: "folder of calibration images for --int8 (subfolders too; not the images you judge the model on)"}
	calibMethodFlag = &cli.StringFlag{Name: "calibration", Category: catModel, Value: export.DefaultCalibration,
		Usage: "how --int8 picks activation ranges: minmax, percentile (clips each tail at --percentile) or mse (the range with the least expected squared error; measured best)"}
	calibPercentileFlag = &cli.Float64Flag{Name: "percentile", Category: catModel, Value: export.DefaultPercentile,
		Usage: "share of activation values --calibration percentile keeps, in (90, 100)"}
	calibImagesFlag = &cli.IntFlag{Name: "calib-images", Category: catModel, Value: export.DefaultCalibImages,
		Usage: fmt.Sprintf("use at most `N` calibration images (the first in sorted order; at most %d)", export.MaxCalibImages)}
	calibSizeFlag = &cli.IntFlag{Name: "calib-size", Category: catModel,
		Usage: fmt.Sprintf("resize calibration images to `SIDE`xSIDE (default: --height/--width if fixed, else %d)", export.DefaultCalibSize)}
	int8EdgesFlag = &cli.BoolFlag{Name: "int8-edges", Category: catModel,
		Usage: "with --int8, also quantize the first and last convolution (float by default)"}
	noEqualizeFlag = &cli.BoolFlag{Name: "no-equalize", Category: catModel,
		Usage: "with --int8, do not equalize the output channels of the convolutions before instance norms (equalizing drops their bias and scales channels to one range, which the norm undoes)"}
	fp16ComputeFlag = &cli.BoolFlag{Name: "fp16-compute", Category: catModel,
		Usage: "compute the whole graph in float16 (float32 input and output, Casts at the edges only): for GPUs"}
	fp32NormFlag = &cli.BoolFlag{Name: "fp32-norm", Category: catModel,
		Usage: "with --fp16-compute, keep instance/batch norm in float32"}
)

// exportONNXOptions adds the export-only flags to onnxOptionsFrom's.
func exportONNXOptions(c *cli.Context) (export.ONNXOptions, error) {
	o := onnxOptionsFrom(c)
	o.FP16Compute, o.FP32Norm = c.Bool(fp16ComputeFlag.Name), c.Bool(fp32NormFlag.Name)
	dir := c.String(calibrateFlag.Name)
	if !c.Bool(int8Flag.Name) {
		for _, f := range []cli.Flag{calibrateFlag, calibMethodFlag, calibPercentileFlag, calibImagesFlag, calibSizeFlag, int8EdgesFlag, noEqualizeFlag} {
			if c.IsSet(f.Names()[0]) {
				return o, fmt.Errorf("--%s applies to --int8 only", f.Names()[0])
			}
		}
		return o, nil
	}
	if dir == "" {
		return o, errors.New("--int8 needs --calibrate DIR, a folder of calibration images")
	}
	edges := c.Bool(int8EdgesFlag.Name)
	o.Int8 = &export.Int8Options{
		Calibrate:     dir,
		Method:        c.String(calibMethodFlag.Name),
		Percentile:    c.Float64(calibPercentileFlag.Name),
		MaxImages:     c.Int(calibImagesFlag.Name),
		Size:          c.Int(calibSizeFlag.Name),
		QuantizeFirst: edges,
		QuantizeLast:  edges,
		NoEqualize:    c.Bool(noEqualizeFlag.Name),
	}
	return o, nil
}

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

--int8 --calibrate DIR writes a static int8 QDQ model instead: int8 weights
(one symmetric scale per output channel), uint8 activations calibrated on the
images of DIR (--calibration mse by default), the first and last convolution
float; float32 input and output, so translate, serve, eval and bench run it
unchanged, and info shows how it was calibrated. --fp16-compute writes a model
that computes in float16 throughout (for GPUs), with float32 input and output.

Examples:
   ganrt export runs/h2z/latest_net_G_A.safetensors -o h2z.onnx --fp16
   ganrt export runs/h2z/latest_net_G_A.safetensors -o h2z-int8.onnx --int8 --calibrate data/h2z/trainA
   ganrt export runs/h2z/latest_net_G_A.safetensors --triton models/ --triton-name horse2zebra --model-version 2`,
	Flags: append(append(append([]cli.Flag{exportOutFlag}, modelFlags...), onnxFlags...),
		int8Flag, calibrateFlag, calibMethodFlag, calibPercentileFlag, calibImagesFlag, calibSizeFlag, int8EdgesFlag, noEqualizeFlag,
		fp16ComputeFlag, fp32NormFlag,
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
		o, err := exportONNXOptions(c)
		if err != nil {
			return err
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
				ONNX:      o,
			})
			if err != nil {
				return err
			}
			res.Triton = dir
		}
		if out != "" {
			if err := export.WriteONNX(m, out, o); err != nil {
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
