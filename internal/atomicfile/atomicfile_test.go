package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestWriteReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	for _, want := range []string{"first", "second"} {
		if err := WriteBytes(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	if err := WriteBytes(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v; want boom", err)
	}
	rename = func(string, string) error { return errors.New("rename failed") }
	defer func() { rename = os.Rename }()
	if err := WriteBytes(path, []byte("new")); err == nil {
		t.Fatal("got nil error with a failing rename")
	}
	got, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if string(got) != "old" || len(entries) != 1 {
		t.Fatalf("got %q with %d files; want the old file alone", got, len(entries))
	}
}

// TestQuiesce checks that Quiesce waits for a write in flight, which then
// completes, and holds later writes back.
func TestQuiesce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	release, writing := make(chan struct{}), make(chan struct{})
	wrote := make(chan error)
	go func() {
		wrote <- Write(path, func(w io.Writer) error {
			close(writing)
			<-release
			_, err := w.Write([]byte("whole"))
			return err
		})
	}()
	<-writing
	quiesced := make(chan struct{})
	go func() { Quiesce(); close(quiesced) }()
	select {
	case <-quiesced:
		t.Fatal("Quiesce returned with a write in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	<-quiesced
	later := make(chan error)
	go func() { later <- WriteBytes(path, []byte("later")) }()
	select {
	case <-later:
		t.Fatal("a Write after Quiesce ran")
	case <-time.After(50 * time.Millisecond):
	}
	inFlight.Unlock() // let the held write and the package's other tests go on
	if err := <-later; err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "later" {
		t.Errorf("file holds %q; want the whole later write", got)
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".a.png.tmp-123", ".options.json.tmp-9", "a.png", ".keep.tmp-x", "b.tmp-1"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Fatalf("removed %v; want the two temporary files", removed)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{".keep.tmp-x", "a.png", "b.tmp-1"}; !slices.Equal(left, want) {
		t.Fatalf("left %v; want %v", left, want)
	}
	if removed, err := RemoveTemps(filepath.Join(dir, "missing")); err != nil || removed != nil {
		t.Fatalf("missing folder: got %v, %v; want nothing", removed, err)
	}
}
