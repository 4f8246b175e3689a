// Package atomicfile writes files so that readers see either the old file
// or the complete new one, never a partial write: bytes go to a temporary
// file in the same directory, which is synced and renamed over the target.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// rename is os.Rename; tests replace it to make the last step fail.
var rename = os.Rename

// inFlight is read-locked by every Write for its whole duration; Quiesce
// takes it for good.
var inFlight sync.RWMutex

// Quiesce waits for the writes in flight to finish (renamed into place or
// removed) and blocks every later Write for good. A process calls it just
// before ending abruptly (a second Ctrl-C), so that no write is cut short
// and no temporary file is left behind. A write function passed to Write
// must not call Write itself.
func Quiesce() { inFlight.Lock() }

// Write creates or replaces path with what write produces. On any error the
// temporary file is removed and path is left as it was. The new file has
// mode 0644. Errors name path.
func Write(path string, write func(w io.Writer) error) (err error) {
	inFlight.RLock()
	defer inFlight.RUnlock()
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	closed = true
	if err := f.Close(); err != nil {
		return err
	}
	if err := rename(tmp, path); err != nil {
		return err
	}
	// Make the rename durable. Best effort: the file is complete and in
	// place, and not every file system can sync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes is Write for data already in memory.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// tempPattern matches the names of Write's temporary files: "." + the
// target's base name + ".tmp-" + the digits os.CreateTemp adds.
var tempPattern = regexp.MustCompile(`^\..+\.tmp-[0-9]+$`)

// RemoveTemps removes the temporary files that writes killed before their
// rename left in dir (not in its subfolders) and returns their paths. A
// missing dir holds none.
func RemoveTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !tempPattern.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil {
			return removed, err
		}
		removed = append(removed, p)
	}
	return removed, nil
}
