// Command train times ganrt's training iterations against the PyTorch
// reference loops (torch_loops.py, Debian's python3-torch on OpenBLAS) on
// the same machine, interleaved, and prints a Markdown table for
// benchmarks/README.md: seconds per iteration (CycleGAN) or per round of 5
// critic steps and one generator step (StarGAN), the median of the runs with
// their spread, the ratio, the peak resident memory of each process, and the
// machine (CPU model, threads, BLAS, load).
//
//	go build -o /tmp/ganrt ./cmd/ganrt
//	go run ./benchmarks/train -ganrt /tmp/ganrt -rounds 3 -results /tmp/train.jsonl
//	go run ./benchmarks/train -report /tmp/train.jsonl
//
// A round runs each side once per case, in alternating order (round 0:
// ganrt then PyTorch, round 1: PyTorch then ganrt, ...), so that load from
// other jobs falls on both alike. -case picks cases (cg64, cg128, sg64) and
// -results appends one JSON line per run, so that a long comparison can be
// made in slices (each under a few minutes, for a shared machine) and
// reported at once with -report.
//
// ganrt's time of a run is the median of the "sec" fields of its loss log
// after the first 3 iterations (which include compiling the step graphs),
// or for StarGAN of 5-iteration rounds after the first round; it includes
// waiting for data, which loads ahead on other goroutines. The PyTorch loops
// train on random tensors of the same shapes with the same networks and
// losses, and report the median of their timed iterations (rounds) after
// warm-up. torch_loops.py refuses to run on the reference BLAS. PyTorch runs
// with OMP_WAIT_POLICY=PASSIVE by default (-torch-env): on a shared 2-core
// machine its OpenMP threads otherwise spin in barriers against the other
// jobs' threads (measured: 5.2 s/iter instead of 0.59 s for CycleGAN 64x64
// with one other busy thread), which would flatter ganrt.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// record is one timed run of one side of one case (a line of -results).
type record struct {
	Case    string    `json:"case"`
	Side    string    `json:"side"` // "ganrt" or "torch"
	Round   int       `json:"round"`
	Sec     float64   `json:"sec"` // median per iteration (round)
	Per     []float64 `json:"per"` // the timed iterations (rounds)
	PeakMB  float64   `json:"peak_mb"`
	Load    [2]string `json:"load"` // 1-minute load average before and after
	Time    string    `json:"time"`
	CPU     string    `json:"cpu"`
	Cores   int       `json:"cores"`
	Threads int       `json:"threads"`
	BLAS    string    `json:"blas,omitempty"`
	Env     string    `json:"env,omitempty"` // extra environment of the PyTorch process
	Torch   string    `json:"torch,omitempty"`
}

type benchCase struct {
	key, name     string
	ganrt, python []string
	size          int
	synth         string
	rounds        bool
}

func cases(gRepeat, dRepeat int) []benchCase {
	return []benchCase{
		{
			key:  "cg64",
			name: "CycleGAN 64x64, ngf=ndf=32, resnet_6blocks, basic D (3 layers), batch 1 (s/iter)",
			ganrt: []string{"train", "cyclegan", "--netg", "resnet_6blocks", "--ngf", "32", "--ndf", "32",
				"--preprocess", "crop", "--crop-size", "64"},
			python: []string{"cyclegan", "32", "64", "6"}, size: 64, synth: "daynight",
		},
		{
			key:  "cg128",
			name: "CycleGAN 128x128, ngf=ndf=64, resnet_9blocks, basic D (3 layers), batch 1 (s/iter)",
			ganrt: []string{"train", "cyclegan", "--netg", "resnet_9blocks", "--ngf", "64", "--ndf", "64",
				"--preprocess", "crop", "--crop-size", "128"},
			python: []string{"cyclegan", "64", "128", "9"}, size: 128, synth: "daynight",
		},
		{
			key: "sg64",
			name: fmt.Sprintf("StarGAN 64x64, conv_dim 32, batch 4, 5 attributes, --g-repeat-num %d --d-repeat-num %d (s/round of 5 D + 1 G steps)",
				gRepeat, dRepeat),
			ganrt: []string{"train", "stargan", "--attrs", "Day,Night,Fog,Rain,Snow", "--celeba-split", "-1",
				"--image-size", "64", "--crop-size", "64", "--g-conv-dim", "32", "--d-conv-dim", "32", "--batch", "4",
				"--g-repeat-num", strconv.Itoa(gRepeat), "--d-repeat-num", strconv.Itoa(dRepeat)},
			python: []string{"stargan", "32", "64", "4", "5", strconv.Itoa(gRepeat), strconv.Itoa(dRepeat)},
			size:   64, synth: "weather", rounds: true,
		},
	}
}

func main() {
	ganrt := flag.String("ganrt", "ganrt", "ganrt binary")
	python := flag.String("python", "/usr/bin/python3", "Python with torch")
	iters := flag.Int("iters", 8, "timed iterations (CycleGAN) or rounds (StarGAN) per run")
	rounds := flag.Int("rounds", 3, "interleaved rounds (each runs both sides once)")
	firstRound := flag.Int("first-round", 0, "number of the first round (for slices appended to one -results file; sets the order)")
	threads := flag.Int("threads", 2, "threads for both frameworks")
	only := flag.String("case", "cg64,cg128,sg64", "comma-separated cases: cg64, cg128, sg64")
	gRepeat := flag.Int("g-repeat-num", 6, "StarGAN generator residual blocks (both sides)")
	dRepeat := flag.Int("d-repeat-num", 6, "StarGAN discriminator strided convs (both sides)")
	torchEnv := flag.String("torch-env", "OMP_WAIT_POLICY=PASSIVE", "extra environment for the PyTorch process (space-separated KEY=VALUE)")
	results := flag.String("results", "", "append one JSON line per run to this file")
	report := flag.String("report", "", "only print the table of these -results files (comma-separated)")
	flag.Parse()
	all := cases(*gRepeat, *dRepeat)
	if *report != "" {
		var recs []record
		for _, p := range strings.Split(*report, ",") {
			rs, err := readRecords(p)
			if err != nil {
				log.Fatal(err)
			}
			recs = append(recs, rs...)
		}
		printTable(os.Stdout, all, recs)
		return
	}
	var sel []benchCase
	for _, k := range strings.Split(*only, ",") {
		i := slices.IndexFunc(all, func(c benchCase) bool { return c.key == k })
		if i < 0 {
			log.Fatalf("-case: unknown case %q (want cg64, cg128 or sg64)", k)
		}
		sel = append(sel, all[i])
	}
	tmp, err := os.MkdirTemp("", "ganrt-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	var out *os.File
	if *results != "" {
		if out, err = os.OpenFile(*results, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
			log.Fatal(err)
		}
		defer out.Close()
	}
	cpu := cpuModel()
	var recs []record
	for i, c := range sel {
		data := filepath.Join(tmp, fmt.Sprintf("data%d", i))
		run(*ganrt, "data", "synth", "--out", data, "--kind", c.synth, "--size", strconv.Itoa(c.size), "--n", "64", "--test-n", "1")
		for r := *firstRound; r < *firstRound+*rounds; r++ {
			sides := []string{"ganrt", "torch"}
			if r%2 == 1 {
				sides[0], sides[1] = sides[1], sides[0]
			}
			for _, side := range sides {
				rec := record{Case: c.key, Side: side, Round: r, CPU: cpu, Cores: runtime.NumCPU(), Threads: *threads,
					Time: time.Now().UTC().Format(time.RFC3339)}
				rec.Load[0] = load1()
				if side == "ganrt" {
					runDir := filepath.Join(tmp, fmt.Sprintf("run%d-%d", i, r))
					rec.Per, rec.PeakMB = runGanrt(*ganrt, ganrtArgs(c, data, runDir, *iters, *threads), filepath.Join(runDir, "loss_log.jsonl"), c.rounds)
					rec.BLAS = "ONNX Runtime CPU (MLAS)"
				} else {
					p := runPython(*python, filepath.Join("benchmarks", "train", "torch_loops.py"), append(c.python, strconv.Itoa(*iters)), *threads, *torchEnv)
					rec.Per, rec.PeakMB, rec.BLAS, rec.Torch, rec.Env = p.Per, p.PeakMB, p.BLAS, p.Torch, *torchEnv
				}
				rec.Load[1] = load1()
				rec.Sec = median(rec.Per)
				recs = append(recs, rec)
				if out != nil {
					b, _ := json.Marshal(rec)
					if _, err := fmt.Fprintf(out, "%s\n", b); err != nil {
						log.Fatal(err)
					}
				}
				log.Printf("%s round %d %s: %.3f s (load %s -> %s)", c.key, r, side, rec.Sec, rec.Load[0], rec.Load[1])
			}
		}
	}
	printTable(os.Stdout, all, recs)
}

func ganrtArgs(c benchCase, data, out string, iters, threads int) []string {
	args := append([]string(nil), c.ganrt...)
	if c.rounds {
		n := 5 * (iters + 1)
		args = append(args, "--celeba-images", filepath.Join(data, "images"), "--celeba-attrs", filepath.Join(data, "list_attr.txt"),
			"--iters", strconv.Itoa(n), "--iters-decay", "0")
	} else {
		args = append(args, "--data", data, "--max-iters", strconv.Itoa(iters+3))
	}
	return append(args, "--out", out, "--threads", strconv.Itoa(threads), "--save-every", "0", "--sample-every", "0")
}

// printTable writes one row per case present in recs: medians of the runs'
// times with their range, the ratio of the medians and the range of the
// per-round ratios, peak memory (the largest of the runs), and the machine.
func printTable(w *os.File, all []benchCase, recs []record) {
	fmt.Fprintf(w, "| configuration | runs | ganrt median (range) | PyTorch median (range) | ganrt/PyTorch (per-round range) | ganrt peak MB | PyTorch peak MB |\n|---|---|---|---|---|---|---|\n")
	var loads []float64
	cpus, blas, torchV, threads, envs := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[int]bool{}, map[string]bool{}
	first, last := "", ""
	for _, c := range all {
		by := map[string]map[int]record{"ganrt": {}, "torch": {}}
		for _, r := range recs {
			if r.Case != c.key {
				continue
			}
			by[r.Side][r.Round] = r
			for _, l := range r.Load {
				if f, err := strconv.ParseFloat(l, 64); err == nil {
					loads = append(loads, f)
				}
			}
			cpus[fmt.Sprintf("%s, %d logical CPUs", r.CPU, r.Cores)] = true
			threads[r.Threads] = true
			if r.Side == "torch" {
				blas[r.BLAS], torchV[r.Torch], envs[r.Env] = true, true, true
			}
			if first == "" || r.Time < first {
				first = r.Time
			}
			if r.Time > last {
				last = r.Time
			}
		}
		if len(by["ganrt"]) == 0 && len(by["torch"]) == 0 {
			continue
		}
		var gs, ts, ratios, gm, tm []float64
		for _, r := range by["ganrt"] {
			gs, gm = append(gs, r.Sec), append(gm, r.PeakMB)
			if t, ok := by["torch"][r.Round]; ok {
				ratios = append(ratios, r.Sec/t.Sec)
			}
		}
		for _, r := range by["torch"] {
			ts, tm = append(ts, r.Sec), append(tm, r.PeakMB)
		}
		fmt.Fprintf(w, "| %s | %d + %d | %s | %s | **%.2f** (%s) | %.0f | %.0f |\n", c.name, len(gs), len(ts),
			medRange(gs, 3), medRange(ts, 3), median(gs)/median(ts), rng(ratios, 2), slices.Max(append(gm, 0)), slices.Max(append(tm, 0)))
	}
	fmt.Fprintf(w, "\nMachine: %s. Threads: %s (ganrt `--threads`, torch.set_num_threads and the BLAS pool). ganrt on ONNX Runtime's CPU provider (MLAS); PyTorch %s on %s (oneDNN convolutions), environment %q. Load average (1 min) at the runs' starts and ends: %s. Runs from %s to %s.\n",
		keys(cpus), keysInt(threads), keys(torchV), keys(blas), keys(envs), rng(loads, 1), first, last)
}

func medRange(v []float64, prec int) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.*f (%s)", prec, median(v), rng(v, prec))
}

func rng(v []float64, prec int) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.*f-%.*f", prec, slices.Min(v), prec, slices.Max(v))
}

func keys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, "; ")
}

func keysInt(m map[int]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, strconv.Itoa(k))
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func readRecords(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// load1 returns the 1-minute load average.
func load1() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %v: %v", name, args, err)
	}
}

func peakMB(cmd *exec.Cmd) float64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}

// runGanrt runs a training command and reads the per-iteration times of
// its loss log: those after 3 warm-up iterations, or for StarGAN the sums
// of 5-iteration rounds after the first round.
func runGanrt(bin string, args []string, logPath string, rounds bool) (per []float64, peak float64) {
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("ganrt %v: %v\n%s", args, err, stderr.String())
	}
	f, err := os.Open(logPath)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var secs []float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct{ Sec float64 }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			log.Fatalf("%s: %v", logPath, err)
		}
		secs = append(secs, rec.Sec)
	}
	if rounds {
		for i := 5; i+5 <= len(secs); i += 5 {
			s := 0.0
			for _, v := range secs[i : i+5] {
				s += v
			}
			per = append(per, s)
		}
	} else if len(secs) > 3 {
		per = secs[3:]
	}
	if len(per) == 0 {
		log.Fatalf("%s: %d iterations logged, too few to time", logPath, len(secs))
	}
	return per, peakMB(cmd)
}

type pyResult struct {
	Per    []float64 `json:"per"`
	PeakMB float64   `json:"peak_mb"`
	BLAS   string    `json:"blas"`
	Torch  string    `json:"torch"`
}

func runPython(python, script string, args []string, threads int, env string) pyResult {
	cmd := exec.Command(python, append([]string{script}, args...)...)
	cmd.Env = append(append(os.Environ(), "THREADS="+strconv.Itoa(threads)), strings.Fields(env)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			log.Fatalf("%s %v: %v (see its message above)", script, args, err)
		}
		log.Fatalf("%s %v: %v", script, args, err)
	}
	var r pyResult
	if err := json.Unmarshal(out, &r); err != nil {
		log.Fatalf("%s: %v (%s)", script, err, out)
	}
	if len(r.Per) == 0 {
		log.Fatalf("%s: no timed iterations in %s", script, out)
	}
	return r
}
