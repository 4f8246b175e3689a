package models

import (
	"fmt"
	"testing"
)

func TestGridTargets(t *testing.T) {
	names := []string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"}
	src := []float32{1, 0, 0, 1, 0}
	got := fmt.Sprint(GridTargets(src, names, HairColors, false))
	want := "[[1 0 0 1 0] [0 1 0 1 0] [0 0 1 1 0] [1 0 0 0 0] [1 0 0 1 1]]"
	if got != want {
		t.Errorf("multi-label: got %s; want %s", got, want)
	}
	got = fmt.Sprint(GridTargets([]float32{0, 1, 0}, []string{"a", "b", "c"}, nil, true))
	if want := "[[1 0 0] [0 1 0] [0 0 1]]"; got != want {
		t.Errorf("single-label: got %s; want %s", got, want)
	}
}
