package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/runtime"
)

// Flags that open a model for inference (translate, bench).
var (
	rtModelFlag = &cli.StringFlag{Name: "model", Aliases: []string{"m"}, Category: catModel, Required: true,
		Usage: "exported generator (.onnx from ganrt convert or ganrt export)"}
	rtLabelsFlag = &cli.StringFlag{Name: "labels", Category: catModel, Value: "auto",
		Usage: "StarGAN label kind: multi (CelebA attributes), single (one domain per folder) or auto (multi when every label name is a CelebA attribute)"}
	rtDeviceFlag = &cli.StringFlag{Name: "device", Category: catRuntime, Value: "cpu",
		Usage: "where to run: cpu, cuda[:N], tensorrt[:N] or auto (CUDA when it works, else the CPU)"}
	rtThreadsFlag = &cli.IntFlag{Name: "threads", Category: catRuntime,
		Usage: "ONNX Runtime intra-op threads (0: one per physical core)"}
	rtGraphOptFlag = &cli.StringFlag{Name: "graph-opt", Category: catRuntime, Value: "all",
		Usage: "ONNX Runtime graph optimization: all, extended, basic or disabled"}
	rtConvAlgoFlag = &cli.StringFlag{Name: "cuda-conv-algo", Category: catRuntime,
		Usage: "cuDNN convolution algorithm search: exhaustive (ORT's default), heuristic or default"}
	rtTRTFP16Flag = &cli.BoolFlag{Name: "trt-fp16", Category: catRuntime,
		Usage: "let TensorRT run layers in half precision"}
	rtTRTCacheFlag = &cli.StringFlag{Name: "trt-cache", Category: catRuntime,
		Usage: "folder where TensorRT keeps built engines between runs"}
	rtLibraryFlag = &cli.StringFlag{Name: "ort-library", Category: catRuntime,
		Usage: "ONNX Runtime shared library to load (default: .ort/ from make ort, then the system loader)"}
	rtMaxPixelsFlag = &cli.Int64Flag{Name: "max-pixels", Category: catRuntime, Value: runtime.DefaultMaxPixels,
		Usage: "refuse images with more pixels than this (checked from the header, before decoding; 0 or negative: no limit)"}
)

// runtimeFlags are the flags of runtimeOptions.
var runtimeFlags = []cli.Flag{rtModelFlag, rtLabelsFlag, rtDeviceFlag, rtThreadsFlag, rtGraphOptFlag,
	rtConvAlgoFlag, rtTRTFP16Flag, rtTRTCacheFlag, rtLibraryFlag, rtMaxPixelsFlag}

// runtimeOptions turns the runtime flags into runtime.Options.
func runtimeOptions(c *cli.Context) (runtime.Options, error) {
	o := runtime.Options{
		Device:         c.String(rtDeviceFlag.Name),
		Library:        c.String(rtLibraryFlag.Name),
		IntraOpThreads: c.Int(rtThreadsFlag.Name),
		MaxPixels:      c.Int64(rtMaxPixelsFlag.Name),
		TensorRT:       runtime.TensorRTOptions{FP16: c.Bool(rtTRTFP16Flag.Name), EngineCacheDir: c.String(rtTRTCacheFlag.Name)},
		Logger:         slog.New(slog.NewTextHandler(c.App.ErrWriter, nil)),
	}
	var err error
	if o.Labels, err = runtime.ParseLabelMode(c.String(rtLabelsFlag.Name)); err != nil {
		return o, err
	}
	switch strings.ToLower(c.String(rtGraphOptFlag.Name)) {
	case "all", "":
		o.GraphOptLevel = runtime.GraphOptAll
	case "extended":
		o.GraphOptLevel = runtime.GraphOptExtended
	case "basic":
		o.GraphOptLevel = runtime.GraphOptBasic
	case "disabled", "none":
		o.GraphOptLevel = runtime.GraphOptDisabled
	default:
		return o, fmt.Errorf("unknown --graph-opt %q (want all, extended, basic or disabled)", c.String(rtGraphOptFlag.Name))
	}
	switch a := strings.ToLower(c.String(rtConvAlgoFlag.Name)); a {
	case "":
	case "exhaustive", "heuristic", "default":
		o.CUDA.ConvAlgoSearch = runtime.ConvAlgoSearch(strings.ToUpper(a))
	default:
		return o, fmt.Errorf("unknown --cuda-conv-algo %q (want exhaustive, heuristic or default)", a)
	}
	if o.MaxPixels == 0 {
		o.MaxPixels = -1 // runtime's 0 is the default limit; the flag's 0 is none
	}
	return o, nil
}

// Flags of translate.
var (
	translateOutFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput, Required: true,
		Usage: "output folder (created if needed); inputs are never overwritten"}
	translateFormatFlag = &cli.StringFlag{Name: "format", Category: catOutput, Value: "png",
		Usage: "output image format: png, jpg, bmp, tiff or ppm"}
	translateQualityFlag = &cli.IntFlag{Name: "quality", Category: catOutput, Value: runtime.DefaultJPEGQuality,
		Usage: "JPEG quality, 1..100"}
	translateSizeFlag = &cli.IntFlag{Name: "size", Category: catRuntime,
		Usage: "resize images to SIZE x SIZE first, as the CycleGAN reference tests (0: full resolution, output size = input size)"}
	translateBatchFlag = &cli.IntFlag{Name: "batch", Category: catRuntime, Value: 1,
		Usage: "images of the same size per ONNX Runtime run"}
	translateTargetFlag = &cli.StringFlag{Name: "target", Aliases: []string{"t"}, Category: catModel,
		Usage: "StarGAN target: a label name (Blond_Hair: hair colours are exclusive) or name=value pairs (Male=0,Young=1)"}
	translateSourceFlag = &cli.StringFlag{Name: "source", Category: catModel,
		Usage: "StarGAN multi-label: the attributes of the input images that targets start from (Male=1,Young=0; default all 0)"}
	translateAllFlag = &cli.BoolFlag{Name: "all-targets", Category: catModel,
		Usage: "StarGAN: write the reference's grid, the input then one column per label (hair colour set, other attributes flipped from --source)"}
	translateQuietFlag = &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Category: catOutput,
		Usage: "no progress bar"}
	translateJobsFlag = &cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Category: catRuntime,
		Usage: "decoding and encoding goroutines each (0: one per CPU)"}
)

var translateCommand = &cli.Command{
	Name:      "translate",
	Usage:     "translate images with an exported generator",
	ArgsUsage: "INPUT... -o OUTDIR",
	Description: `Runs a CycleGAN or StarGAN generator exported to ONNX on image files,
folders (searched recursively for jpg jpeg png ppm bmp tif tiff, in sorted
order; the folder layout is kept under OUTDIR) and glob patterns.

Images are translated at full resolution by default: any size works, and
the output has the input's size (sides are padded by reflection to the
model's multiple and cropped back). --size N resizes to N x N first.
Grayscale, 16-bit, CMYK, paletted and alpha images are converted to RGB
(alpha is dropped); images over --max-pixels are refused from their header.

Decoding, inference and encoding run in a pipeline. A file that fails is
reported and counted, and the others go on; the exit status is non-zero if
any failed. Outputs are written atomically and never overwrite an input.

StarGAN models need --target or --all-targets; the label names come from
the model (see ganrt info).

Examples:
   ganrt translate -m horse2zebra.onnx photos/ -o zebras/
   ganrt translate -m horse2zebra.onnx 'shots/*.jpg' --size 256 --batch 4 -o out/
   ganrt translate -m stargan.onnx face.jpg --target Blond_Hair --source Male=1 -o out/
   ganrt translate -m stargan.onnx faces/ --all-targets -o grids/`,
	Flags: append(append([]cli.Flag{}, runtimeFlags...),
		translateOutFlag, translateFormatFlag, translateQualityFlag, translateSizeFlag, translateBatchFlag,
		translateTargetFlag, translateSourceFlag, translateAllFlag, translateQuietFlag, translateJobsFlag),
	Action: translateAction,
}

func translateAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return errors.New("translate needs at least one INPUT (file, folder or glob)")
	}
	o, err := runtimeOptions(c)
	if err != nil {
		return err
	}
	o.Size = c.Int(translateSizeFlag.Name)
	o.BatchSize = c.Int(translateBatchFlag.Name)
	format, err := runtime.ParseFormat(c.String(translateFormatFlag.Name))
	if err != nil {
		return err
	}
	if q := c.Int(translateQualityFlag.Name); q < 1 || q > 100 {
		return fmt.Errorf("--quality %d is not in 1..100", q)
	}
	if c.Int(translateBatchFlag.Name) < 1 {
		return fmt.Errorf("--batch %d: need 1 or more", c.Int(translateBatchFlag.Name))
	}
	t, err := runtime.Open(c.String(rtModelFlag.Name), o)
	if err != nil {
		return err
	}
	defer t.Close()
	fo := runtime.FilesOptions{
		Batch:   c.Int(translateBatchFlag.Name),
		Workers: c.Int(translateJobsFlag.Name),
		Encode:  runtime.EncodeOptions{Quality: c.Int(translateQualityFlag.Name)},
	}
	if fo.Label, fo.Grid, err = translateLabels(c, t); err != nil {
		return err
	}
	jobs := runtime.PlanFiles(c.Args().Slice(), c.String(translateOutFlag.Name), format)
	return runTranslate(c, t, jobs, fo)
}

// translateLabels builds the StarGAN label (or grid labels) from the flags.
func translateLabels(c *cli.Context, t *runtime.Translator) ([]float32, [][]float32, error) {
	target, all := c.String(translateTargetFlag.Name), c.Bool(translateAllFlag.Name)
	info := t.Info()
	if !info.StarGAN() {
		if target != "" || all || c.String(translateSourceFlag.Name) != "" {
			return nil, nil, fmt.Errorf("%s is a CycleGAN generator: --target, --source and --all-targets apply to StarGAN models", info.Path)
		}
		return nil, nil, nil
	}
	names := strings.Join(info.Domains, ", ")
	switch {
	case target == "" && !all:
		return nil, nil, fmt.Errorf("%s is a StarGAN model: give --target NAME or --all-targets (labels: %s)", info.Path, names)
	case target != "" && all:
		return nil, nil, errors.New("give --target or --all-targets, not both")
	}
	source, err := t.ParseSource(c.String(translateSourceFlag.Name))
	if err != nil {
		return nil, nil, fmt.Errorf("--source: %w", err)
	}
	if all {
		grid, err := t.AllTargets(source)
		return nil, grid, err
	}
	label, err := t.Target(target, source)
	if err != nil {
		return nil, nil, fmt.Errorf("--target: %w", err)
	}
	return label, nil, nil
}

// runTranslate runs the jobs with a progress bar on stderr, reports each
// failure there, and prints a summary line on stdout.
func runTranslate(c *cli.Context, t *runtime.Translator, jobs []runtime.FileJob, fo runtime.FilesOptions) error {
	if len(jobs) == 0 {
		return errors.New("no input images")
	}
	stderr := c.App.ErrWriter
	bar := progressbar.NewOptions(len(jobs),
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetVisibility(!c.Bool(translateQuietFlag.Name)),
		progressbar.OptionSetDescription("translate"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	s, err := t.TranslateFiles(c.Context, jobs, fo, func(r runtime.FileResult) {
		if r.Err != nil {
			bar.Clear()
			fmt.Fprintf(stderr, "ganrt: translate: %v\n", r.Err)
		}
		bar.Add(1)
	})
	bar.Finish()
	info := t.Info()
	fmt.Fprintf(c.App.Writer, "translated %d of %d images into %s in %.1fs on %s (%.2f images/s)",
		s.Written, s.Total, c.String(translateOutFlag.Name), s.Elapsed.Seconds(), info.Device, float64(s.Written)/max(s.Elapsed.Seconds(), 1e-9))
	if s.Failed > 0 {
		fmt.Fprintf(c.App.Writer, "; %d failed", s.Failed)
	}
	fmt.Fprintln(c.App.Writer)
	if err != nil {
		return err
	}
	if s.Failed > 0 {
		return fmt.Errorf("%d of %d images failed (see above)", s.Failed, s.Total)
	}
	return nil
}
