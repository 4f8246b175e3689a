package runtime

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestLabelModeAuto(t *testing.T) {
	for _, tc := range []struct {
		names []string
		c     int
		want  LabelMode
	}{
		{[]string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"}, 5, MultiLabel},
		{[]string{"Male", "Eyeglasses"}, 2, MultiLabel},
		{[]string{"angry", "happy", "neutral"}, 3, SingleLabel},
		{[]string{"Male", "happy"}, 2, SingleLabel},
		{nil, 4, SingleLabel},
	} {
		l := newLabelSet(tc.c, tc.names, LabelAuto)
		if l.mode != tc.want {
			t.Errorf("%v: mode %v; want %v", tc.names, l.mode, tc.want)
		}
	}
	if l := newLabelSet(2, []string{"angry", "happy"}, MultiLabel); l.mode != MultiLabel {
		t.Errorf("explicit multi-label became %v", l.mode)
	}
	if l := newLabelSet(3, nil, LabelAuto); strings.Join(l.names, ",") != "0,1,2" {
		t.Errorf("unnamed labels: names %v; want 0,1,2", l.names)
	}
}

func TestTargets(t *testing.T) {
	celeba := newLabelSet(5, starDomains, LabelAuto) // Black Blond Brown Male Young
	rafd := newLabelSet(3, []string{"angry", "happy", "neutral"}, LabelAuto)
	src := []float32{1, 0, 0, 1, 0} // black-haired old man
	for _, tc := range []struct {
		l      *labelSet
		spec   string
		source []float32
		want   string // fmt of the label, or an error substring
	}{
		{celeba, "Blond_Hair", nil, "[0 1 0 0 0]"},
		{celeba, "Blond_Hair", src, "[0 1 0 1 0]"},
		{celeba, "blond_hair", src, "[0 1 0 1 0]"},
		{celeba, "Male=0,Young=1", src, "[1 0 0 0 1]"},
		{celeba, "Brown_Hair=1,Black_Hair=1", src, "[1 0 1 1 0]"},
		{celeba, "Brown_Hair,Young", src, "[0 0 1 1 1]"},
		{celeba, "Black_Hair=0", src, "[0 0 0 1 0]"},
		{celeba, "Young=0.5", nil, "[0 0 0 0 0.5]"},
		{celeba, "Purple_Hair", nil, "unknown StarGAN label \"Purple_Hair\"; valid names: Black_Hair, Blond_Hair, Brown_Hair, Male, Young"},
		{celeba, "Male=yes", nil, "not a number"},
		{celeba, "Male,Male=0", nil, "given twice"},
		{celeba, "Male=NaN", nil, `label "Male": value NaN is outside 0..1 (0 or 1 for binary labels`},
		{celeba, "Male=-Inf", nil, `label "Male": value -Inf is outside 0..1`},
		{celeba, "Male=+Inf", nil, `value +Inf is outside 0..1`},
		{celeba, "Young=1e300", nil, `value +Inf is outside 0..1`},
		{celeba, "Young=1.5", nil, `value 1.5 is outside 0..1`},
		{celeba, "Young=-0.25", nil, `value -0.25 is outside 0..1`},
		{celeba, "Young=1,Male=0", nil, "[0 0 0 0 1]"},
		{rafd, "happy=2", nil, `label "happy": value 2 is outside 0..1`},
		{celeba, " , ", nil, "empty label"},
		{rafd, "happy", nil, "[0 1 0]"},
		{rafd, "Happy", nil, "[0 1 0]"},
		{rafd, "angry=0.5,happy=0.5", nil, "[0.5 0.5 0]"},
		{rafd, "angry,happy", nil, "takes one domain"},
		{rafd, "sad", nil, "valid names: angry, happy, neutral"},
		{rafd, "happy", []float32{1, 0, 0}, "multi-label models only"},
	} {
		got, err := tc.l.target(tc.spec, tc.source)
		s := fmt.Sprint(got)
		if err != nil {
			s = err.Error()
		}
		if !strings.Contains(s, tc.want) {
			t.Errorf("target(%q, %v) = %s; want %s", tc.spec, tc.source, s, tc.want)
		}
	}
}

func TestSource(t *testing.T) {
	celeba := newLabelSet(5, starDomains, LabelAuto)
	for spec, want := range map[string]string{
		"":                   "[0 0 0 0 0]",
		"Male=1,Young=0":     "[0 0 0 1 0]",
		"Black_Hair,Young":   "[1 0 0 0 1]",
		"Brown_Hair=1,Male":  "[0 0 1 1 0]",
		"Old=1":              "unknown StarGAN label",
		"Male=1,Male=0":      "given twice",
		"Blond_Hair=1,Young": "[0 1 0 0 1]",
	} {
		got, err := celeba.source(spec)
		s := fmt.Sprint(got)
		if err != nil {
			s = err.Error()
		}
		if !strings.Contains(s, want) {
			t.Errorf("source(%q) = %s; want %s", spec, s, want)
		}
	}
	if _, err := newLabelSet(2, []string{"cat", "dog"}, LabelAuto).source("cat"); err == nil {
		t.Error("source on a single-label model: no error")
	}
}

// TestAllTargets checks the reference's grid rule (solver.create_labels).
func TestAllTargets(t *testing.T) {
	celeba := newLabelSet(5, starDomains, LabelAuto)
	got, err := celeba.all([]float32{1, 0, 0, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := "[[1 0 0 1 0] [0 1 0 1 0] [0 0 1 1 0] [1 0 0 0 0] [1 0 0 1 1]]"
	if fmt.Sprint(got) != want {
		t.Errorf("multi-label grid = %v; want %v", got, want)
	}
	got, _ = celeba.all(nil)
	if want := "[[1 0 0 0 0] [0 1 0 0 0] [0 0 1 0 0] [0 0 0 1 0] [0 0 0 0 1]]"; fmt.Sprint(got) != want {
		t.Errorf("multi-label grid from zeros = %v; want %v", got, want)
	}
	got, _ = newLabelSet(3, []string{"a", "b", "c"}, LabelAuto).all(nil)
	if want := "[[1 0 0] [0 1 0] [0 0 1]]"; fmt.Sprint(got) != want {
		t.Errorf("single-label grid = %v; want %v", got, want)
	}
	if _, err := celeba.all([]float32{1}); err == nil {
		t.Error("short source: no error")
	}
}

// TestLabelValuesRefused checks that sources and label vectors passed to
// the Translator refuse values outside 0..1 too (serve builds its labels
// with the same parser).
func TestLabelValuesRefused(t *testing.T) {
	celeba := newLabelSet(5, starDomains, LabelAuto)
	for _, spec := range []string{"Male=NaN", "Male=Inf", "Young=-1", "Young=3"} {
		if got, err := celeba.source(spec); err == nil || !strings.Contains(err.Error(), "is outside 0..1") {
			t.Errorf("source(%q) = %v, %v; want an error naming the range 0..1", spec, got, err)
		}
	}
	tr := open(t, starModel(t), Options{})
	nan := float32(math.NaN())
	for _, l := range [][]float32{{0, 1, 0, nan, 0}, {0, 0, 0, 0, float32(math.Inf(-1))}, {0, 0, 0, 0, 1.01}} {
		if _, err := tr.Translate(bg, randomRGBA(8, 8, 1), l); err == nil || !strings.Contains(err.Error(), "is outside 0..1") {
			t.Errorf("Translate with label %v: err = %v; want one naming the range 0..1", l, err)
		}
	}
}

// FuzzTarget feeds arbitrary target and source specs (serve's ?target= and
// ?source=) to the label parser: it returns an error or a label of c_dim
// finite values in 0..1, never panics.
func FuzzTarget(f *testing.F) {
	for _, s := range []string{"Blond_Hair", "Male=0,Young=1", "Male=NaN", "Young=-Inf", "Young=1e400", "happy=0.5,angry=0.5", ",,=", "Male=0x1p-2"} {
		f.Add(s, "Male=1")
	}
	celeba := newLabelSet(5, starDomains, LabelAuto)
	rafd := newLabelSet(3, []string{"angry", "happy", "neutral"}, LabelAuto)
	f.Fuzz(func(t *testing.T, target, source string) {
		for _, l := range []*labelSet{celeba, rafd} {
			src, err := l.source(source)
			if err != nil {
				src = nil
			}
			lab, err := l.target(target, src)
			if err != nil {
				continue
			}
			if len(lab) != len(l.names) {
				t.Fatalf("target(%q) has %d entries; want %d", target, len(lab), len(l.names))
			}
			for _, v := range lab {
				if math.IsNaN(float64(v)) || v < MinLabel || v > MaxLabel {
					t.Fatalf("target(%q, %q) = %v: value outside 0..1", target, source, lab)
				}
			}
		}
	})
}
