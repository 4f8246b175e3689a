package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/runtime"
)

// Flags that open a model for inference (translate, bench).
var (
	rtModelFlag = &cli.StringFlag{Name: "model", Aliases: []string{"m"}, Category: catModel, Required: true,
		Usage: "exported generator (.onnx from ganrt convert or ganrt export), or a generator checkpoint (.pth, .ckpt, .safetensors) exported in memory"}
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
		Usage: "ONNX Runtime shared library to load (default: $ONNXRUNTIME_SHARED_LIBRARY_PATH, one installed with ganrt, .ort-gpu/ or .ort/ from make ort-gpu / make ort, then the system loader)"}
	rtMaxPixelsFlag = &cli.Int64Flag{Name: "max-pixels", Category: catRuntime, Value: runtime.DefaultMaxPixels,
		Usage: "refuse images with more pixels than this (checked from the header, before decoding; 0 or negative: no limit)"}
)

// runtimeFlags are the flags of runtimeOptions.
var runtimeFlags = []cli.Flag{rtModelFlag, rtLabelsFlag, rtDeviceFlag, rtThreadsFlag, rtGraphOptFlag,
	rtConvAlgoFlag, rtTRTFP16Flag, rtTRTCacheFlag, rtLibraryFlag, rtCUDAPluginFlag, rtMaxPixelsFlag}

// runtimeOptions turns the runtime flags into runtime.Options.
func runtimeOptions(c *cli.Context) (runtime.Options, error) {
	o := runtime.Options{
		Device:         c.String(rtDeviceFlag.Name),
		Library:        c.String(rtLibraryFlag.Name),
		CUDAPlugin:     c.String(rtCUDAPluginFlag.Name),
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
		Usage: "resize images to SIZE x SIZE first, as the CycleGAN reference tests (PIL bicubic, to the bit; 0: full resolution, output size = input size)"}
	translateBatchFlag = &cli.IntFlag{Name: "batch", Category: catRuntime, Value: 1,
		Usage: "images of the same size per ONNX Runtime run"}
	translateTargetFlag = &cli.StringFlag{Name: "target", Aliases: []string{"t"}, Category: catModel,
		Usage: "StarGAN target: a label name (Blond_Hair: hair colours are exclusive) or name=value pairs (Male=0,Young=1)"}
	translateSourceFlag = &cli.StringFlag{Name: "source", Category: catModel,
		Usage: "StarGAN multi-label: the attributes of the input images that targets start from (Male=1,Young=0; default all 0)"}
	translateAllFlag = &cli.BoolFlag{Name: "all-targets", Category: catModel,
		Usage: "StarGAN: write the reference's grid, the input then one column per label (hair colour set, other attributes flipped from --source), under column titles"}
	translatePlainGridFlag = &cli.BoolFlag{Name: "plain-grid", Category: catOutput,
		Usage: "with --all-targets: the reference's grid exactly, columns side by side with no titles or gaps"}
	translatePrintEveryFlag = &cli.IntFlag{Name: "print-every", Category: catOutput, Value: 100,
		Usage: "when stderr is not a terminal, log a progress line every N images"}
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
any failed. Outputs are written atomically; a command whose outputs would
overwrite an input is refused before any work. Ctrl-C finishes the images
in flight, reports the rest as not started and exits with status 130.

--json prints each input's status (written, failed, not started) and the
counts; --html also writes OUTDIR/index.html with each input beside its
output. -m also takes a checkpoint, exported in memory as ganrt export
would.

StarGAN models need --target or --all-targets; the label names come from
the model (see ganrt info).

Examples:
   ganrt translate -m horse2zebra.onnx photos/ -o zebras/
   ganrt translate -m horse2zebra.onnx 'shots/*.jpg' --size 256 --batch 4 -o out/
   ganrt translate -m stargan.onnx face.jpg --target Blond_Hair --source Male=1 -o out/
   ganrt translate -m stargan.onnx faces/ --all-targets -o grids/ --html
   ganrt translate -m runs/h2z/latest_net_G_A.safetensors photos/ -o out/ --json`,
	Flags: append(append([]cli.Flag{}, runtimeFlags...),
		translateOutFlag, translateFormatFlag, translateQualityFlag, translateSizeFlag, translateBatchFlag,
		translateTargetFlag, translateSourceFlag, translateAllFlag, translatePlainGridFlag, translateJobsFlag,
		translateHTMLFlag, quietFlag, translatePrintEveryFlag, allowNonFiniteFlag, jsonFlag),
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
	jobs := runtime.PlanFiles(c.Args().Slice(), c.String(translateOutFlag.Name), format)
	if err := checkOverwrites(jobs); err != nil {
		return err
	}
	if c.Bool(translateHTMLFlag.Name) {
		if err := checkResultsPage(c.String(translateOutFlag.Name)); err != nil {
			return err
		}
	}
	t, err := openModel(c.String(rtModelFlag.Name), o, c.Bool(allowNonFiniteFlag.Name))
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
	if fo.Grid != nil && !c.Bool(translatePlainGridFlag.Name) {
		fo.GridTitles = gridTitles(t.Info().Domains, fo.Grid)
	}
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

// gridTitles names the columns of an --all-targets grid: "input", then
// for target k the name of entry k, which it sets, or "not NAME" when it
// clears it (a flipped attribute that the source has).
func gridTitles(names []string, grid [][]float32) []string {
	titles := []string{"input"}
	for k, target := range grid {
		name := fmt.Sprint(k)
		if k < len(names) {
			name = names[k]
		}
		if target[k] == 0 {
			name = "not " + name
		}
		titles = append(titles, name)
	}
	return titles
}

// checkOverwrites refuses, before any work, jobs of which an output would
// overwrite an input.
func checkOverwrites(jobs []runtime.FileJob) error {
	var bad []runtime.FileJob
	for _, j := range jobs {
		if errors.Is(j.Err, runtime.ErrOverwritesInput) {
			bad = append(bad, j)
		}
	}
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("output %s would overwrite the input %s; choose another output folder (-o) or --format", bad[0].Dst, bad[0].Src)
	default:
		return fmt.Errorf("%d outputs would overwrite inputs (%s over %s, ...); choose another output folder (-o) or --format",
			len(bad), bad[0].Dst, bad[0].Src)
	}
}

// File statuses in translate's results.
const (
	statusWritten    = "written"
	statusFailed     = "failed"
	statusNotStarted = "not started"
	statusSkipped    = "skipped" // not a regular file (a FIFO named *.png, ...)
)

// translateFile is one input's outcome (translate --json).
type translateFile struct {
	Input  string `json:"input"`
	Output string `json:"output,omitempty"`
	Status string `json:"status"` // written, failed, skipped or not started
	Error  string `json:"error,omitempty"`
}

// translateSummary is translate's result (--json): the counts, then each
// input in the order planned.
type translateSummary struct {
	Model           string  `json:"model"`
	Device          string  `json:"device"`
	OutputDir       string  `json:"output_dir"`
	Total           int     `json:"total"`
	Written         int     `json:"written"`
	Failed          int     `json:"failed"`
	NotStarted      int     `json:"not_started"`
	Skipped         int     `json:"skipped"`
	Interrupted     bool    `json:"interrupted"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
	// HTML is the results page (--html).
	HTML  string          `json:"html,omitempty"`
	Files []translateFile `json:"files"`
}

// runTranslate runs the jobs with progress on stderr, reports each failure
// there as it happens, and prints the summary on stdout (JSON with
// --json). Images that an interrupt kept from running are not started,
// not failed.
func runTranslate(c *cli.Context, t *runtime.Translator, jobs []runtime.FileJob, fo runtime.FilesOptions) error {
	if len(jobs) == 0 {
		return errors.New("no input images")
	}
	stderr := c.App.ErrWriter
	p := newProgress(stderr, "translate", "img", c.Int(translatePrintEveryFlag.Name), c.Bool(quietFlag.Name))
	files := make([]translateFile, len(jobs))
	index := make(map[runtime.FileJob][]int, len(jobs))
	for i, j := range jobs {
		files[i] = translateFile{Input: j.Src, Output: j.Dst, Status: statusNotStarted}
		key := runtime.FileJob{Src: j.Src, Dst: j.Dst}
		index[key] = append(index[key], i)
	}
	p.Start(0, len(jobs))
	s, err := t.TranslateFiles(c.Context, jobs, fo, func(r runtime.FileResult) {
		key := runtime.FileJob{Src: r.Job.Src, Dst: r.Job.Dst}
		i := index[key][0]
		index[key] = index[key][1:]
		switch {
		case r.Err == nil:
			files[i].Status = statusWritten
		case errors.Is(r.Err, context.Canceled):
		case errors.Is(r.Err, runtime.ErrNotRegular):
			files[i].Status, files[i].Error = statusSkipped, r.Err.Error()
			p.Error("ganrt: translate: skipped " + r.Err.Error())
		default:
			files[i].Status, files[i].Error = statusFailed, r.Err.Error()
			p.Error("ganrt: translate: " + r.Err.Error())
		}
		p.Add(1)
	})
	p.Finish()
	info := t.Info()
	sum := translateSummary{Model: info.Path, Device: info.Device, OutputDir: c.String(translateOutFlag.Name),
		Total: len(jobs), Interrupted: c.Context.Err() != nil, Seconds: s.Elapsed.Seconds(), Files: files}
	for _, f := range files {
		switch f.Status {
		case statusWritten:
			sum.Written++
		case statusFailed:
			sum.Failed++
		case statusSkipped:
			sum.Skipped++
		default:
			sum.NotStarted++
		}
	}
	sum.Interrupted = sum.Interrupted && sum.NotStarted > 0
	sum.ImagesPerSecond = float64(sum.Written) / max(sum.Seconds, 1e-9)
	if c.Bool(translateHTMLFlag.Name) {
		label := "output"
		switch {
		case fo.Grid != nil:
			label = "all targets"
		case c.String(translateTargetFlag.Name) != "":
			label = "target " + c.String(translateTargetFlag.Name)
		}
		var herr error
		if sum.HTML, herr = writeResultsPage(sum, label); herr != nil {
			return herr
		}
	}
	w := c.App.Writer
	if c.Bool(jsonFlag.Name) {
		if err := writeJSON(w, sum); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "translated %d of %d images into %s in %.1fs on %s (%.2f images/s)",
			sum.Written, sum.Total, sum.OutputDir, sum.Seconds, sum.Device, sum.ImagesPerSecond)
		if sum.Failed > 0 {
			fmt.Fprintf(w, "; %d failed", sum.Failed)
		}
		if sum.NotStarted > 0 {
			fmt.Fprintf(w, "; %d not started", sum.NotStarted)
		}
		if sum.Skipped > 0 {
			fmt.Fprintf(w, "; %d skipped (not regular files)", sum.Skipped)
		}
		fmt.Fprintln(w)
		if sum.HTML != "" {
			fmt.Fprintf(w, "results page: %s\n", sum.HTML)
		}
	}
	switch {
	case sum.Interrupted:
		return &interruptError{fmt.Sprintf("interrupted: %d of %d images written, %d failed, %d not started", sum.Written, sum.Total, sum.Failed, sum.NotStarted)}
	case err != nil:
		return err
	case sum.Failed > 0:
		return fmt.Errorf("%d of %d images failed (see above)", sum.Failed, sum.Total)
	}
	return nil
}
