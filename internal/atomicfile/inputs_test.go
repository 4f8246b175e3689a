package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.bin")
	b := filepath.Join(dir, "b.bin") // same size as a, another file
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("12345678"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hard := filepath.Join(dir, "hard.bin")
	if err := os.Link(a, hard); err != nil {
		t.Fatal(err)
	}
	soft := filepath.Join(dir, "soft.bin")
	if err := os.Symlink("a.bin", soft); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Symlink(".", sub); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	in := NewInputs(a)
	for _, tc := range []struct {
		dst  string
		want bool
	}{
		{a, true},
		{"a.bin", true},
		{"./x/../a.bin", true},
		{hard, true},
		{soft, true},
		{filepath.Join(sub, "a.bin"), true},
		{b, false},
		{filepath.Join(dir, "absent.bin"), false},
	} {
		err := in.Check(tc.dst)
		if got := errors.Is(err, ErrOverwritesInput); got != tc.want {
			t.Errorf("Check(%s) = %v; want overwrite %v", tc.dst, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), tc.dst) {
			t.Errorf("Check(%s) = %v; want an error naming it", tc.dst, err)
		}
	}
	// An input given through a link matches the file itself.
	if err := CheckNotInput(a, soft); !errors.Is(err, ErrOverwritesInput) {
		t.Errorf("CheckNotInput(a, link to a) = %v; want ErrOverwritesInput", err)
	}
	var empty Inputs
	if err := empty.Check(a); err != nil {
		t.Errorf("empty set: %v", err)
	}
}
