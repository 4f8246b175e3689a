package runtime

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/models"
)

// Info describes a loaded model and where it runs.
type Info struct {
	// Path is the model file.
	Path string
	// Spec is the generator's network spec from the model's metadata.
	Spec models.Spec
	// Domains names the StarGAN label entries in label order ("0", "1", ...
	// when the model names none); nil for CycleGAN.
	Domains []string
	// LabelMode is how StarGAN labels are built (never LabelAuto); zero for
	// CycleGAN.
	LabelMode LabelMode
	// Multiple is what the padded height and width are multiples of.
	Multiple int
	// InputChannels and OutputChannels are the image channels of the model
	// input and output (3, or 1 for a grayscale CycleGAN).
	InputChannels, OutputChannels int
	// Batch, Height and Width are the sizes fixed at export, 0 where dynamic.
	Batch, Height, Width int
	// Device is where the session runs ("cpu", "cuda:0", ...), after auto is
	// resolved; Provider is ORT's provider name; FallbackReason says why
	// device auto runs on the CPU, and is empty otherwise.
	Device, Provider, FallbackReason string
}

// Bounds on what a model file may say about its sizes, checked when it is
// opened: a file is not trusted to size buffers.
const (
	// MaxMultiple bounds export.MetaMultiple (and the network's own
	// multiple): padded sides are multiples of 1..MaxMultiple (a U-Net of
	// 10 levels needs 1024).
	MaxMultiple = 1024
	// MaxSide bounds a height or width fixed at export.
	MaxSide = 1 << 15
	// MaxBatch bounds a batch size fixed at export.
	MaxBatch = 1024
)

// StarGAN reports whether the model takes a label.
func (i Info) StarGAN() bool { return i.Spec.Kind == models.StarGANGenerator }

// modelIO locates the contract's values among the session's inputs and
// outputs.
type modelIO struct {
	image, label int // input indexes; label -1 for CycleGAN
	nInputs      int
}

// notGenerator is the error for a file that is not a ganrt generator.
func notGenerator(path, what string) error {
	return fmt.Errorf("%s is not a ganrt generator model: %s (export one with `ganrt convert CHECKPOINT MODEL.onnx`)", path, what)
}

// readModel checks that the session holds a ganrt generator and returns its
// Info (without the device fields) and I/O layout.
func readModel(path string, s *ort.Session, mode LabelMode) (Info, modelIO, error) {
	meta := s.Metadata().Custom
	js, ok := meta[models.MetadataKey]
	if !ok {
		return Info{}, modelIO{}, notGenerator(path, fmt.Sprintf("its metadata has no %q entry (the network spec)", models.MetadataKey))
	}
	spec, err := models.ParseSpec(js)
	if err != nil {
		return Info{}, modelIO{}, notGenerator(path, fmt.Sprintf("metadata %q: %v", models.MetadataKey, err))
	}
	if !spec.IsGenerator() {
		return Info{}, modelIO{}, notGenerator(path, "it holds a "+spec.String())
	}
	norm, ok := meta[export.MetaNormalization]
	if !ok {
		return Info{}, modelIO{}, notGenerator(path, fmt.Sprintf("its metadata has no %q entry", export.MetaNormalization))
	}
	if norm != export.Normalization {
		return Info{}, modelIO{}, fmt.Errorf("%s: unsupported pixel normalization %q (this ganrt reads %q)", path, norm, export.Normalization)
	}
	info := Info{Path: path, Spec: spec, Multiple: spec.Multiple(), InputChannels: spec.InputNCOrRGB(), OutputChannels: 3}
	if spec.Kind == models.CycleGANGenerator {
		info.OutputChannels = spec.OutputNC
	}
	if m, ok := meta[export.MetaMultiple]; ok {
		if info.Multiple, err = strconv.Atoi(m); err != nil || info.Multiple < 1 || info.Multiple > MaxMultiple {
			return Info{}, modelIO{}, fmt.Errorf("%s: metadata %q = %q is not an integer in 1..%d", path, export.MetaMultiple, m, MaxMultiple)
		}
		if need := spec.Multiple(); need > 0 && info.Multiple%need != 0 {
			return Info{}, modelIO{}, fmt.Errorf("%s: metadata %q = %d does not suit the network, whose sides must be multiples of %d", path, export.MetaMultiple, info.Multiple, need)
		}
	}
	if info.Multiple < 1 || info.Multiple > MaxMultiple {
		return Info{}, modelIO{}, fmt.Errorf("%s: the network needs sides that are multiples of %d; this ganrt takes 1..%d", path, info.Multiple, MaxMultiple)
	}
	if info.OutputChannels != 1 && info.OutputChannels != 3 {
		return Info{}, modelIO{}, fmt.Errorf("%s: %d output channels; images need 1 or 3", path, info.OutputChannels)
	}
	if info.InputChannels != 1 && info.InputChannels != 3 {
		return Info{}, modelIO{}, fmt.Errorf("%s: %d input channels; images need 1 or 3", path, info.InputChannels)
	}

	mio := modelIO{image: -1, label: -1}
	ins := s.Inputs()
	mio.nInputs = len(ins)
	var names []string
	for i, v := range ins {
		names = append(names, v.String())
		switch v.Name {
		case export.InputImage:
			mio.image = i
		case export.InputLabel:
			mio.label = i
		}
	}
	want := 1
	if spec.Kind == models.StarGANGenerator {
		want = 2
	}
	if mio.image < 0 || (want == 2 && mio.label < 0) || len(ins) != want {
		wantNames := fmt.Sprintf("%q", export.InputImage)
		if want == 2 {
			wantNames += fmt.Sprintf(" and %q", export.InputLabel)
		}
		return Info{}, modelIO{}, notGenerator(path, fmt.Sprintf("its inputs are %s; a %s takes %s", strings.Join(names, ", "), spec.Kind, wantNames))
	}
	outs := s.Outputs()
	if len(outs) != 1 || outs[0].Name != export.OutputImage {
		var on []string
		for _, v := range outs {
			on = append(on, v.String())
		}
		return Info{}, modelIO{}, notGenerator(path, fmt.Sprintf("its outputs are %s; want one named %q", strings.Join(on, ", "), export.OutputImage))
	}
	img := ins[mio.image]
	if len(img.Shape) != 4 || (img.Shape[1] >= 0 && int(img.Shape[1]) != info.InputChannels) {
		return Info{}, modelIO{}, notGenerator(path, fmt.Sprintf("input %s is not [N,%d,H,W]", img, info.InputChannels))
	}
	fixed := func(d int64) int { return int(min(max(d, 0), math.MaxInt32)) }
	info.Batch, info.Height, info.Width = fixed(img.Shape[0]), fixed(img.Shape[2]), fixed(img.Shape[3])
	if info.Batch > MaxBatch {
		return Info{}, modelIO{}, fmt.Errorf("%s: input %s fixes the batch at %d; this ganrt takes at most %d", path, img, img.Shape[0], MaxBatch)
	}
	for _, side := range []int64{img.Shape[2], img.Shape[3]} {
		if side > MaxSide {
			return Info{}, modelIO{}, fmt.Errorf("%s: input %s fixes a side at %d pixels; this ganrt takes at most %d", path, img, side, MaxSide)
		}
		if side > 0 && side%int64(info.Multiple) != 0 {
			return Info{}, modelIO{}, fmt.Errorf("%s: input %s fixes a side at %d pixels, not a multiple of the model's %d", path, img, side, info.Multiple)
		}
	}
	if spec.Kind == models.StarGANGenerator {
		lab := ins[mio.label]
		if len(lab.Shape) != 2 || (lab.Shape[1] >= 0 && int(lab.Shape[1]) != spec.CDim) {
			return Info{}, modelIO{}, notGenerator(path, fmt.Sprintf("input %s is not [N,%d]", lab, spec.CDim))
		}
		domains := spec.Domains
		if d, ok := meta[export.MetaDomains]; ok && d != "" {
			domains = strings.Split(d, ",")
		}
		if len(domains) != 0 && len(domains) != spec.CDim {
			return Info{}, modelIO{}, fmt.Errorf("%s: metadata names %d labels for c_dim %d", path, len(domains), spec.CDim)
		}
		if mode == LabelAuto {
			switch spec.Labels {
			case "multi":
				mode = MultiLabel
			case "single":
				mode = SingleLabel
			}
		}
		ls := newLabelSet(spec.CDim, domains, mode, spec.ExclusiveGroup()...)
		info.Domains, info.LabelMode = ls.names, ls.mode
	}
	return info, mio, nil
}
