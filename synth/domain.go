package synth

import (
	"fmt"
	"strings"
)

// Time is the time of day a scene is rendered at.
type Time uint8

// Times of day.
const (
	Day Time = iota
	Dusk
	Night
)

func (t Time) String() string {
	switch t {
	case Day:
		return "day"
	case Dusk:
		return "dusk"
	case Night:
		return "night"
	}
	return fmt.Sprintf("Time(%d)", uint8(t))
}

// Domain is the look a scene is rendered in: a time of day and any
// combination of weathers. Rain and snow make the sky overcast (no sun, no
// moon, no stars, no shadows); fog fades everything with distance.
type Domain struct {
	Time            Time
	Fog, Rain, Snow bool
}

// String names the domain: the time, then the weathers in alphabetical
// order, joined by "+" ("day", "night+fog+snow").
func (d Domain) String() string {
	s := d.Time.String()
	if d.Fog {
		s += "+fog"
	}
	if d.Rain {
		s += "+rain"
	}
	if d.Snow {
		s += "+snow"
	}
	return s
}

// Attributes of the multi-label kind, in label order. Day and Night form an
// exclusive group (exactly one is set, like the reference's hair colours);
// Fog, Rain and Snow are independent.
const (
	AttrDay = iota
	AttrNight
	AttrFog
	AttrRain
	AttrSnow
	numAttrs
)

// Attrs returns the attribute names of the multi-label kind in label order:
// Day, Night, Fog, Rain, Snow.
func Attrs() []string { return []string{"Day", "Night", "Fog", "Rain", "Snow"} }

// ExclusiveAttrs returns the label indices of the mutually exclusive
// attribute group (Day, Night), which StarGAN's test grid treats as the
// reference treats hair colours.
func ExclusiveAttrs() []int { return []int{AttrDay, AttrNight} }

// LabelOf returns d's multi-label vector in Attrs order. d.Time must be Day
// or Night: dusk has no attribute.
func LabelOf(d Domain) ([]bool, error) {
	if d.Time != Day && d.Time != Night {
		return nil, fmt.Errorf("synth: %s has no multi-label attribute (want day or night)", d.Time)
	}
	return []bool{d.Time == Day, d.Time == Night, d.Fog, d.Rain, d.Snow}, nil
}

// DomainOf returns the domain of a multi-label vector in Attrs order;
// exactly one of Day and Night must be set.
func DomainOf(label []bool) (Domain, error) {
	if len(label) != numAttrs {
		return Domain{}, fmt.Errorf("synth: label has %d attributes, want %d (%s)", len(label), numAttrs, strings.Join(Attrs(), ","))
	}
	if label[AttrDay] == label[AttrNight] {
		return Domain{}, fmt.Errorf("synth: label %s: want exactly one of Day and Night set", LabelString(label))
	}
	t := Day
	if label[AttrNight] {
		t = Night
	}
	return Domain{Time: t, Fog: label[AttrFog], Rain: label[AttrRain], Snow: label[AttrSnow]}, nil
}

// GridTargets returns the target labels of StarGAN's test grid for an input
// labelled label (multi-label, Attrs order), one per attribute, by the
// reference's rule: for an attribute of the exclusive group, set it and clear
// the others of the group; flip any other attribute. Targets equal to each
// other or to label are kept, so the result always has len(label) entries.
func GridTargets(label []bool) [][]bool {
	excl := map[int]bool{}
	for _, i := range ExclusiveAttrs() {
		excl[i] = true
	}
	out := make([][]bool, len(label))
	for i := range label {
		t := append([]bool(nil), label...)
		if excl[i] {
			for j := range excl {
				t[j] = false
			}
			t[i] = true
		} else {
			t[i] = !t[i]
		}
		out[i] = t
	}
	return out
}

// LabelString writes a label vector as one '1' or '0' per entry in label
// order ("10010" = Day and Rain). Truth files are named by it.
func LabelString(label []bool) string {
	b := make([]byte, len(label))
	for i, v := range label {
		b[i] = '0'
		if v {
			b[i] = '1'
		}
	}
	return string(b)
}

// ParseLabel reads a LabelString.
func ParseLabel(s string) ([]bool, error) {
	if s == "" {
		return nil, fmt.Errorf("synth: empty label string")
	}
	out := make([]bool, len(s))
	for i, c := range s {
		switch c {
		case '0':
		case '1':
			out[i] = true
		default:
			return nil, fmt.Errorf("synth: label string %q: want only '0' and '1'", s)
		}
	}
	return out, nil
}

// NamedDomain is a domain of a single-label or two-domain kind with its
// folder name.
type NamedDomain struct {
	Name   string
	Domain Domain
}

// SingleDomains returns the domains of the single-label kind sorted by name,
// which is also their class order (the reference's folder-per-domain rule):
// day, dusk, fog (day), night, rain (day), snow (day).
func SingleDomains() []NamedDomain {
	return []NamedDomain{
		{"day", Domain{Time: Day}},
		{"dusk", Domain{Time: Dusk}},
		{"fog", Domain{Time: Day, Fog: true}},
		{"night", Domain{Time: Night}},
		{"rain", Domain{Time: Day, Rain: true}},
		{"snow", Domain{Time: Day, Snow: true}},
	}
}

// OneHot returns the single-label vector of class i among n classes.
func OneHot(i, n int) []bool {
	v := make([]bool, n)
	v[i] = true
	return v
}
