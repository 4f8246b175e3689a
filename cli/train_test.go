package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/train"
)

// TestTrainFlagsNamedInConfig checks that every train flag but --out,
// --resume, --overwrite and the output flags is named by a `flag` tag of the trainer's config
// (which --resume uses to compare and change options), and every tag by a
// flag.
func TestTrainFlagsNamedInConfig(t *testing.T) {
	for _, tc := range []struct {
		cmd *cli.Command
		cfg any
	}{{trainCycleGANCommand, train.CycleGANConfig{}}, {trainStarGANCommand, train.StarGANConfig{}}} {
		skip := map[string]bool{"out": true, resumeFlag.Name: true, overwriteFlag.Name: true}
		for _, f := range trainOutputFlags {
			skip[f.Names()[0]] = true // how the command reports, not run options
		}
		var flags, tags []string
		for _, f := range tc.cmd.Flags {
			if n := f.Names()[0]; !skip[n] {
				flags = append(flags, n)
			}
		}
		ty := reflect.TypeOf(tc.cfg)
		for i := range ty.NumField() {
			if tag, ok := ty.Field(i).Tag.Lookup("flag"); ok {
				name, _, _ := strings.Cut(tag, ",")
				tags = append(tags, name)
			}
		}
		slices.Sort(flags)
		slices.Sort(tags)
		if !slices.Equal(flags, tags) {
			t.Errorf("train %s: flags %v; config tags %v", tc.cmd.Name, flags, tags)
		}
	}
}

// TestTrainResume runs `ganrt train cyclegan` as a user would: a second run
// into the same folder is refused, --resume needs no flag but the ones that
// change, and a changed model flag is refused naming both values.
func TestTrainResume(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	if _, _, err := runCLI(t, "data", "synth", "--out", data, "--n", "2", "--test-n", "1", "--size", "16"); err != nil {
		t.Fatal(err)
	}
	tiny := []string{"--netg", "resnet_2blocks", "--netd", "n_layers", "--n-layers-d", "1", "--ngf", "4", "--ndf", "4",
		"--load-size", "16", "--crop-size", "16", "--threads", "1", "--sample-every", "0", "--save-every", "0"}
	first := append([]string{"train", "cyclegan", "--data", data, "--out", out, "--max-iters", "1"}, tiny...)
	if _, stderr, err := runCLI(t, first...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{first, "already holds a run: continue it with --resume"},
		{[]string{"train", "cyclegan", "--out", out, "--resume", "--ngf", "8"}, "--ngf 8 differs from the run's 4"},
		{[]string{"train", "cyclegan", "--out", filepath.Join(dir, "new")}, "missing --data"},
		{[]string{"train", "cyclegan", "--out", filepath.Join(dir, "new"), "--resume"}, "holds no ganrt run"},
	} {
		if _, _, err := runCLI(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
	if _, stderr, err := runCLI(t, "train", "cyclegan", "--out", out, "--resume", "--max-iters", "2", "--ngf", "4"); err != nil {
		t.Fatalf("--resume: %v\n%s", err, stderr)
	}
	log, err := os.ReadFile(filepath.Join(out, "loss_log.jsonl"))
	if err != nil || strings.Count(string(log), "\n") != 2 {
		t.Fatalf("loss_log.jsonl after the resume (%v):\n%s\nwant 2 iterations", err, log)
	}
	var opts train.CycleGANConfig
	js, _ := os.ReadFile(filepath.Join(out, "options.json"))
	if err := json.Unmarshal(js, &opts); err != nil {
		t.Fatal(err)
	}
	if want := []train.OptionChange{{Iter: 1, Flag: "--max-iters", From: "1", To: "2"}}; !slices.Equal(opts.History, want) || opts.NGF != 4 {
		t.Errorf("options.json: history %+v, ngf %d; want %+v and 4", opts.History, opts.NGF, want)
	}
}

// TestTrainFloatFlagsRefused checks that learning rates, loss weights and
// Adam's betas refuse NaN, Inf and out-of-range values naming the flag,
// before any data is read or folder made.
func TestTrainFloatFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	for _, tc := range []struct {
		cmd, flag, value, want string
	}{
		{"cyclegan", "lr", "NaN", "--lr NaN: want a finite number >= 0"},
		{"cyclegan", "lr", "Inf", "--lr +Inf: want a finite number >= 0"},
		{"cyclegan", "lr", "-0.0002", "--lr -0.0002: want a finite number >= 0"},
		{"cyclegan", "lambda-a", "-10", "--lambda-a -10"},
		{"cyclegan", "lambda-b", "NaN", "--lambda-b NaN"},
		{"cyclegan", "lambda-identity", "-Inf", "--lambda-identity -Inf"},
		{"cyclegan", "init-gain", "NaN", "--init-gain NaN"},
		{"cyclegan", "beta1", "1", "--beta1 1: want a number in [0, 1)"},
		{"cyclegan", "beta1", "NaN", "--beta1 NaN: want a number in [0, 1)"},
		{"stargan", "g-lr", "NaN", "--g-lr NaN"},
		{"stargan", "d-lr", "-1", "--d-lr -1"},
		{"stargan", "lambda-cls", "Inf", "--lambda-cls +Inf"},
		{"stargan", "lambda-rec", "-1", "--lambda-rec -1"},
		{"stargan", "lambda-gp", "NaN", "--lambda-gp NaN"},
		{"stargan", "beta1", "-0.5", "--beta1 -0.5: want a number in [0, 1)"},
		{"stargan", "beta2", "1.5", "--beta2 1.5: want a number in [0, 1)"},
	} {
		_, _, err := runCLI(t, "train", tc.cmd, "--data", filepath.Join(dir, "absent"), "--out", out, "--"+tc.flag, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("train %s --%s %s: err = %v; want %q", tc.cmd, tc.flag, tc.value, err, tc.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run left %s (%v)", out, err)
	}
}
