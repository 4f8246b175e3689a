package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/graph"
)

// Flags that describe or override a checkpoint's network.
var (
	archFlag = &cli.StringFlag{Name: "arch", Category: catModel,
		Usage: "CycleGAN generator architecture (resnet_9blocks, resnet_6blocks, unet_256, unet_128); default: detected"}
	normFlag = &cli.StringFlag{Name: "norm", Category: catModel,
		Usage: "CycleGAN norm layer (instance, batch, none); default: detected"}
	dropoutFlag = &cli.BoolFlag{Name: "dropout", Category: catModel,
		Usage: "CycleGAN generator has dropout layers (shifts ResNet keys; U-Net keys do not show it); default: detected"}
	domainsFlag = &cli.StringFlag{Name: "domains", Category: catModel,
		Usage: "StarGAN attribute or domain names in label order, comma-separated (e.g. Black_Hair,Blond_Hair,Brown_Hair,Male,Young)"}
)

// Flags of ONNX export.
var (
	batchFlag  = &cli.IntFlag{Name: "batch", Category: catOutput, Usage: "fix the batch size of the ONNX model (0: dynamic)"}
	heightFlag = &cli.IntFlag{Name: "height", Category: catOutput, Usage: "fix the image height of the ONNX model (0: dynamic)"}
	widthFlag  = &cli.IntFlag{Name: "width", Category: catOutput, Usage: "fix the image width of the ONNX model (0: dynamic)"}
	fp16Flag   = &cli.BoolFlag{Name: "fp16", Category: catOutput, Usage: "store ONNX weights as float16 (inputs and outputs stay float32)"}
	opsetFlag  = &cli.IntFlag{Name: "opset", Category: catOutput, Value: graph.ONNXOpset,
		Usage: fmt.Sprintf("ONNX opset of the model, %d to %d", graph.ONNXOpset, graph.MaxONNXOpset)}
	trainModeNormFlag = &cli.BoolFlag{Name: "train-mode-norm", Category: catOutput,
		Usage: "batch norm with the statistics of each image, as the CycleGAN reference's test.py without --eval (batch fixed at 1; dropout stays off); batch-norm generators only"}
)

// allowNonFiniteFlag lets export, convert and translate use weights that hold
// NaN or infinite values.
var allowNonFiniteFlag = &cli.BoolFlag{Name: "allow-nonfinite", Category: catModel,
	Usage: "use weights that hold NaN or infinite values (refused by default: a diverged run gives black or garbage images)"}

var modelFlags = []cli.Flag{archFlag, normFlag, dropoutFlag, domainsFlag, allowNonFiniteFlag}

var onnxFlags = []cli.Flag{batchFlag, heightFlag, widthFlag, fp16Flag, opsetFlag, trainModeNormFlag}

func overridesFrom(c *cli.Context) export.Overrides {
	ov := export.Overrides{NetG: c.String(archFlag.Name), Norm: c.String(normFlag.Name),
		AllowNonFinite: c.Bool(allowNonFiniteFlag.Name)}
	if c.IsSet(dropoutFlag.Name) {
		d := c.Bool(dropoutFlag.Name)
		ov.Dropout = &d
	}
	ov.Domains = splitList(c.String(domainsFlag.Name))
	return ov
}

func onnxOptionsFrom(c *cli.Context) export.ONNXOptions {
	return export.ONNXOptions{
		Batch:         c.Int(batchFlag.Name),
		Height:        c.Int(heightFlag.Name),
		Width:         c.Int(widthFlag.Name),
		FP16:          c.Bool(fp16Flag.Name),
		Opset:         c.Int(opsetFlag.Name),
		TrainModeNorm: c.Bool(trainModeNormFlag.Name),
	}
}

var convertCommand = &cli.Command{
	Name:      "convert",
	Usage:     "convert a checkpoint between PyTorch, safetensors and ONNX",
	ArgsUsage: "SRC DST",
	Description: `Reads SRC, a PyTorch state dict (.pth, .pt, .ckpt; zip or legacy format,
read without running pickle code) or a ganrt .safetensors checkpoint, and writes
DST by its extension: .safetensors (a ganrt checkpoint whose keys are the
reference state-dict keys) or .onnx (the frozen generator).

The network and its options are detected from the keys and shapes; the model
flags override what detection finds. The output is written atomically.

Example:
   ganrt convert latest_net_G_A.pth horse2zebra.onnx
   ganrt convert 200000-G.ckpt stargan.safetensors --domains Black_Hair,Blond_Hair,Brown_Hair,Male,Young`,
	Flags: append(append(append([]cli.Flag{}, modelFlags...), onnxFlags...), jsonFlag),
	Action: func(c *cli.Context) error {
		if c.NArg() != 2 {
			return fmt.Errorf("convert needs SRC and DST, got %d arguments", c.NArg())
		}
		src, dst := c.Args().Get(0), c.Args().Get(1)
		m, err := export.Convert(src, dst, overridesFrom(c), onnxOptionsFrom(c))
		if err != nil {
			return err
		}
		for _, w := range m.Warnings() {
			fmt.Fprintln(c.App.ErrWriter, "warning:", w)
		}
		info, err := export.Inspect(dst)
		if err != nil {
			return err
		}
		res := exportResult{Source: src, Output: dst, Model: info}
		if info.Spec != nil {
			res.Network, res.Spec = info.Spec.String(), *info.Spec
		}
		if info.Format == "onnx" {
			res.ONNX, res.Output = dst, ""
		}
		return res.print(c)
	},
}
