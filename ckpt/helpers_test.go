package ckpt

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// expTensor is one tensor of testdata/expected.json, written by gen.py.
type expTensor struct {
	Name   string    `json:"name"`
	DType  string    `json:"dtype"`
	Shape  []int     `json:"shape"`
	Values []float64 `json:"values"`
}

// expected returns the tensors of one section of testdata/expected.json.
func expected(t *testing.T, section string) []expTensor {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string][]expTensor
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	want, ok := all[section]
	if !ok {
		t.Fatalf("expected.json has no section %q", section)
	}
	return want
}

// checkTensors compares sd, in order, with want: names, dtypes, shapes and
// exact values.
func checkTensors(t *testing.T, sd *StateDict, want []expTensor) {
	t.Helper()
	var wantNames []string
	for _, w := range want {
		wantNames = append(wantNames, w.Name)
	}
	if got := sd.Names(); !slices.Equal(got, wantNames) {
		t.Fatalf("names = %q; want %q", got, wantNames)
	}
	for _, w := range want {
		got, _ := sd.Get(w.Name)
		if got.DType.String() != w.DType {
			t.Errorf("%s: dtype = %s; want %s", w.Name, got.DType, w.DType)
		}
		if !slices.Equal(got.Shape, w.Shape) {
			t.Errorf("%s: shape = %v; want %v", w.Name, got.Shape, w.Shape)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v; want nil", w.Name, err)
			continue
		}
		for i, v := range w.Values {
			if got.DType.IsFloat() {
				if got.Floats[i] != float32(v) {
					t.Errorf("%s[%d] = %v; want %v", w.Name, i, got.Floats[i], float32(v))
				}
			} else if got.Ints[i] != int64(v) {
				t.Errorf("%s[%d] = %v; want %v", w.Name, i, got.Ints[i], int64(v))
			}
		}
	}
}
