package cli

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestJSONResults checks the --json results that scripts read from export,
// convert and info: fixed dimensions are numbers, dynamic ones their
// names, and info gives an array for one file too.
func TestJSONResults(t *testing.T) {
	dir := t.TempDir()
	ckpt := "../testdata/golden/cyclegan_resnet6_ngf8.pth"
	onnx := filepath.Join(dir, "g.onnx")
	type io struct {
		Name  string `json:"name"`
		Shape []any  `json:"shape"`
	}
	type info struct {
		Path    string `json:"path"`
		Format  string `json:"format"`
		Inputs  []io   `json:"inputs"`
		Outputs []io   `json:"outputs"`
		Spec    struct {
			NetG string `json:"netG"`
		} `json:"spec"`
	}
	stdout, stderr, err := runCLI(t, "export", ckpt, "-o", onnx, "--batch", "2", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var exp struct {
		Source, Network, ONNX string
		Model                 info
	}
	if err := json.Unmarshal([]byte(stdout), &exp); err != nil {
		t.Fatalf("export --json: %v\n%s", err, stdout)
	}
	if exp.Source != ckpt || exp.ONNX != onnx || exp.Model.Spec.NetG != "resnet_6blocks" || len(exp.Model.Inputs) != 1 {
		t.Fatalf("export --json: %+v", exp)
	}
	shape := exp.Model.Inputs[0].Shape
	if len(shape) != 4 || shape[0] != 2.0 || shape[1] != 3.0 || shape[2] != "height" || shape[3] != "width" {
		t.Errorf("input shape %#v; want [2, 3, \"height\", \"width\"] (fixed dims as numbers)", shape)
	}

	st := filepath.Join(dir, "g.safetensors")
	stdout, stderr, err = runCLI(t, "convert", ckpt, st, "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var conv struct {
		Output string
		Model  info
	}
	if err := json.Unmarshal([]byte(stdout), &conv); err != nil || conv.Output != st || conv.Model.Format != "safetensors" {
		t.Errorf("convert --json: %+v (%v)\n%s", conv, err, stdout)
	}

	for _, files := range [][]string{{onnx}, {onnx, st}} {
		stdout, stderr, err = runCLI(t, append([]string{"info", "--json"}, files...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		var infos []info
		if err := json.Unmarshal([]byte(stdout), &infos); err != nil || len(infos) != len(files) {
			t.Errorf("info --json of %d files: %d entries (%v); want an array of %d", len(files), len(infos), err, len(files))
		}
	}
}
