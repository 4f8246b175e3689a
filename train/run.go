package train

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// A run folder holds one run: options.json, loss_log.jsonl, loss.png,
// samples/ and checkpoint sets. A run is never started over an existing one
// unless asked to (Overwrite), and a run that fails before its first
// iteration leaves no folder: the trainers validate their options and data
// and build their sessions first (checkOut, then createRun), and a resumed
// run first completes or discards an interrupted save (openRun).

// runFile matches the names of the files a run writes in its folder, which
// Overwrite removes; samples/ and the staging folder go as well.
var runFile = regexp.MustCompile(`^(options\.json|loss_log\.jsonl|loss\.png|index\.html|` +
	`[^/]+_net_[^/]+\.safetensors|[^/]+_state\.safetensors|[0-9]+-[GD]\.safetensors)$`)

// sampleFile matches the sample grids in samples/.
var sampleFile = regexp.MustCompile(`^iter_[0-9]+\.png$`)

// runKind describes what dir holds, for checkOut: "" (nothing, or missing),
// "run" (a ganrt run) or "other" (files that are not a run's).
func runKind(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	kind := ""
	for _, e := range entries {
		if runFile.MatchString(e.Name()) || e.Name() == stageDir {
			return "run", nil
		}
		kind = "other"
	}
	return kind, nil
}

// checkOut refuses to start a run in out when that would mix with or
// replace what is there: a new run needs a missing or empty folder, or
// overwrite; a resumed one an existing run. It changes nothing.
func checkOut(out string, resume, overwrite bool) error {
	if out == "" {
		return errors.New("no run folder (--out) given")
	}
	fi, err := os.Stat(out)
	if err == nil && !fi.IsDir() {
		return fmt.Errorf("--out %s is a file, not a folder", out)
	}
	kind, err := runKind(out)
	if err != nil {
		return err
	}
	switch {
	case resume && overwrite:
		return errors.New("--resume continues a run and --overwrite replaces it: give one of them")
	case resume && kind != "run":
		return fmt.Errorf("--resume: %s holds no ganrt run to continue", out)
	case resume || overwrite || kind == "":
		return nil
	case kind == "run":
		return fmt.Errorf("%s already holds a run: continue it with --resume, choose a new --out folder, or replace it with --overwrite", out)
	}
	return fmt.Errorf("%s is not empty and holds no ganrt run: choose a new or empty --out folder (--overwrite writes the run beside the files there)", out)
}

// runDir is a run folder held by one trainer: an exclusive lock on the
// folder keeps a second process out until Close.
type runDir struct {
	path string
	lock *os.File
}

// lockRun takes the folder's lock.
func lockRun(dir string) (*runDir, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another ganrt train", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return &runDir{path: dir, lock: f}, nil
}

// Close releases the folder.
func (r *runDir) Close() error { return r.lock.Close() }

// createRun makes (or, with overwrite, empties of a previous run's files)
// the folder of a new run and locks it. Files that are not a run's stay.
func createRun(out string, overwrite bool, logger *slog.Logger) (*runDir, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	r, err := lockRun(out)
	if err != nil {
		return nil, err
	}
	if !overwrite {
		return r, nil
	}
	removed, err := removeRunFiles(out)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("--overwrite: %w", err)
	}
	if removed > 0 {
		logger.Info("removed the previous run's files", "dir", out, "files", removed)
	}
	return r, nil
}

// removeRunFiles removes what a previous run wrote in dir and returns how
// many files went.
func removeRunFiles(dir string) (int, error) {
	if err := os.RemoveAll(filepath.Join(dir, stageDir)); err != nil {
		return 0, err
	}
	n := 0
	for _, d := range []struct {
		dir  string
		name *regexp.Regexp
	}{{dir, runFile}, {filepath.Join(dir, "samples"), sampleFile}} {
		temps, err := atomicfile.RemoveTemps(d.dir)
		if n += len(temps); err != nil {
			return n, err
		}
		entries, err := os.ReadDir(d.dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, err
		}
		for _, e := range entries {
			if e.Type().IsRegular() && d.name.MatchString(e.Name()) {
				if err := os.Remove(filepath.Join(d.dir, e.Name())); err != nil {
					return n, err
				}
				n++
			}
		}
	}
	// samples/ goes too unless something else is in it.
	if err := os.Remove(filepath.Join(dir, "samples")); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		return n, err
	}
	return n, nil
}

// openRun locks the folder of a run to resume and completes or discards a
// save that was interrupted in it.
func openRun(out string, logger *slog.Logger) (*runDir, error) {
	r, err := lockRun(out)
	if err != nil {
		return nil, err
	}
	did, err := recoverSave(out)
	if err != nil {
		r.Close()
		return nil, err
	}
	if did != "" {
		logger.Warn(did, "dir", out)
	}
	return r, nil
}

// resumeTag returns the tag of the newest complete checkpoint set in dir
// among those that keep accepts: "latest" when it is there, else the
// highest iteration number. With none (a run killed in its first save) it
// returns "" and logs that the run starts over, which gives the weights of
// an uninterrupted run since all randomness comes from the seed.
func resumeTag(dir string, keep func(tag string) bool, logger *slog.Logger) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*"+stateSuffix))
	if err != nil {
		return "", err
	}
	best, bestIter := "", -1
	for _, m := range matches {
		tag := strings.TrimSuffix(filepath.Base(m), stateSuffix)
		if !keep(tag) {
			continue
		}
		if tag == "latest" {
			return tag, nil
		}
		if n, err := strconv.Atoi(tag); err == nil && n > bestIter {
			best, bestIter = tag, n
		}
	}
	if best == "" {
		logger.Warn("no complete checkpoint to resume from: the run starts over from iteration 0 with its options", "dir", dir)
	}
	return best, nil
}
