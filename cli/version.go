package cli

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/internal/version"
)

var versionVerboseFlag = &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Category: catOutput,
	Usage: "also print what ganrt doctor does: EP devices, the CUDA plugin and its libraries, a trial run"}

var versionCommand = &cli.Command{
	Name:  "version",
	Usage: "print ganrt's version and commit, Go's version, and the ONNX Runtime library it loads",
	Description: `Prints ganrt's release version and the commit it was built from (as the Go
command recorded it: make build and go build in a checkout stamp it; go run
does not), the Go version and platform, and the ONNX Runtime library this
binary finds (path, the rule that chose it, its version) with the execution
providers compiled into it. A library that does not load is reported, not an
error. --verbose adds the checks of ganrt doctor.

Examples:
   ganrt version
   ganrt version --json
   ganrt version --verbose --ort-library .ort-gpu/libonnxruntime.so.1`,
	Flags:  []cli.Flag{jsonFlag, versionVerboseFlag, rtLibraryFlag, rtCUDAPluginFlag},
	Action: versionAction,
}

// versionReport is version's JSON output.
type versionReport struct {
	Ganrt       version.Build `json:"ganrt"`
	ONNXRuntime ort.Report    `json:"onnxruntime"`
}

func versionAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("version takes no arguments, got %q", c.Args().Slice())
	}
	libs := ort.Libraries{Core: c.String(rtLibraryFlag.Name), CUDAPlugin: c.String(rtCUDAPluginFlag.Name)}
	rep := versionReport{Ganrt: version.Read()}
	if c.Bool(versionVerboseFlag.Name) {
		rep.ONNXRuntime = ort.Diagnose(libs, ort.Device{Kind: ort.KindAuto}, true)
	} else {
		rep.ONNXRuntime = ort.Describe(libs)
	}
	w := c.App.Writer
	if c.Bool(jsonFlag.Name) {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(w, "ganrt        %s\n", rep.Ganrt)
	fmt.Fprintf(w, "go           %s %s\n", rep.Ganrt.Go, rep.Ganrt.Platform)
	rep.ONNXRuntime.Write(w)
	return nil
}
