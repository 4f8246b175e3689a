package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/ganrt/ganrt/ckpt"
	"github.com/ganrt/ganrt/models"
)

// RunState is what, beside the weights and the optimizer moments, a run
// needs to resume exactly. All randomness of a run is derived from Seed and
// the position, so no generator state is saved.
type RunState struct {
	// Iter counts the iterations done.
	Iter int `json:"iter"`
	// Epoch is the current epoch (from 1) and Batch the batches of it done.
	Epoch int    `json:"epoch"`
	Batch int    `json:"batch"`
	Seed  uint64 `json:"seed"`
	// OptSteps is each optimizer's update count.
	OptSteps map[string]int `json:"opt_steps"`
}

// Metadata keys of checkpoint files.
const (
	metaIter  = "ganrt.iter"
	metaState = "ganrt.run_state"
)

// stateSuffix ends the name of a checkpoint set's run-state file.
const stateSuffix = "_state.safetensors"

// stateFile is the name of the run-state file of a checkpoint tag.
func stateFile(tag string) string { return tag + stateSuffix }

// saveCheckpoint writes the checkpoint set tag in dir as one atomic step
// (see writeSet): each net (reference keys, spec and iteration in the
// metadata) under the name netFile gives it, and the run-state file (the
// optimizers' moments, the image pools and st), which names the iteration
// that each net file must carry.
func saveCheckpoint(dir, tag string, nets []*Net, netFile func(*Net) string, opts []*Optimizer, pools map[string]*ImagePool, st RunState) error {
	iter := strconv.Itoa(st.Iter)
	var files []setFile
	for _, n := range nets {
		sd, err := n.Spec.StateDict(n.Values)
		if err != nil {
			return err
		}
		sd.Metadata[metaIter] = iter
		files = append(files, setFile{netFile(n), sd})
	}
	sd := ckpt.NewStateDict()
	st.OptSteps = map[string]int{}
	for _, o := range opts {
		st.OptSteps[o.Name] = o.Step
		for _, name := range sortedKeys(o.M) {
			sd.Set(o.Name+"/"+mPrefix+name, ckpt.NewFloat32([]int{len(o.M[name])}, o.M[name]))
			sd.Set(o.Name+"/"+vPrefix+name, ckpt.NewFloat32([]int{len(o.V[name])}, o.V[name]))
		}
	}
	for _, name := range sortedKeys(pools) {
		for i, img := range pools[name].Images() {
			sd.Set(fmt.Sprintf("pool/%s/%d", name, i), ckpt.NewFloat32([]int{len(img)}, img))
		}
	}
	js, err := json.Marshal(st)
	if err != nil {
		return err
	}
	sd.Metadata[metaState] = string(js)
	sd.Metadata[metaIter] = iter
	files = append(files, setFile{stateFile(tag), sd})
	return writeSet(dir, tag, st.Iter, files)
}

// loadCheckpoint restores nets, optimizers and pools from the checkpoint
// tag in dir and returns the run state. The nets' specs must match the
// files'.
func loadCheckpoint(dir, tag string, nets []*Net, netFile func(*Net) string, opts []*Optimizer, pools map[string]*ImagePool) (RunState, error) {
	path := filepath.Join(dir, stateFile(tag))
	sd, err := ckpt.ReadSafetensors(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return RunState{}, fmt.Errorf("no checkpoint %q to resume in %s", tag, dir)
		}
		return RunState{}, err
	}
	var st RunState
	if err := json.Unmarshal([]byte(sd.Metadata[metaState]), &st); err != nil {
		return RunState{}, fmt.Errorf("%s: run state: %w", path, err)
	}
	for _, n := range nets {
		p := filepath.Join(dir, netFile(n))
		nsd, err := ckpt.ReadSafetensors(p)
		if err != nil {
			return RunState{}, err
		}
		if got := nsd.Metadata[metaIter]; got != sd.Metadata[metaIter] {
			return RunState{}, fmt.Errorf("%s is from iteration %s but %s from iteration %s: the checkpoint was interrupted while being written", p, got, path, sd.Metadata[metaIter])
		}
		if js := nsd.Metadata[models.MetadataKey]; js != n.Spec.JSON() {
			return RunState{}, fmt.Errorf("%s holds %s, the run needs %s", p, js, n.Spec.JSON())
		}
		values, err := n.Spec.Weights(nsd)
		if err != nil {
			return RunState{}, fmt.Errorf("%s: %w", p, err)
		}
		n.Values = values
	}
	for _, o := range opts {
		steps, ok := st.OptSteps[o.Name]
		if !ok {
			return RunState{}, fmt.Errorf("%s: no state for optimizer %s", path, o.Name)
		}
		o.Step = steps
		for name := range o.M {
			for _, kind := range []struct {
				prefix string
				m      map[string][]float32
			}{{mPrefix, o.M}, {vPrefix, o.V}} {
				t, ok := sd.Get(o.Name + "/" + kind.prefix + name)
				if !ok || len(t.Floats) != len(kind.m[name]) {
					return RunState{}, fmt.Errorf("%s: missing or wrong-sized %s%s of %s", path, kind.prefix, name, o.Name)
				}
				kind.m[name] = t.Floats
			}
		}
	}
	for _, name := range sortedKeys(pools) {
		var images [][]float32
		for i := 0; ; i++ {
			t, ok := sd.Get(fmt.Sprintf("pool/%s/%d", name, i))
			if !ok {
				break
			}
			images = append(images, t.Floats)
		}
		pools[name].Restore(images)
	}
	return st, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
