package synth

import (
	"slices"
	"strings"
	"testing"
)

func TestGridTargets(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// Day Night Fog Rain Snow: set Day, set Night, flip Fog, Rain, Snow.
		{"10000", "10000 01000 10100 10010 10001"},
		{"01101", "10101 01101 01001 01111 01100"},
		{"01111", "10111 01111 01011 01101 01110"},
	} {
		in, err := ParseLabel(c.in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tg := range GridTargets(in) {
			got = append(got, LabelString(tg))
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("GridTargets(%s): got %s; want %s", c.in, g, c.want)
		}
	}
}

func TestLabels(t *testing.T) {
	for m := range 16 {
		d := Domain{Time: Day, Fog: m&2 != 0, Rain: m&4 != 0, Snow: m&8 != 0}
		if m&1 != 0 {
			d.Time = Night
		}
		label, err := LabelOf(d)
		if err != nil {
			t.Fatal(err)
		}
		s := LabelString(label)
		back, err := ParseLabel(s)
		if err != nil || !slices.Equal(back, label) {
			t.Fatalf("ParseLabel(%q): got %v, %v; want %v", s, back, err, label)
		}
		if got, err := DomainOf(back); err != nil || got != d {
			t.Errorf("DomainOf(%s): got %v, %v; want %v", s, got, err, d)
		}
	}
	if _, err := LabelOf(Domain{Time: Dusk}); err == nil {
		t.Error("LabelOf(dusk): got nil error")
	}
	for _, bad := range []string{"11000", "00000", "1000"} {
		l, _ := ParseLabel(bad)
		if _, err := DomainOf(l); err == nil {
			t.Errorf("DomainOf(%s): got nil error", bad)
		}
	}
	for _, bad := range []string{"", "10x00"} {
		if _, err := ParseLabel(bad); err == nil {
			t.Errorf("ParseLabel(%q): got nil error", bad)
		}
	}
	if got := (Domain{Time: Night, Fog: true, Snow: true}).String(); got != "night+fog+snow" {
		t.Errorf("got %q; want night+fog+snow", got)
	}
}

func TestSingleDomainsSorted(t *testing.T) {
	var names []string
	seen := map[Domain]bool{}
	for _, d := range SingleDomains() {
		names = append(names, d.Name)
		if seen[d.Domain] {
			t.Errorf("%s repeats a domain", d.Name)
		}
		seen[d.Domain] = true
	}
	if !slices.IsSorted(names) {
		t.Errorf("got %v; want sorted (class order is the sorted folder name)", names)
	}
}
