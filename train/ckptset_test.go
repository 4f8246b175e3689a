package train

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ganrt/ganrt/nn"
)

// errKilled is what a test's saveFault panics with to stop a save where it
// is, as a kill would.
var errKilled = errors.New("killed by the test")

// withFault runs f with saveFault set to hook and returns whether f was
// stopped by a panic(errKilled).
func withFault(t *testing.T, hook func(step string) error, f func()) (killed bool) {
	t.Helper()
	saveFault = hook
	defer func() {
		saveFault = nil
		if r := recover(); r != nil {
			if r != errKilled {
				panic(r)
			}
			killed = true
		}
	}()
	f()
	return false
}

// setFixture is a two-net checkpoint whose weights, moments and state
// change with the iteration, so that sets of two iterations differ.
type setFixture struct {
	a, b *Net
	opt  *Optimizer
	pool *ImagePool
}

func newSetFixture(t *testing.T) *setFixture {
	a, b := smallNet(t, "D_A", 1), smallNet(t, "D_B", 2)
	return &setFixture{a: a, b: b, opt: NewOptimizer("opt_D", nn.DefaultAdam, a, b), pool: NewImagePool(2)}
}

// at sets every value to a function of iter and returns the run state.
func (f *setFixture) at(iter int) RunState {
	for _, n := range []*Net{f.a, f.b} {
		for _, v := range n.Values {
			for i := range v {
				v[i] = float32(iter) + float32(i)/1000
			}
		}
	}
	for _, m := range f.opt.M {
		m[0] = float32(iter)
	}
	f.opt.Step = iter
	f.pool.Restore([][]float32{{float32(iter)}})
	return RunState{Iter: iter, Epoch: 1, Batch: iter, Seed: 5}
}

// savedFixture returns a run folder that holds iteration 1's set, and the
// fixture.
func savedFixture(t *testing.T) (string, *setFixture) {
	t.Helper()
	dir, f := t.TempDir(), newSetFixture(t)
	if err := f.save(dir, 1); err != nil {
		t.Fatal(err)
	}
	return dir, f
}

func (f *setFixture) save(dir string, iter int) error {
	st := f.at(iter)
	return saveCheckpoint(dir, "latest", []*Net{f.a, f.b}, cycleGANNetFile("latest"), []*Optimizer{f.opt}, map[string]*ImagePool{"A": f.pool}, st)
}

// loadIter loads the set in dir into a fresh fixture and checks that every
// value is the one of the iteration the state names.
func loadIter(t *testing.T, dir string) int {
	t.Helper()
	g := newSetFixture(t)
	st, err := loadCheckpoint(dir, "latest", []*Net{g.a, g.b}, cycleGANNetFile("latest"), []*Optimizer{g.opt}, map[string]*ImagePool{"A": g.pool})
	if err != nil {
		t.Fatal(err)
	}
	want := newSetFixture(t)
	want.at(st.Iter)
	for _, pair := range [][2]*Net{{g.a, want.a}, {g.b, want.b}} {
		for k, v := range pair[1].Values {
			if !slices.Equal(pair[0].Values[k], v) {
				t.Fatalf("%s %s is not iteration %d's", pair[0].Name, k, st.Iter)
			}
		}
	}
	if g.opt.Step != st.Iter || g.pool.Images()[0][0] != float32(st.Iter) {
		t.Fatalf("optimizer step %d, pool %v; want iteration %d's", g.opt.Step, g.pool.Images(), st.Iter)
	}
	return st.Iter
}

// saveSteps lists the fault points of one save, in order.
func saveSteps(t *testing.T) []string {
	t.Helper()
	var steps []string
	withFault(t, func(step string) error {
		steps = append(steps, step)
		return nil
	}, func() {
		if err := newSetFixture(t).save(t.TempDir(), 1); err != nil {
			t.Fatal(err)
		}
	})
	return steps
}

// checkClean fails if a staging folder or a temporary file is left in dir.
func checkClean(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == stageDir || strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("%s is left in %s", e.Name(), dir)
		}
	}
}

// TestCheckpointSetKilled kills a save at every step (and a torn temporary
// file with it) and checks that after recovery the run folder holds exactly
// the previous set when the kill came before the commit and the new one
// after it; a kill inside the recovery itself is recovered from too.
func TestCheckpointSetKilled(t *testing.T) {
	steps := saveSteps(t)
	commit := slices.Index(steps, "latest: commit")
	if len(steps) != 11 || commit != 5 {
		t.Fatalf("save steps %q; want stage, 3 writes, sync, commit, 3 renames, sync, finish", steps)
	}
	for k, step := range steps {
		t.Run(step, func(t *testing.T) {
			dir, f := savedFixture(t)
			n := 0
			killed := withFault(t, func(string) error {
				if n++; n == k+1 {
					panic(errKilled)
				}
				return nil
			}, func() { _ = f.save(dir, 2) })
			if !killed {
				t.Fatal("the save was not killed")
			}
			if strings.Contains(step, "write") {
				// The member being written when the kill came is a torn temporary file.
				if err := os.WriteFile(filepath.Join(dir, stageDir, ".latest_net_D_B.safetensors.tmp-42"), []byte("torn"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if k > commit {
				// Kill the first recovery at its first step as well.
				if !withFault(t, func(string) error { panic(errKilled) }, func() { _, _ = recoverSave(dir) }) {
					t.Fatal("the recovery was not killed")
				}
			}
			did, err := recoverSave(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if k > commit {
				want = 2
			}
			if got := loadIter(t, dir); got != want {
				t.Fatalf("after a kill at %q the set is iteration %d's; want %d's (recovery: %s)", step, got, want, did)
			}
			checkClean(t, dir)
		})
	}
}

// TestCheckpointSetFullDisk fails a save with ENOSPC at every step: the
// error says whether the previous set is intact (before the commit, with
// nothing left behind) or the new one committed (after it, completed on
// the next start).
func TestCheckpointSetFullDisk(t *testing.T) {
	steps := saveSteps(t)
	commit := slices.Index(steps, "latest: commit")
	for k, step := range steps {
		t.Run(step, func(t *testing.T) {
			dir, f := savedFixture(t)
			var err error
			withFault(t, func(s string) error {
				if s == step {
					return syscall.ENOSPC
				}
				return nil
			}, func() { err = f.save(dir, 2) })
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("got %v; want ENOSPC", err)
			}
			want, says := 1, "the previous checkpoint is intact"
			if k > commit {
				want, says = 2, "the checkpoint is committed"
			}
			if !strings.Contains(err.Error(), says) || !strings.Contains(err.Error(), "iteration 2") {
				t.Fatalf("got %q; want it to name iteration 2 and say %q", err, says)
			}
			if k <= commit {
				checkClean(t, dir)
			}
			if _, err := recoverSave(dir); err != nil {
				t.Fatal(err)
			}
			if got := loadIter(t, dir); got != want {
				t.Fatalf("after ENOSPC at %q the set is iteration %d's; want %d's", step, got, want)
			}
			checkClean(t, dir)
		})
	}
}

// TestRecoverSaveCleansTemps checks that a start removes the temporary
// files of killed atomic writes in the run folder and samples/, and
// nothing else.
func TestRecoverSaveCleansTemps(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "samples"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".options.json.tmp-1", "samples/.iter_0000002.png.tmp-7", "notes.txt", "samples/iter_0000001.png"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	did, err := recoverSave(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(did, "removed 1 temporary files in "+dir) || !strings.Contains(did, "samples") {
		t.Fatalf("recovery says %q; want the removed temporary files", did)
	}
	for _, name := range []string{"notes.txt", "samples/iter_0000001.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	checkClean(t, dir)
	checkClean(t, filepath.Join(dir, "samples"))
}
