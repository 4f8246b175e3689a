package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
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
