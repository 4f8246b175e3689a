package runtime

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ganrt/ganrt/models"
)

// LabelMode is how a StarGAN model's label is built from names.
type LabelMode int

const (
	// LabelAuto picks MultiLabel when every label name is a CelebA attribute
	// (Black_Hair, Male, Young, ...), and SingleLabel otherwise, including a
	// model whose export named no labels. Exported models do not record how
	// they were trained, so this is a guess; pass the mode when it is wrong.
	LabelAuto LabelMode = iota
	// MultiLabel: each entry is an attribute (CelebA), 1 present, 0 absent.
	// A target starts from the source label (default all zeros); naming a
	// hair colour sets it to 1 and the other hair colours (HairColors) to 0,
	// as the reference's test-time rule does.
	MultiLabel
	// SingleLabel: the label is the one-hot vector of one domain (a folder
	// per domain, RaFD style).
	SingleLabel
)

// String returns "auto", "multi" or "single", as ParseLabelMode reads them.
func (m LabelMode) String() string {
	switch m {
	case LabelAuto:
		return "auto"
	case MultiLabel:
		return "multi"
	case SingleLabel:
		return "single"
	}
	return fmt.Sprintf("LabelMode(%d)", int(m))
}

// ParseLabelMode parses "auto" (or ""), "multi" or "single".
func ParseLabelMode(s string) (LabelMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return LabelAuto, nil
	case "multi", "multi-label":
		return MultiLabel, nil
	case "single", "single-label":
		return SingleLabel, nil
	}
	return 0, fmt.Errorf("unknown label mode %q (want auto, multi or single)", s)
}

// HairColors are the CelebA attributes that the reference treats as
// mutually exclusive when building targets.
var HairColors = models.HairColors

// celebAAttributes are the 40 attribute names of CelebA's
// list_attr_celeba.txt.
var celebAAttributes = []string{
	"5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
	"Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair",
	"Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair",
	"Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache",
	"Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
	"Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings",
	"Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
}

// labelSet names the entries of a StarGAN label and builds labels.
type labelSet struct {
	names []string  // one per entry; "0", "1", ... when the model has none
	mode  LabelMode // MultiLabel or SingleLabel, never LabelAuto
	hair  []bool    // per entry: a hair colour (MultiLabel only)
}

// newLabelSet returns the label set of a model with c entries named by
// domains (may be empty) in mode (LabelAuto resolved here); exclusive is the
// group of entries set one at a time (nil: HairColors).
func newLabelSet(c int, domains []string, mode LabelMode, exclusive ...string) *labelSet {
	if len(exclusive) == 0 {
		exclusive = HairColors
	}
	l := &labelSet{names: slices.Clone(domains), mode: mode}
	if len(l.names) != c {
		l.names = make([]string, c)
		for i := range l.names {
			l.names[i] = strconv.Itoa(i)
		}
		domains = nil
	}
	if l.mode == LabelAuto {
		l.mode = SingleLabel
		if len(domains) > 0 && !slices.ContainsFunc(domains, func(d string) bool { return !slices.Contains(celebAAttributes, d) }) {
			l.mode = MultiLabel
		}
	}
	l.hair = make([]bool, c)
	if l.mode == MultiLabel {
		for i, n := range l.names {
			l.hair[i] = slices.Contains(exclusive, n)
		}
	}
	return l
}

// index returns the entry named name: an exact match, else the one match
// ignoring case.
func (l *labelSet) index(name string) (int, error) {
	if i := slices.Index(l.names, name); i >= 0 {
		return i, nil
	}
	found := -1
	for i, n := range l.names {
		if strings.EqualFold(n, name) {
			if found >= 0 {
				found = -2
				break
			}
			found = i
		}
	}
	if found >= 0 {
		return found, nil
	}
	return 0, fmt.Errorf("unknown StarGAN label %q; valid names: %s", name, strings.Join(l.names, ", "))
}

// The range of a label value. The models are trained on binary labels (0
// or 1, one-hot for single-label models); values between them interpolate,
// and values outside (or NaN, Inf) are refused: the generators were never
// trained on them and give black or saturated images.
const (
	MinLabel = 0
	MaxLabel = 1
)

// checkLabelValue refuses a non-finite value or one outside
// MinLabel..MaxLabel for label name.
func checkLabelValue(name string, v float64) error {
	if math.IsNaN(v) || v < MinLabel || v > MaxLabel {
		return fmt.Errorf("label %q: value %v is outside %d..%d (0 or 1 for binary labels; values between interpolate)", name, v, MinLabel, MaxLabel)
	}
	return nil
}

// assignment is one "name" or "name=value" item of a label spec.
type assignment struct {
	i     int
	v     float32
	named bool // a bare name, meaning 1
}

// parse splits a spec like "Blond_Hair" or "Male=0,Young=1" into
// assignments; a bare name means 1.
func (l *labelSet) parse(spec string) ([]assignment, error) {
	var as []assignment
	seen := make(map[int]bool)
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, hasVal := strings.Cut(item, "=")
		i, err := l.index(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		if seen[i] {
			return nil, fmt.Errorf("label %q is given twice in %q", l.names[i], spec)
		}
		seen[i] = true
		a := assignment{i: i, v: 1, named: !hasVal}
		if hasVal {
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("label %q: value %q is not a number (labels take %d..%d)", l.names[i], val, MinLabel, MaxLabel)
			}
			if err := checkLabelValue(l.names[i], v); err != nil {
				return nil, err
			}
			a.v = float32(v)
		}
		as = append(as, a)
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("empty label %q; valid names: %s", spec, strings.Join(l.names, ", "))
	}
	return as, nil
}

// source parses a source label ("Male=1,Young=0"; bare names mean 1) on
// top of zeros. An empty spec is all zeros.
func (l *labelSet) source(spec string) ([]float32, error) {
	lab := make([]float32, len(l.names))
	if strings.TrimSpace(spec) == "" {
		return lab, nil
	}
	if l.mode == SingleLabel {
		return nil, fmt.Errorf("a source label applies to multi-label models only; this one is single-label (one-hot domains: %s)", strings.Join(l.names, ", "))
	}
	as, err := l.parse(spec)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		lab[a.i] = a.v
	}
	return lab, nil
}

// target builds a target label from spec on top of source (nil: zeros).
func (l *labelSet) target(spec string, source []float32) ([]float32, error) {
	if source != nil && len(source) != len(l.names) {
		return nil, fmt.Errorf("source label has %d entries; the model takes %d", len(source), len(l.names))
	}
	as, err := l.parse(spec)
	if err != nil {
		return nil, err
	}
	lab := make([]float32, len(l.names))
	if l.mode == SingleLabel {
		if slices.ContainsFunc(source, func(v float32) bool { return v != 0 }) {
			return nil, fmt.Errorf("a source label applies to multi-label models only; this one is single-label")
		}
		if len(as) > 1 && slices.ContainsFunc(as, func(a assignment) bool { return a.named }) {
			return nil, fmt.Errorf("target %q: a single-label model takes one domain (one of %s) or explicit values (name=v,name=v)", spec, strings.Join(l.names, ", "))
		}
		for _, a := range as {
			lab[a.i] = a.v
		}
		return lab, nil
	}
	copy(lab, source)
	explicit := make(map[int]bool)
	for _, a := range as {
		explicit[a.i] = true
	}
	for _, a := range as {
		if l.hair[a.i] && a.v == 1 {
			for j, h := range l.hair {
				if h && !explicit[j] {
					lab[j] = 0
				}
			}
		}
	}
	for _, a := range as {
		lab[a.i] = a.v
	}
	return lab, nil
}

// all returns the reference's grid targets for source (nil: zeros): per
// entry i, multi-label sets a hair colour to 1 and the other hair colours
// to 0, and flips any other attribute (0 <-> 1; a non-zero value counts as
// 1); single-label is the one-hot vector of domain i.
func (l *labelSet) all(source []float32) ([][]float32, error) {
	c := len(l.names)
	if source != nil && len(source) != c {
		return nil, fmt.Errorf("source label has %d entries; the model takes %d", len(source), c)
	}
	out := make([][]float32, c)
	for i := range out {
		lab := make([]float32, c)
		switch {
		case l.mode == SingleLabel:
			lab[i] = 1
		case l.hair[i]:
			copy(lab, source)
			for j, h := range l.hair {
				if h {
					lab[j] = 0
				}
			}
			lab[i] = 1
		default:
			copy(lab, source)
			if lab[i] == 0 {
				lab[i] = 1
			} else {
				lab[i] = 0
			}
		}
		out[i] = lab
	}
	return out, nil
}
