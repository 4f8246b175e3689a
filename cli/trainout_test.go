package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ganrt/ganrt/synth"
)

// tinyCycleGAN is a CycleGAN command line small enough for a test.
func tinyCycleGAN(t *testing.T, run string) []string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	if _, err := synth.Write(data, synth.Options{Kind: synth.KindDayNight, N: 3, TestN: 1, Size: 20, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	return []string{"train", "cyclegan", "--data", data, "--out", run, "--netg", "resnet_6blocks", "--ngf", "4", "--ndf", "4",
		"--netd", "pixel", "--load-size", "20", "--crop-size", "16", "--threads", "1", "--sample-every", "0"}
}

// lossLogLines counts the lines of a run's loss_log.jsonl.
func lossLogLines(run string) int {
	f, err := os.Open(filepath.Join(run, "loss_log.jsonl"))
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

// TestTrainInterruptAndResume interrupts a run after its first iterations:
// it saves, says so and how to go on, and exits 130; the resumed run's
// JSON summary starts from there, with a rate from its own iterations.
func TestTrainInterruptAndResume(t *testing.T) {
	requireORT(t)
	run := filepath.Join(t.TempDir(), "run")
	args := tinyCycleGAN(t, run)
	signals := make(chan os.Signal, 1)
	go func() {
		for lossLogLines(run) < 2 {
			time.Sleep(20 * time.Millisecond)
		}
		signals <- syscall.SIGINT
	}()
	// 3 images, 100 + 100 epochs: 600 iterations.
	stdout, stderr, code := runMain(t, signals, append(args, "--print-every", "1000")...)
	if code != exitInterrupted {
		t.Fatalf("exit status %d; want %d\nstderr: %s", code, exitInterrupted, stderr)
	}
	at := lossLogLines(run)
	want := "ganrt: interrupted at iteration " + strconv.Itoa(at) + " of 600; saved " + filepath.Join(run, "latest_net_{G_A,G_B,D_A,D_B}.safetensors") +
		"; continue with: ganrt train cyclegan --out " + run + " --resume\n"
	if !strings.HasSuffix(stderr, want) {
		t.Errorf("stderr ends %q; want %q", lastLine(stderr), want)
	}
	if !strings.Contains(stderr, "cyclegan: it 1/600 (0%)") {
		t.Errorf("stderr %q; want a log line after the first iteration", stderr)
	}
	if !strings.Contains(stdout, "trained iterations 1 to "+strconv.Itoa(at)+" of 600") {
		t.Errorf("stdout %q; want the summary of iterations 1 to %d", stdout, at)
	}

	stdout, stderr, code = runMain(t, nil, append(args, "--max-iters", strconv.Itoa(at+2), "--resume", "--json", "-q")...)
	if code != 0 {
		t.Fatalf("resume: exit status %d\nstderr: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("resume with --quiet: stderr %q; want nothing", stderr)
	}
	var s trainSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("resume --json: %v\n%s", err, stdout)
	}
	if s.StartIteration != at || s.Iteration != at+2 || s.Iterations != at+2 || s.Interrupted || s.Run != run ||
		s.Generator != filepath.Join(run, "latest_net_G_A.safetensors") || len(s.Losses) != 8 {
		t.Errorf("resume summary %+v; want iterations %d to %d of %d, 8 losses, the generator's file", s, at, at+2, at+2)
	}
	// Two iterations of this process: a rate of the order of one per
	// second, not one that counts the resumed iterations.
	if s.PerSecond <= 0 || s.PerSecond > 100 || s.Seconds <= 0 {
		t.Errorf("resume: %v it/s in %vs; want a rate from the 2 iterations of this process", s.PerSecond, s.Seconds)
	}
}
