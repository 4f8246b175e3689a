package regular

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOpen opens a regular file directly and inside a root, and refuses a
// FIFO (without blocking: no writer ever opens it) and a folder both ways,
// naming the file and its type.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.png"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	opens := map[string]func(string) (*os.File, error){
		"Open":   func(n string) (*os.File, error) { return Open(filepath.Join(dir, n)) },
		"OpenIn": func(n string) (*os.File, error) { return OpenIn(root, n) },
	}
	for how, open := range opens {
		f, err := open("w.bin")
		if err != nil {
			t.Fatalf("%s(w.bin): %v", how, err)
		}
		f.Close()
		for name, kind := range map[string]string{"pipe.png": "a named pipe", "sub.png": "a folder"} {
			_, err := open(name)
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), kind) {
				t.Errorf("%s(%s) = %v; want ErrNotRegular naming the file and %q", how, name, err, kind)
			}
		}
	}
}
