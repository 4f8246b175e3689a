package ort

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// gpuInstall returns the core and CUDA plugin that `make ort-gpu`
// installed, in or above the working directory, skipping the test when
// there are none.
func gpuInstall(t *testing.T) (core, plugin string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		core = filepath.Join(dir, LocalGPULibrary)
		plugin = filepath.Join(filepath.Dir(core), CUDAPluginFile)
		if fileExists(core) && fileExists(plugin) {
			return core, plugin
		}
		if filepath.Dir(dir) == dir {
			t.Skipf("no %s with %s in or above %s (run `make ort-gpu`)", LocalGPULibrary, CUDAPluginFile, wd)
		}
	}
}

// TestCUDAPlugin loads ORT 1.29 from `make ort-gpu` in a child process (a
// process holds one ORT library) and checks the plugin route: the core has
// no CUDA built in, registering the plugin fails with an error that names
// the first CUDA library that does not load (libcublasLt.so.13 on a machine
// without CUDA), cuda sessions fail with it and auto falls back to the CPU
// saying it. Where the CUDA libraries all load, the GPU tests cover the
// route instead.
func TestCUDAPlugin(t *testing.T) {
	core, plugin := gpuInstall(t)
	missing := MissingLibraries(plugin)
	if len(missing) == 0 {
		t.Skipf("every library %s needs loads here; the GPU tests check the plugin", plugin)
	}
	if os.Getenv("GANRT_TEST_PLUGIN_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCUDAPlugin$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "GANRT_TEST_PLUGIN_CHILD=1", EnvLibraryPath+"="+core, EnvCUDAPlugin+"=")
		out, err := cmd.CombinedOutput()
		t.Logf("child process:\n%s", out)
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		if !strings.Contains(string(out), "--- PASS: TestCUDAPlugin") {
			t.Fatal("the child did not run the checks")
		}
		return
	}
	mustInit(t)
	if v := Version(); v != "1.29.0" {
		t.Fatalf("child loaded ONNX Runtime %s from %s; want 1.29.0 from %s", v, LibraryPath(), core)
	}
	have, err := AvailableProviders()
	if err != nil || slices.Contains(have, ProviderCUDA) {
		t.Fatalf("AvailableProviders() = %v, %v; want no built-in CUDA", have, err)
	}
	if p, source := CUDAPluginPath(); p != plugin || source != "beside the core library" {
		t.Errorf("CUDAPluginPath() = %s (%s); want %s beside the core", p, source, plugin)
	}
	err = CheckProvider(KindCUDA)
	t.Logf("CheckProvider(cuda): %v", err)
	if !errors.Is(err, ErrProviderUnavailable) || !strings.Contains(err.Error(), missing[0]) || !strings.Contains(err.Error(), plugin) {
		t.Fatalf("CheckProvider(cuda) = %v; want ErrProviderUnavailable naming %s and the plugin", err, missing[0])
	}
	if RegisterCUDAPlugin() != err {
		t.Error("RegisterCUDAPlugin does not return the result of the one registration")
	}
	if _, err := NewSession(convModel(t, false), SessionOptions{Device: Device{Kind: KindCUDA, ID: 1}}); err == nil || !strings.Contains(err.Error(), missing[0]) {
		t.Errorf("NewSession(cuda:1) = %v; want the missing library named", err)
	}
	s := newSession(t, convModel(t, false), SessionOptions{Device: Device{Kind: KindAuto}})
	if s.Device() != (Device{}) || !strings.Contains(s.FallbackReason(), missing[0]) {
		t.Errorf("auto: device %v, fallback %q; want cpu and the missing library named", s.Device(), s.FallbackReason())
	}
	devs, err := EPDevices()
	if err != nil || len(devs) != 1 || devs[0].EP != ProviderCPU {
		t.Errorf("EPDevices() = %v, %v; want only the CPU's", devs, err)
	}
}

// TestFindCUDAPlugin checks the plugin's discovery rules.
func TestFindCUDAPlugin(t *testing.T) {
	core := "/opt/ort/libonnxruntime.so.1"
	beside := "/opt/ort/" + CUDAPluginFile
	exists := func(p string) bool { return p == beside }
	for _, tt := range []struct {
		given, env, core, want, source string
	}{
		{"/x/p.so", "/y/p.so", core, "/x/p.so", sourceArgument},
		{"", "/y/p.so", core, "/y/p.so", "$" + EnvCUDAPlugin},
		{"", "", core, beside, "beside the core library"},
		{"", "", "/elsewhere/libonnxruntime.so.1", "", ""},
		{"", "", "libonnxruntime.so.1", "", ""}, // from the system loader: no folder
	} {
		got, source := findCUDAPlugin(tt.given, tt.env, tt.core, exists)
		if got != tt.want || source != tt.source {
			t.Errorf("findCUDAPlugin(%q, %q, %q) = %q, %q; want %q, %q", tt.given, tt.env, tt.core, got, source, tt.want, tt.source)
		}
	}
}

// TestCheckLibraries builds a shared library that depends on another, then
// removes that one: CheckLibraries must report it missing, by name, with the
// loader's message, and leave out the C runtime.
func TestCheckLibraries(t *testing.T) {
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build the test libraries")
	}
	dir := t.TempDir()
	for name, src := range map[string]string{"dep.c": "int dep(void) { return 1; }\n", "top.c": "int dep(void);\nint top(void) { return dep(); }\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := func(args ...string) {
		cmd := exec.Command(cc, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("cannot build the test libraries: %v\n%s", err, out)
		}
	}
	build("-shared", "-fPIC", "-o", "libganrtdep.so.3", "-Wl,-soname,libganrtdep.so.3", "dep.c")
	build("-shared", "-fPIC", "-o", "libganrttop.so", "top.c", "-L.", "-l:libganrtdep.so.3")
	if err := os.Remove(filepath.Join(dir, "libganrtdep.so.3")); err != nil {
		t.Fatal(err)
	}
	checks, err := CheckLibraries(filepath.Join(dir, "libganrttop.so"))
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 1 || checks[0].Name != "libganrtdep.so.3" || !strings.Contains(checks[0].Error, "libganrtdep.so.3") {
		t.Errorf("CheckLibraries = %+v; want libganrtdep.so.3 missing, with the loader's message", checks)
	}
	if got := MissingLibraries(filepath.Join(dir, "libganrttop.so")); !slices.Equal(got, []string{"libganrtdep.so.3"}) {
		t.Errorf("MissingLibraries = %v", got)
	}
	if _, err := CheckLibraries(filepath.Join(dir, "top.c")); err == nil {
		t.Error("CheckLibraries of a C file succeeded")
	}
}

// TestCUDAPluginLibraries lists what the installed CUDA plugin needs: its ELF
// dependencies in order, the CUDA 13 runtime first, then cuDNN 9.
func TestCUDAPluginLibraries(t *testing.T) {
	_, plugin := gpuInstall(t)
	checks, err := CheckLibraries(plugin)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
		t.Logf("%s: %q", c.Name, c.Error)
	}
	want := []string{"libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", "libcuda.so.1", "libcudnn.so.9"}
	if !slices.Equal(names, want) || !checks[len(checks)-1].RunTime {
		t.Errorf("libraries = %v; want %v, cuDNN loaded at run time", names, want)
	}
}

// TestAppendCPUEPDevice runs a session whose provider was appended as an EP
// device (SessionOptionsAppendExecutionProvider_V2), the plugin route's
// call, with the CPU provider's device.
func TestAppendCPUEPDevice(t *testing.T) {
	mustInit(t)
	devs, err := EPDevices()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(devs, func(d EPDevice) bool { return d.EP == ProviderCPU })
	if i < 0 {
		t.Fatalf("EPDevices() = %v; want the CPU provider's device", devs)
	}
	cpu := devs[i]
	if cpu.Hardware != "cpu" || cpu.EPVendor == "" || cpu.EPMetadata["version"] != Version() {
		t.Errorf("CPU EP device = %+v; want cpu hardware, a vendor and the ORT version", cpu)
	}
	so, err := onnxruntime.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer so.Destroy()
	h, err := sessionOptionsHandle(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := appendEPDevice(h, cpu, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	sess, err := onnxruntime.NewDynamicAdvancedSessionWithONNXData(addReluModel(t), []string{"a", "b"}, []string{"y"}, so)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	a, _ := onnxruntime.NewTensor(onnxruntime.NewShape(1, 3), []float32{-1, 2, 3})
	b, _ := onnxruntime.NewTensor(onnxruntime.NewShape(1, 3), []float32{0.5, -4, 1})
	y, _ := onnxruntime.NewEmptyTensor[float32](onnxruntime.NewShape(1, 3))
	defer a.Destroy()
	defer b.Destroy()
	defer y.Destroy()
	if err := sess.Run([]onnxruntime.Value{a, b}, []onnxruntime.Value{y}); err != nil {
		t.Fatal(err)
	}
	if got := y.GetData(); !slices.Equal(got, []float32{0, 0, 4}) {
		t.Errorf("relu(a+b) = %v; want [0 0 4]", got)
	}
}
