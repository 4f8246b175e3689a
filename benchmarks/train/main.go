// Command train times ganrt's training iterations against the PyTorch
// reference loops (torch_loops.py, Debian's python3-torch) in one run, on
// the same machine, and prints a Markdown table for benchmarks/README.md:
// seconds per iteration (CycleGAN) or per round of 5 critic steps and one
// generator step (StarGAN), and the peak resident memory of each process.
//
//	go build -o /tmp/ganrt ./cmd/ganrt
//	go run ./benchmarks/train -ganrt /tmp/ganrt [-iters 20]
//
// ganrt's time per iteration is the median of the "sec" fields of its loss
// log after the first 3 iterations (which include compiling the step
// graphs); it includes waiting for data, which loads ahead on other
// goroutines. The PyTorch loops train on random tensors of the same shapes.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
)

type result struct {
	sec    float64 // per iteration or round
	peakMB float64
}

func main() {
	ganrt := flag.String("ganrt", "ganrt", "ganrt binary")
	python := flag.String("python", "/usr/bin/python3", "Python with torch")
	iters := flag.Int("iters", 20, "measured iterations (CycleGAN) or rounds (StarGAN)")
	threads := flag.Int("threads", 2, "threads for both frameworks")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "ganrt-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	here := filepath.Join("benchmarks", "train")

	cases := []struct {
		name          string
		ganrt, python []string
		size          int
		synth         string
		rounds        bool
	}{
		{
			name: "CycleGAN 64x64, ngf=ndf=32, resnet_6blocks, batch 1",
			ganrt: []string{"train", "cyclegan", "--netg", "resnet_6blocks", "--ngf", "32", "--ndf", "32",
				"--preprocess", "crop", "--crop-size", "64"},
			python: []string{"cyclegan", "32", "64", "6"}, size: 64, synth: "daynight",
		},
		{
			name: "CycleGAN 128x128, ngf=ndf=64, resnet_9blocks, batch 1",
			ganrt: []string{"train", "cyclegan", "--netg", "resnet_9blocks", "--ngf", "64", "--ndf", "64",
				"--preprocess", "crop", "--crop-size", "128"},
			python: []string{"cyclegan", "64", "128", "9"}, size: 128, synth: "daynight",
		},
		{
			name: "StarGAN 64x64, conv_dim 32, batch 4, 5 attributes (round = 5 D + 1 G steps)",
			ganrt: []string{"train", "stargan", "--attrs", "Day,Night,Fog,Rain,Snow", "--celeba-split", "-1",
				"--image-size", "64", "--crop-size", "64", "--g-conv-dim", "32", "--d-conv-dim", "32", "--batch", "4"},
			python: []string{"stargan", "32", "64", "4", "5"}, size: 64, synth: "weather", rounds: true,
		},
	}
	fmt.Printf("| configuration | ganrt s/iter | PyTorch s/iter | ratio ganrt/PyTorch | ganrt peak MB | PyTorch peak MB |\n|---|---|---|---|---|---|\n")
	for i, c := range cases {
		data := filepath.Join(tmp, fmt.Sprintf("data%d", i))
		run(*ganrt, "data", "synth", "--out", data, "--kind", c.synth, "--size", strconv.Itoa(c.size), "--n", "64", "--test-n", "1")
		n := *iters + 3
		args := append([]string(nil), c.ganrt...)
		if c.rounds {
			n = 5 * (*iters + 1)
			args = append(args, "--celeba-images", filepath.Join(data, "images"), "--celeba-attrs", filepath.Join(data, "list_attr.txt"),
				"--iters", strconv.Itoa(n), "--iters-decay", "0")
		} else {
			args = append(args, "--data", data, "--max-iters", strconv.Itoa(n))
		}
		out := filepath.Join(tmp, fmt.Sprintf("run%d", i))
		args = append(args, "--out", out, "--threads", strconv.Itoa(*threads), "--save-every", "0", "--sample-every", "0")
		g := runGanrt(*ganrt, args, filepath.Join(out, "loss_log.jsonl"), c.rounds)
		p := runPython(*python, filepath.Join(here, "torch_loops.py"), append(c.python, strconv.Itoa(*iters)), *threads)
		fmt.Printf("| %s | %.3f | %.3f | %.2f | %.0f | %.0f |\n", c.name, g.sec, p.sec, g.sec/p.sec, g.peakMB, p.peakMB)
	}
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
// its loss log: the median after 3 warm-up iterations, or for StarGAN the
// median of 5-iteration rounds after the first round.
func runGanrt(bin string, args []string, logPath string, rounds bool) result {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = nil
	if err := cmd.Run(); err != nil {
		log.Fatalf("ganrt %v: %v", args, err)
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
			log.Fatal(err)
		}
		secs = append(secs, rec.Sec)
	}
	var per []float64
	if rounds {
		for i := 5; i+5 <= len(secs); i += 5 {
			s := 0.0
			for _, v := range secs[i : i+5] {
				s += v
			}
			per = append(per, s)
		}
	} else {
		per = secs[3:]
	}
	sort.Float64s(per)
	return result{sec: per[len(per)/2], peakMB: peakMB(cmd)}
}

func runPython(python, script string, args []string, threads int) result {
	cmd := exec.Command(python, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "THREADS="+strconv.Itoa(threads))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("%s %v: %v", script, args, err)
	}
	var r struct {
		Sec    float64 `json:"sec"`
		PeakMB float64 `json:"peak_mb"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		log.Fatalf("%s: %v (%s)", script, err, out)
	}
	return result{sec: r.Sec, peakMB: r.PeakMB}
}
