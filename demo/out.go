package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// markerName is the file that marks a folder as a demo's output. It is
// written first, before anything else, so that a demo stopped at any point
// is still recognized.
const markerName = "demo.json"

// marker is the content of markerName.
type marker struct {
	Demo string `json:"demo"` // "cyclegan" or "stargan"
	// Entries are the names the demo writes in the folder.
	Entries []string `json:"entries"`
}

// demoEntries are the names a demo may write in its output folder.
var demoEntries = []string{markerName, "data", "run", "day2night.onnx", "longer_run_G_A.safetensors",
	"longer_run_G.safetensors", "longer_run.onnx", "grid.png", "stargan.onnx", "eval.json"}

// prepareOut makes dir ready for a demo: a missing or empty folder is
// created; a previous demo output (it holds markerName) has the demo's own
// entries removed; any other non-empty folder, or a previous output that
// holds something the demo did not write, is refused and left untouched.
// It then writes the marker.
func prepareOut(dir, kind string) error {
	if dir == "" {
		return errors.New("demo: no output folder")
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("demo: %w", err)
	}
	if len(entries) > 0 {
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		if !slices.Contains(names, markerName) {
			return fmt.Errorf("demo: %s is not empty and not a previous demo output (it holds %s, and no %s): choose a new or empty folder, so nothing there is lost",
				dir, quoteList(names, 3), markerName)
		}
		var foreign []string
		for _, n := range names {
			if !slices.Contains(demoEntries, n) {
				foreign = append(foreign, n)
			}
		}
		if len(foreign) > 0 {
			return fmt.Errorf("demo: %s is a previous demo output but also holds %s, which the demo did not write: move it away or choose another folder",
				dir, quoteList(foreign, 3))
		}
		for _, n := range names {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("demo: replacing the previous output in %s: %w", dir, err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	js, err := json.Marshal(marker{Demo: kind, Entries: demoEntries})
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, markerName), append(js, '\n')); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// quoteList names up to n entries ("a, b, c and 4 more").
func quoteList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
