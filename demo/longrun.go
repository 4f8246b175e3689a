package demo

import (
	"embed"
	"io/fs"
)

// longrun holds the shipped longer runs' generators (in the references'
// state-dict keys): CycleGAN's day-to-night G_A and StarGAN's weather G.
// Beside them in the source tree, not in the binary: each run's
// loss_log.jsonl.gz, loss.png and options.json, and README.md with the
// commands that made them.
//
//go:embed longrun/day2night_G_A.safetensors longrun/weather_G.safetensors
var longrun embed.FS

// The generators' paths in longrun.
const (
	longerRunFile        = "longrun/day2night_G_A.safetensors"
	longerStarGANRunFile = "longrun/weather_G.safetensors"
)

// longerRunG returns the bytes of the shipped generator at path in longrun.
func longerRunG(path string) ([]byte, error) { return fs.ReadFile(longrun, path) }

// LongerRun describes the shipped CycleGAN longer run: what it was trained
// on and for how long. Its data are those of
// `ganrt data synth --out DATA --size 64 --n 300 --test-n 24 --seed 1 --legible`,
// whose test scenes are the demo's (the test scenes of a seed do not depend
// on N).
var LongerRun = struct {
	Size, N, NGF, Iters int
	Seed                uint64
}{Size: 64, N: 300, NGF: 16, Iters: 10200, Seed: 1}

// LongerStarGANRun describes the shipped StarGAN longer run. It was trained
// on the StarGAN demo's own data (`ganrt data synth --kind weather-single
// --size 32 --n 100 --test-n 4 --seed 2 --legible`) with the demo's
// networks, batch and n_critic at learning rate LR without decay; its
// checkpoint after Iters iterations was chosen on validation scenes of
// another seed (demo/longrun/README.md).
var LongerStarGANRun = struct {
	Size, N, ConvDim, Iters int
	LR                      float64
	Seed                    uint64
}{Size: 32, N: 100, ConvDim: 16, Iters: 2000, LR: 5e-4, Seed: 2}
