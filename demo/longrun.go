package demo

import (
	"embed"
	"io/fs"
)

// longrun holds the shipped longer run's day-to-night generator (G_A, in
// the reference's state-dict keys). Beside it in the source tree, not in
// the binary: its loss_log.jsonl.gz, loss.png and options.json, and
// README.md with the commands that made it.
//
//go:embed longrun/day2night_G_A.safetensors
var longrun embed.FS

// longerRunFile is the generator's path in longrun.
const longerRunFile = "longrun/day2night_G_A.safetensors"

// longerRunG returns the shipped generator's bytes.
func longerRunG() ([]byte, error) { return fs.ReadFile(longrun, longerRunFile) }

// LongerRun describes the shipped longer run: what it was trained on and
// for how long. Its data are those of
// `ganrt data synth --out DATA --size 64 --n 300 --test-n 24 --seed 1 --legible`,
// whose test scenes are the demo's (the test scenes of a seed do not depend
// on N).
var LongerRun = struct {
	Size, N, NGF, Iters int
	Seed                uint64
}{Size: 64, N: 300, NGF: 16, Iters: 10200, Seed: 1}
