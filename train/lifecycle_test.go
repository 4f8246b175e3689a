package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ganrt/ganrt/internal/ort"
)

// childEnv carries a childJob to TestChild in a process of its own.
const childEnv = "GANRT_TRAIN_CHILD"

// childJob is a training run for TestChild: one of the configs; optionally
// the save step at whose Nth occurrence the process kills itself with
// SIGKILL, and a pause before every step of a save.
type childJob struct {
	CycleGAN  *CycleGANConfig `json:",omitempty"`
	StarGAN   *StarGANConfig  `json:",omitempty"`
	KillAt    string          `json:",omitempty"`
	KillNth   int             `json:",omitempty"`
	SaveDelay time.Duration   `json:",omitempty"`
	// FullDisk runs the CycleGAN config in a tmpfs of its own (see
	// fullDiskChild).
	FullDisk *fullDiskJob `json:",omitempty"`
}

// fullDiskJob: mount a tmpfs of Size bytes at Dir (in the child's own
// mount namespace), train there until the disk is full, grow the tmpfs,
// resume, and compare with the finished run in Straight.
type fullDiskJob struct {
	Dir, Straight string
	Size          int64
}

// TestChild is not a test of its own: other tests run the test binary with
// -test.run=^TestChild$ and a childJob in GANRT_TRAIN_CHILD, to train in a
// process that they can kill or start in a bad environment. It reports a
// training error on stderr with exit status 3.
func TestChild(t *testing.T) {
	js := os.Getenv(childEnv)
	if js == "" {
		t.Skip("runs only as a child of other tests")
	}
	var job childJob
	if err := json.Unmarshal([]byte(js), &job); err != nil {
		t.Fatal(err)
	}
	n := 0
	saveFault = func(step string) error {
		time.Sleep(job.SaveDelay)
		if step == job.KillAt {
			if n++; n == job.KillNth {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
		return nil
	}
	var err error
	if job.FullDisk != nil {
		fullDiskChild(t, job.FullDisk, *job.CycleGAN)
		return
	}
	if job.CycleGAN != nil {
		err = TrainCycleGAN(context.Background(), *job.CycleGAN, nil, nil)
	} else {
		err = TrainStarGAN(context.Background(), *job.StarGAN, nil, nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(3)
	}
}

// childCmd returns the command that runs TestChild with job and env added
// to the environment; the buffer gets its output.
func childCmd(t *testing.T, job childJob, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	js, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), childEnv+"="+string(js)), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// startChild starts childCmd's command.
func startChild(t *testing.T, job childJob, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd, out := childCmd(t, job, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// wasKilled fails unless the child ended by SIGKILL.
func wasKilled(t *testing.T, err error) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child: %v; want it killed", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v; want it killed by SIGKILL", err)
	}
}

func requireORT(t *testing.T) {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Skipf("no ONNX Runtime: %v", err)
	}
}

// sameCheckpoints fails unless the checkpoint files named in dir a and dir b hold
// identical tensors.
func sameCheckpoints(t *testing.T, a, b string, files ...string) {
	t.Helper()
	for _, f := range files {
		sameWeights(t, filepath.Join(a, f), filepath.Join(b, f))
	}
}

var cycleGANNetFiles = []string{"latest_net_G_A.safetensors", "latest_net_G_B.safetensors", "latest_net_D_A.safetensors", "latest_net_D_B.safetensors"}

// killInSave waits until the child running in out has completed a
// checkpoint set and then kills it as soon as its next save is seen under
// way (the staging folder exists), at whatever point of that save it is.
// The child must run with a SaveDelay, so that a save lasts long enough
// to be seen.
func killInSave(t *testing.T, cmd *exec.Cmd, out string) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	complete := false
	for {
		select {
		case err := <-exited:
			t.Fatalf("the child ended (%v) before a save was seen", err)
		default:
		}
		if !complete {
			states, _ := filepath.Glob(filepath.Join(out, "*"+stateSuffix))
			complete = len(states) > 0
		} else if _, err := os.Stat(filepath.Join(out, stageDir)); err == nil {
			cmd.Process.Kill()
			break
		}
		time.Sleep(50 * time.Microsecond)
	}
	wasKilled(t, <-exited)
}

// resumeAndCompare resumes the CycleGAN run in out to 4 iterations and
// checks it against the uninterrupted run in straight.
func resumeAndCompare(t *testing.T, straight, out string) {
	t.Helper()
	cfg, err := ResumeCycleGANConfig(out, DefaultCycleGANConfig, func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if err := TrainCycleGAN(context.Background(), cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	sameCheckpoints(t, straight, out, cycleGANNetFiles...)
	if la, lb := readFile(t, filepath.Join(straight, "loss_log.jsonl")), readFile(t, filepath.Join(out, "loss_log.jsonl")); stripSec(t, la) != stripSec(t, lb) {
		t.Fatalf("loss logs differ:\n%s\n%s", la, lb)
	}
	checkClean(t, out)
}

// TestCycleGANKilledInSave kills real training processes inside saves (one
// among the renames that publish the set, one at whatever instant a save is
// seen under way) and fails a save with ENOSPC; each time --resume must end
// with the weights and losses of an uninterrupted run. (Every step of a
// save is killed and failed in TestCheckpointSetKilled and
// TestCheckpointSetFullDisk.)
func TestCycleGANKilledInSave(t *testing.T) {
	requireORT(t)
	dataDir := synthData(t)
	straight := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "straight"))
	straight.MaxIters = 4
	if err := TrainCycleGAN(context.Background(), straight, nil, nil); err != nil {
		t.Fatal(err)
	}
	run := func(name string) CycleGANConfig {
		c := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), name))
		c.MaxIters, c.SaveEvery = 4, 1
		return c
	}
	t.Run("among the renames", func(t *testing.T) {
		c := run("killed")
		// In the second save of latest, at iteration 2, after the commit.
		cmd, _ := startChild(t, childJob{CycleGAN: &c, KillAt: "latest: rename latest_net_G_B.safetensors", KillNth: 2})
		wasKilled(t, cmd.Wait())
		resumeAndCompare(t, straight.Out, c.Out)
	})
	t.Run("at the instant a save is seen", func(t *testing.T) {
		c := run("killed")
		cmd, _ := startChild(t, childJob{CycleGAN: &c, SaveDelay: time.Millisecond})
		killInSave(t, cmd, c.Out)
		resumeAndCompare(t, straight.Out, c.Out)
	})
	t.Run("full disk", func(t *testing.T) {
		c := run("full")
		n := 0
		saveFault = func(step string) error {
			if step == "latest: write latest_state.safetensors" {
				if n++; n == 3 {
					return syscall.ENOSPC
				}
			}
			return nil
		}
		err := TrainCycleGAN(context.Background(), c, nil, nil)
		saveFault = nil
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "checkpoint latest (iteration 3)") || !strings.Contains(err.Error(), "intact") {
			t.Fatalf("got %v; want ENOSPC saving iteration 3 with the previous checkpoint intact", err)
		}
		checkClean(t, c.Out)
		resumeAndCompare(t, straight.Out, c.Out)
	})
}

// exitNoMount is fullDiskChild's exit status when it may not mount a tmpfs.
const exitNoMount = 4

// fullDiskChild is TestCycleGANFullTmpfs's child (see fullDiskJob).
func fullDiskChild(t *testing.T, job *fullDiskJob, c CycleGANConfig) {
	// Keep the mount out of the parent's namespace, then mount.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "mount:", err)
		os.Exit(exitNoMount)
	}
	if err := syscall.Mount("tmpfs", job.Dir, "tmpfs", 0, fmt.Sprintf("size=%d", job.Size)); err != nil {
		fmt.Fprintln(os.Stderr, "mount:", err)
		os.Exit(exitNoMount)
	}
	err := TrainCycleGAN(context.Background(), c, nil, nil)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "the previous checkpoint is intact") {
		t.Fatalf("on a full disk: %v; want ENOSPC with the previous checkpoint intact", err)
	}
	t.Logf("the full disk stopped the run: %v", err)
	checkClean(t, c.Out)
	if err := syscall.Mount("tmpfs", job.Dir, "tmpfs", syscall.MS_REMOUNT, fmt.Sprintf("size=%d", 64*job.Size)); err != nil {
		t.Fatal(err)
	}
	resumeAndCompare(t, job.Straight, c.Out)
}

// TestCycleGANFullTmpfs fills a real disk: a tmpfs that holds one
// checkpoint set and a half, so that the second save runs out of space
// while staging. The run stops with the previous set intact and no
// temporary files, and after the disk grows --resume ends with the
// uninterrupted run's weights. It needs the right to mount (root) and is
// skipped without it.
func TestCycleGANFullTmpfs(t *testing.T) {
	requireORT(t)
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dataDir := synthData(t)
	straight := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "straight"))
	straight.MaxIters, straight.SampleEvery, straight.SaveEpochEvery = 4, 0, 0
	if err := TrainCycleGAN(context.Background(), straight, nil, nil); err != nil {
		t.Fatal(err)
	}
	var set int64
	for _, f := range append(cycleGANNetFiles, "latest_state.safetensors") {
		fi, err := os.Stat(filepath.Join(straight.Out, f))
		if err != nil {
			t.Fatal(err)
		}
		set += (fi.Size() + 4095) &^ 4095
	}
	disk := t.TempDir()
	c := straight
	c.Out, c.SaveEvery = filepath.Join(disk, "run"), 1
	cmd, out := childCmd(t, childJob{CycleGAN: &c, FullDisk: &fullDiskJob{Dir: disk, Straight: straight.Out, Size: set*3/2 + 64<<10}})
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == exitNoMount {
		t.Skipf("cannot mount a tmpfs: %s", out)
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

// TestStarGANKilledInSave kills a real StarGAN run at the instant a save
// is first seen under way and in-process at the commit of another; --resume
// must end with the uninterrupted run's weights.
func TestStarGANKilledInSave(t *testing.T) {
	requireORT(t)
	dataDir := weatherData(t)
	straight := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "straight"))
	straight.SaveEvery = 0
	if err := TrainStarGAN(context.Background(), straight, nil, nil); err != nil {
		t.Fatal(err)
	}
	resume := func(t *testing.T, out string) {
		cfg, err := ResumeStarGANConfig(out, DefaultStarGANConfig, func(string) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		if err := TrainStarGAN(context.Background(), cfg, nil, nil); err != nil {
			t.Fatal(err)
		}
		sameCheckpoints(t, straight.Out, out, "6-G.safetensors", "6-D.safetensors")
		checkClean(t, out)
	}
	t.Run("at the instant a save is seen", func(t *testing.T) {
		c := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "killed"))
		c.SaveEvery = 1
		cmd, _ := startChild(t, childJob{StarGAN: &c, SaveDelay: time.Millisecond})
		killInSave(t, cmd, c.Out)
		resume(t, c.Out)
	})
	t.Run("in the first save", func(t *testing.T) {
		// No complete checkpoint: --resume starts the run over.
		c := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "killed"))
		c.SaveEvery = 1
		cmd, _ := startChild(t, childJob{StarGAN: &c, KillAt: "1: rename 1-D.safetensors", KillNth: 1})
		wasKilled(t, cmd.Wait())
		resume(t, c.Out)
	})
	t.Run("at the commit", func(t *testing.T) {
		c := tinyStarGAN(t, dataDir, filepath.Join(t.TempDir(), "killed"))
		c.SaveEvery = 1
		if !withFault(t, func(step string) error {
			if step == "4: commit" {
				panic(errKilled)
			}
			return nil
		}, func() { _ = TrainStarGAN(context.Background(), c, nil, nil) }) {
			t.Fatal("the run was not killed")
		}
		if _, err := os.Stat(filepath.Join(c.Out, "4_state.safetensors")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("an uncommitted set is visible: %v", err)
		}
		resume(t, c.Out)
	})
}

// TestTrainRefusesExistingRun checks that a new run does not write over a
// run or a folder of other files, and that --overwrite replaces the
// previous run's files but keeps the others.
func TestTrainRefusesExistingRun(t *testing.T) {
	requireORT(t)
	dataDir := synthData(t)
	c := tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "run"))
	c.MaxIters, c.SampleEvery = 2, 1
	if err := TrainCycleGAN(context.Background(), c, nil, nil); err != nil {
		t.Fatal(err)
	}
	logBefore, netBefore := readFile(t, filepath.Join(c.Out, "loss_log.jsonl")), readFile(t, filepath.Join(c.Out, cycleGANNetFiles[0]))
	again := c
	again.MaxIters = 1
	err := TrainCycleGAN(context.Background(), again, nil, nil)
	if err == nil || !strings.Contains(err.Error(), c.Out+" already holds a run: continue it with --resume, choose a new --out folder, or replace it with --overwrite") {
		t.Fatalf("got %v; want a refusal that suggests --resume", err)
	}
	if !slices.Equal(readFile(t, filepath.Join(c.Out, "loss_log.jsonl")), logBefore) || !slices.Equal(readFile(t, filepath.Join(c.Out, cycleGANNetFiles[0])), netBefore) {
		t.Fatal("a refused run changed the existing run")
	}
	both := again
	both.Resume, both.Overwrite = true, true
	if err := TrainCycleGAN(context.Background(), both, nil, nil); err == nil || !strings.Contains(err.Error(), "give one of them") {
		t.Fatalf("--resume --overwrite: got %v; want a refusal", err)
	}

	other := tinyCycleGAN(t, dataDir, t.TempDir())
	if err := os.WriteFile(filepath.Join(other.Out, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := TrainCycleGAN(context.Background(), other, nil, nil); err == nil || !strings.Contains(err.Error(), "is not empty and holds no ganrt run") {
		t.Fatalf("got %v; want a refusal of a folder of other files", err)
	}

	// --overwrite: the old run's samples, checkpoints and log go; a user's
	// files stay.
	for _, f := range []string{"notes.txt", "samples/mine.txt"} {
		if err := os.WriteFile(filepath.Join(c.Out, f), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again.Overwrite, again.SampleEvery, again.SaveEpochEvery = true, 0, 0
	if err := TrainCycleGAN(context.Background(), again, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"notes.txt", "samples/mine.txt", "latest_net_G_A.safetensors", "options.json"} {
		if _, err := os.Stat(filepath.Join(c.Out, f)); err != nil {
			t.Errorf("%s: %v; want it kept or rewritten", f, err)
		}
	}
	for _, f := range []string{"samples/iter_0000001.png", "1_net_G_A.safetensors"} {
		if _, err := os.Stat(filepath.Join(c.Out, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s of the old run is still there (%v)", f, err)
		}
	}
	if log := readFile(t, filepath.Join(c.Out, "loss_log.jsonl")); strings.Count(string(log), "\n") != 1 {
		t.Errorf("loss_log.jsonl after --overwrite:\n%s\nwant the new run's one line", log)
	}
}

// TestRunThatCannotStartLeavesNothing checks that runs failing before their
// first iteration (a wrong data folder, a missing ONNX Runtime library, a
// c_dim that the data contradicts) create no run folder.
func TestRunThatCannotStartLeavesNothing(t *testing.T) {
	dataDir := synthData(t)
	missing := func(t *testing.T, out string) {
		t.Helper()
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s exists after a failed start (%v)", out, err)
		}
	}
	c := tinyCycleGAN(t, filepath.Join(dataDir, "nope"), filepath.Join(t.TempDir(), "run"))
	if err := TrainCycleGAN(context.Background(), c, nil, nil); err == nil {
		t.Fatal("got no error for a missing data folder")
	}
	missing(t, c.Out)

	s := tinyStarGAN(t, weatherData(t), filepath.Join(t.TempDir(), "run"))
	s.CDim = 4
	if err := TrainStarGAN(context.Background(), s, nil, nil); err == nil || !strings.Contains(err.Error(), "c_dim is 4") {
		t.Fatalf("got %v; want the c_dim mismatch", err)
	}
	missing(t, s.Out)

	c = tinyCycleGAN(t, dataDir, filepath.Join(t.TempDir(), "run"))
	cmd, stderr := startChild(t, childJob{CycleGAN: &c}, ort.EnvLibraryPath+"="+filepath.Join(t.TempDir(), "libonnxruntime.so"))
	if err := cmd.Wait(); err == nil || !strings.Contains(stderr.String(), "libonnxruntime.so") {
		t.Fatalf("training without an ONNX Runtime library: %v\n%s\nwant a failure that names the library", err, stderr)
	}
	missing(t, c.Out)
}

// TestResumeOptions checks how flags given with --resume meet the run's
// options.json: those left out take the run's values, a changed model
// option is refused naming the flag and both values, a changeable one is
// applied and recorded.
func TestResumeOptions(t *testing.T) {
	dir := t.TempDir()
	run := DefaultCycleGANConfig
	run.NGF, run.Dropout, run.MaxIters, run.Data = 16, true, 10, "data/old"
	if err := writeOptions(dir, run); err != nil {
		t.Fatal(err)
	}
	given := DefaultCycleGANConfig // the command line's defaults
	given.MaxIters, given.Data, given.Device = 20, "data/moved", "cpu"
	setOf := func(flags ...string) func(string) bool {
		return func(f string) bool { return slices.Contains(flags, f) }
	}
	cfg, err := ResumeCycleGANConfig(dir, given, setOf("max-iters", "data", "device"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NGF != 16 || !cfg.Dropout || cfg.MaxIters != 20 || cfg.Data != "data/moved" || !cfg.Resume || cfg.Out != dir {
		t.Fatalf("got %+v; want the run's options with max-iters and data changed", cfg)
	}
	want := []OptionChange{{Flag: "--data", From: "data/old", To: "data/moved"}, {Flag: "--max-iters", From: "10", To: "20"}}
	if !slices.Equal(cfg.changes, want) {
		t.Fatalf("changes %+v; want %+v (device unchanged)", cfg.changes, want)
	}
	for _, tc := range []struct {
		flag string
		want string
	}{
		{"ngf", "--ngf 64 differs from the run's 16"},
		{"no-dropout", "--no-dropout true differs from the run's false"},
		{"lr", "--lr 0.0002 differs"},
	} {
		given := DefaultCycleGANConfig
		if tc.flag == "lr" {
			run.LR = 1e-3
			if err := writeOptions(dir, run); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ResumeCycleGANConfig(dir, given, setOf(tc.flag)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--%s: got %v; want %q", tc.flag, err, tc.want)
		}
	}

	star := DefaultStarGANConfig
	star.Attrs, star.CDim = []string{"Day", "Night"}, 2
	if err := writeOptions(dir, star); err != nil {
		t.Fatal(err)
	}
	scfg, err := ResumeStarGANConfig(dir, DefaultStarGANConfig, setOf())
	if err != nil || !slices.Equal(scfg.Attrs, star.Attrs) || !slices.Equal(DefaultStarGANConfig.Attrs, []string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"}) {
		t.Fatalf("got attrs %v, %v, default %v; want the run's and the default unchanged", scfg.Attrs, err, DefaultStarGANConfig.Attrs)
	}
	if _, err := ResumeStarGANConfig(dir, DefaultStarGANConfig, setOf("attrs")); err == nil || !strings.Contains(err.Error(), "--attrs Black_Hair,Blond_Hair,Brown_Hair,Male,Young differs from the run's Day,Night") {
		t.Fatalf("--attrs: got %v", err)
	}
	empty := t.TempDir()
	if _, err := ResumeStarGANConfig(empty, DefaultStarGANConfig, setOf()); err == nil || !strings.Contains(err.Error(), "holds no ganrt run") {
		t.Fatalf("an empty folder: got %v", err)
	}
	if err := os.WriteFile(filepath.Join(empty, "loss_log.jsonl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ResumeStarGANConfig(empty, DefaultStarGANConfig, setOf()); err == nil || !strings.Contains(err.Error(), "options.json") {
		t.Fatalf("a run without options.json: got %v", err)
	}
}
