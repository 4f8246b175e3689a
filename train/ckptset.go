package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/internal/atomicfile"
)

// A checkpoint set (the networks of one tag and its run state) is published
// in one atomic step, so that a kill at any instant or a full disk leaves
// either the previous set or the new one, never a mix:
//
//  1. every member is written, synced, into the staging folder RUN/.ganrt-save
//     under its final name, and the folder is synced;
//  2. the manifest .ganrt-save/MANIFEST.json (tag, iteration, member names
//     and sizes) is written atomically: its rename is the commit point;
//  3. the members are renamed into RUN over the previous set, RUN is synced,
//     and the manifest and the staging folder are removed.
//
// A save that fails or is killed before step 2 leaves RUN as it was; the
// next start (recoverSave) removes the staging folder. One killed or failed
// in step 3 has committed: the next start finishes the renames. Users see
// only complete sets under the reference's names (latest_net_G_A.safetensors,
// 200000-G.safetensors, ...).
const (
	stageDir     = ".ganrt-save"
	manifestName = "MANIFEST.json"
)

// setManifest is the commit record of a checkpoint set being published.
type setManifest struct {
	Tag   string      `json:"tag"`
	Iter  int         `json:"iter"`
	Files []setMember `json:"files"`
}

// setMember is one file of a set: its name in the run folder and its size.
type setMember struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// setFile is a member to write: its file name and its contents.
type setFile struct {
	name string
	sd   *ckpt.StateDict
}

// saveFault, when set (by tests), is called before each step of a save and
// of a recovery with the step's name ("latest: write latest_net_G_A.safetensors",
// "latest: commit", ...); an error it returns fails that step, a panic
// stops the save where it is, as a kill would.
var saveFault func(step string) error

func fault(step string) error {
	if saveFault == nil {
		return nil
	}
	return saveFault(step)
}

// writeSet publishes files as the checkpoint set tag of iteration iter in
// dir (see the steps above). An error before the commit leaves dir's
// previous set in place and no staging folder; the error says so.
func writeSet(dir, tag string, iter int, files []setFile) error {
	stage := filepath.Join(dir, stageDir)
	m := setManifest{Tag: tag, Iter: iter}
	staged := func() error {
		if err := fault(tag + ": stage"); err != nil {
			return err
		}
		if err := os.RemoveAll(stage); err != nil {
			return err
		}
		if err := os.Mkdir(stage, 0o755); err != nil {
			return err
		}
		for _, f := range files {
			if err := fault(tag + ": write " + f.name); err != nil {
				return err
			}
			p := filepath.Join(stage, f.name)
			if err := ckpt.WriteSafetensors(p, f.sd); err != nil {
				return err
			}
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			m.Files = append(m.Files, setMember{Name: f.name, Size: fi.Size()})
		}
		if err := fault(tag + ": sync staging folder"); err != nil {
			return err
		}
		if err := syncDir(stage); err != nil {
			return err
		}
		js, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		if err := fault(tag + ": commit"); err != nil {
			return err
		}
		return atomicfile.WriteBytes(filepath.Join(stage, manifestName), append(js, '\n'))
	}
	if err := staged(); err != nil {
		os.RemoveAll(stage)
		return fmt.Errorf("save checkpoint %s (iteration %d) in %s: %w; the previous checkpoint is intact", tag, iter, dir, err)
	}
	if err := publish(dir, m); err != nil {
		return fmt.Errorf("save checkpoint %s (iteration %d) in %s: %w; the checkpoint is committed and the next start completes it", tag, iter, dir, err)
	}
	return nil
}

// publish moves the committed set m from the staging folder into dir and
// removes the manifest and the folder. It may run again after a kill: a
// member already moved is checked by its size.
func publish(dir string, m setManifest) error {
	stage := filepath.Join(dir, stageDir)
	for _, f := range m.Files {
		if err := fault(m.Tag + ": rename " + f.Name); err != nil {
			return err
		}
		src, dst := filepath.Join(stage, f.Name), filepath.Join(dir, f.Name)
		err := os.Rename(src, dst)
		if errors.Is(err, fs.ErrNotExist) {
			// Moved before an interruption: the run folder must hold it.
			fi, serr := os.Stat(dst)
			if serr != nil || fi.Size() != f.Size {
				return fmt.Errorf("%s of checkpoint %s (iteration %d) is in neither %s nor %s", f.Name, m.Tag, m.Iter, stage, dir)
			}
			continue
		}
		if err != nil {
			return err
		}
	}
	if err := fault(m.Tag + ": sync run folder"); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := fault(m.Tag + ": finish"); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(stage, manifestName)); err != nil {
		return err
	}
	return os.RemoveAll(stage)
}

// recoverSave finishes or discards a save that a kill or an error
// interrupted in dir, and removes temporary files that atomic writes left
// in dir and dir/samples. It returns what it did, for the log ("" when
// there was nothing to do).
func recoverSave(dir string) (string, error) {
	stage := filepath.Join(dir, stageDir)
	var did string
	js, err := os.ReadFile(filepath.Join(stage, manifestName))
	switch {
	case err == nil:
		var m setManifest
		if err := json.Unmarshal(js, &m); err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Join(stage, manifestName), err)
		}
		if err := publish(dir, m); err != nil {
			return "", fmt.Errorf("complete the interrupted save of checkpoint %s (iteration %d) in %s: %w", m.Tag, m.Iter, dir, err)
		}
		did = fmt.Sprintf("completed the interrupted save of checkpoint %s (iteration %d)", m.Tag, m.Iter)
	case errors.Is(err, fs.ErrNotExist):
		if _, err := os.Stat(stage); err == nil {
			if err := os.RemoveAll(stage); err != nil {
				return "", err
			}
			did = "removed an interrupted, uncommitted save"
		}
	default:
		return "", err
	}
	for _, d := range []string{dir, filepath.Join(dir, "samples")} {
		removed, err := atomicfile.RemoveTemps(d)
		if err != nil {
			return "", err
		}
		if len(removed) > 0 {
			did = joinNonEmpty(did, fmt.Sprintf("removed %d temporary files in %s", len(removed), d))
		}
	}
	return did, nil
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// syncDir makes the renames in dir durable. File systems that cannot sync
// a directory (EINVAL) are accepted.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
