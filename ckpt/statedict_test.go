package ckpt

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func names(sd *StateDict) string { return strings.Join(sd.Names(), " ") }

func TestStateDictOrder(t *testing.T) {
	sd := NewStateDict()
	a, b, c := NewFloat32(nil, []float32{1}), NewFloat32(nil, []float32{2}), NewFloat32(nil, []float32{3})
	sd.Set("z", a)
	sd.Set("a", b)
	sd.Set("m", c)
	sd.Set("z", c) // replaced in place
	if got, want := names(sd), "z a m"; got != want {
		t.Errorf("names = %q; want %q", got, want)
	}
	if got, _ := sd.Get("z"); got != c {
		t.Errorf("Get(z) = %v; want the replacement", got)
	}
	sd.Delete("a")
	sd.Delete("missing")
	if got, want := names(sd), "z m"; got != want {
		t.Errorf("after Delete, names = %q; want %q", got, want)
	}
	if got, ok := sd.Get("m"); !ok || got != c {
		t.Errorf("after Delete, Get(m) = %v, %v; want the tensor", got, ok)
	}
	var seen []string
	for name := range sd.All() {
		seen = append(seen, name)
		break
	}
	if !slices.Equal(seen, []string{"z"}) {
		t.Errorf("All with break saw %q; want [z]", seen)
	}
	var zero StateDict
	zero.Set("x", a)
	if zero.Len() != 1 {
		t.Errorf("Set on a zero StateDict: Len = %d; want 1", zero.Len())
	}
}

func TestStripPrefixAndSub(t *testing.T) {
	one := NewFloat32(nil, []float32{1})
	build := func(names ...string) *StateDict {
		sd := NewStateDict()
		sd.Metadata["epoch"] = "3"
		for _, n := range names {
			sd.Set(n, one)
		}
		return sd
	}
	tests := []struct {
		name    string
		in      *StateDict
		prefix  string
		want    string
		wantErr bool
	}{
		{"DataParallel", build("module.model.1.weight", "module.model.1.bias"), "module.", "model.1.weight model.1.bias", false},
		{"mixed keeps others", build("module.a", "b"), "module.", "a b", false},
		{"collision", build("module.a", "a"), "module.", "", true},
		{"no prefix", build("a"), "module.", "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.StripPrefix(tt.prefix)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v; want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if names(got) != tt.want {
				t.Errorf("names = %q; want %q", names(got), tt.want)
			}
			if got.Metadata["epoch"] != "3" {
				t.Errorf("metadata = %v; want epoch 3 kept", got.Metadata)
			}
		})
	}
	sd := build("module.a", "module.b")
	if !sd.HasPrefix("module.") || build("module.a", "b").HasPrefix("module.") || NewStateDict().HasPrefix("") {
		t.Errorf("HasPrefix gave a wrong answer")
	}
	g := build("G.model.0.weight", "D.model.0.weight", "G.model.0.bias").Sub("G.")
	if got, want := names(g), "model.0.weight model.0.bias"; got != want {
		t.Errorf("Sub(G.) names = %q; want %q", got, want)
	}
}

func TestTensorNumElements(t *testing.T) {
	tests := []struct {
		shape []int
		want  int
	}{
		{nil, 1}, {[]int{}, 1}, {[]int{0, 5}, 0}, {[]int{2, 3, 4}, 24}, {[]int{-1}, -1}, {[]int{1 << 62, 4}, -1},
	}
	for _, tt := range tests {
		if got := (&Tensor{Shape: tt.shape}).NumElements(); got != tt.want {
			t.Errorf("NumElements(%v) = %d; want %d", tt.shape, got, tt.want)
		}
	}
}

func TestNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	sd := NewStateDict()
	sd.Set("a", NewFloat32([]int{4}, []float32{1, nan, -inf, nan}))
	sd.Set("b", NewFloat32([]int{2}, []float32{1, math.MaxFloat32}))
	sd.Set("n", NewInt64(nil, []int64{3}))
	sd.Set("c", NewFloat32([]int{1}, []float32{inf}))
	got := sd.NonFinite()
	want := []NonFinite{{"a", 2, 1}, {"c", 0, 1}}
	if !slices.Equal(got, want) {
		t.Errorf("NonFinite() = %v; want %v", got, want)
	}
	if got := got[0].String(); got != `"a": 2 NaN, 1 infinite` {
		t.Errorf("String() = %q", got)
	}
	sd.Delete("a")
	sd.Delete("c")
	if got := sd.NonFinite(); got != nil {
		t.Errorf("NonFinite() of finite tensors = %v; want nil", got)
	}
}
