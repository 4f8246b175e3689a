package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/models"
	"github.com/ganrt/ganrt/nn"
)

// realisticSpec is the CycleGAN reference's default generator at full
// width: resnet_9blocks, ngf 64, instance norm (11.4 M parameters).
var realisticSpec = models.Spec{Kind: models.CycleGANGenerator, NetG: "resnet_9blocks",
	InputNC: 3, OutputNC: 3, NGF: 64, Norm: "instance"}

// writeModel exports realisticSpec with random N(0, 0.02) weights (the
// reference's init; the timing does not depend on the values) as a
// dynamic-size ONNX model into dir, and returns its path.
func writeModel(dir string) (string, error) {
	reg, err := realisticSpec.Registry()
	if err != nil {
		return "", err
	}
	weights := nn.Init(reg, nn.InitNormal, 0.02, rand.New(rand.NewPCG(1, 2)))
	data, err := export.ONNX(&export.Model{Path: "random resnet_9blocks", Spec: realisticSpec, Weights: weights}, export.ONNXOptions{})
	if err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	p := filepath.Join(dir, "resnet9_ngf64_random.onnx")
	return p, os.WriteFile(p, data, 0o644)
}
