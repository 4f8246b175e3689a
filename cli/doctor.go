package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/internal/ort"
	"github.com/ganrt/ganrt/internal/version"
)

// rtCUDAPluginFlag names the CUDA plugin library (translate, bench, serve,
// version, doctor).
var rtCUDAPluginFlag = &cli.StringFlag{Name: "cuda-plugin", Category: catRuntime,
	Usage: "CUDA plugin execution provider (libonnxruntime_providers_cuda.so) for a core without CUDA built in (default: $" + ort.EnvCUDAPlugin + ", else the one beside the core library, as make ort-gpu installs it)"}

var doctorDeviceFlag = &cli.StringFlag{Name: "device", Category: catRuntime, Value: "auto",
	Usage: "device to try: cpu, cuda[:N], tensorrt[:N] or auto"}

var doctorCommand = &cli.Command{
	Name:  "doctor",
	Usage: "check ONNX Runtime, the CUDA plugin and its libraries, and run a test on a device",
	Description: `Loads ONNX Runtime as translate would (--ort-library, then
$ONNXRUNTIME_SHARED_LIBRARY_PATH, a library installed with the binary, .ort-gpu/
and .ort/ in or above the working or the binary's folder, the system loader;
the GPU install first for a GPU device) and prints its version and path, the
providers built into it and its execution-provider devices. For CUDA it
prints the route (a core with CUDA built in, or the CUDA plugin that
make ort-gpu installs, registered at run time), the plugin's path, and each
library the plugin needs (NVIDIA driver, CUDA 13 runtime, cuDNN 9) with
whether it loads. Then it runs a tiny model on --device with its input and
output in device memory. Exit status 1 when ONNX Runtime does not load or
the trial fails (auto falling back to the CPU is not a failure).

Examples:
   ganrt doctor
   ganrt doctor --device cuda:0
   ganrt doctor --device cuda --ort-library .ort-gpu/libonnxruntime.so.1 --json`,
	Flags:  []cli.Flag{doctorDeviceFlag, rtLibraryFlag, rtCUDAPluginFlag, jsonFlag},
	Action: doctorAction,
}

func doctorAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("doctor takes no arguments, got %q", c.Args().Slice())
	}
	d, err := ort.ParseDevice(c.String(doctorDeviceFlag.Name))
	if err != nil {
		return err
	}
	libs := ort.Libraries{Core: c.String(rtLibraryFlag.Name), CUDAPlugin: c.String(rtCUDAPluginFlag.Name), GPU: d.Kind != ort.KindCPU}
	rep := versionReport{Ganrt: version.Read(), ONNXRuntime: ort.Diagnose(libs, d, true)}
	w := c.App.Writer
	if c.Bool(jsonFlag.Name) {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "ganrt        %s\n", rep.Ganrt)
		rep.ONNXRuntime.Write(w)
	}
	switch o := rep.ONNXRuntime; {
	case o.LoadError != "":
		return errors.New("doctor: ONNX Runtime does not load")
	case o.Trial != nil && o.Trial.Error != "":
		return fmt.Errorf("doctor: %v does not work", d)
	}
	return nil
}
