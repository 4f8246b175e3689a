package ort

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Report is what Diagnose finds out about ONNX Runtime in this process: the
// library, its providers and EP devices, the CUDA route and its libraries,
// and a trial run on a device.
type Report struct {
	// Version, Library and Source describe the loaded core library;
	// LoadError says why none loaded (the other fields are then empty).
	Version   string `json:"version,omitempty"`
	Library   string `json:"library,omitempty"`
	Source    string `json:"source,omitempty"`
	LoadError string `json:"load_error,omitempty"`
	// Providers are those compiled into the core (AvailableProviders).
	Providers []string `json:"providers,omitempty"`
	// EPDevices are the environment's execution-provider devices, after the
	// CUDA plugin (if any) was registered.
	EPDevices []EPDevice `json:"ep_devices,omitempty"`
	// CUDA is the state of the CUDA provider; nil when not asked for.
	CUDA *CUDAReport `json:"cuda,omitempty"`
	// Trial is the run of a tiny model on the asked device; nil when ORT
	// did not load.
	Trial *Trial `json:"trial,omitempty"`
}

// CUDAReport is the state of the CUDA provider.
type CUDAReport struct {
	// Route is "built-in" (a core with CUDA compiled in), "plugin" (the
	// CUDA plugin library) or "" when CUDA cannot be used.
	Route string `json:"route"`
	// Plugin and PluginSource name the plugin library and the rule that
	// found it; empty when there is none.
	Plugin       string `json:"plugin,omitempty"`
	PluginSource string `json:"plugin_source,omitempty"`
	// Libraries are what the plugin (or a built-in CUDA's provider library)
	// needs, each with whether it loads.
	Libraries []LibraryCheck `json:"libraries,omitempty"`
	// Error says why CUDA cannot be used; "" when it can.
	Error string `json:"error,omitempty"`
}

// Trial is one run of a tiny model on a device.
type Trial struct {
	// Asked is the device asked for, Device and Provider where the session
	// runs, and Fallback why auto fell back to the CPU.
	Asked    string `json:"asked"`
	Device   string `json:"device,omitempty"`
	Provider string `json:"provider,omitempty"`
	Fallback string `json:"fallback,omitempty"`
	// Memory is where device tensors live (Memory.Info), Pinned the pinned
	// host memory that Run stages through ("" with a reason in NoPinned).
	Memory   string `json:"memory,omitempty"`
	Pinned   string `json:"pinned,omitempty"`
	NoPinned string `json:"no_pinned,omitempty"`
	// Error says why the trial failed; "" when it ran and gave the right
	// result.
	Error string `json:"error,omitempty"`
}

// Diagnose loads ONNX Runtime as l says (if no library is loaded yet) and
// reports on it; with cuda it also registers the CUDA plugin when that is
// the route, and checks each CUDA library. It then runs a tiny model on
// device d, through I/O binding and device memory. Nothing in it fails:
// every problem is a field of the report.
func Diagnose(l Libraries, d Device, cuda bool) Report {
	r := Describe(l)
	if r.LoadError != "" {
		return r
	}
	if cuda || d.Kind == KindCUDA || d.Kind == KindAuto {
		r.CUDA = diagnoseCUDA()
	}
	if devs, err := EPDevices(); err == nil {
		r.EPDevices = devs
	}
	r.Trial = trial(d)
	return r
}

// Describe loads ONNX Runtime as l says (if no library is loaded yet) and
// reports the library and its built-in providers only.
func Describe(l Libraries) Report {
	var r Report
	if err := InitWith(l); err != nil {
		r.LoadError = err.Error()
		return r
	}
	r.Version, r.Library, r.Source = Version(), LibraryPath(), LibrarySource()
	var err error
	if r.Providers, err = AvailableProviders(); err != nil {
		r.LoadError = err.Error()
	}
	return r
}

// diagnoseCUDA resolves the CUDA route and checks the libraries.
func diagnoseCUDA() *CUDAReport {
	c := &CUDAReport{}
	c.Plugin, c.PluginSource = CUDAPluginPath()
	if err := CheckProvider(KindCUDA); err != nil {
		c.Error = err.Error()
	} else {
		providerMu.Lock()
		c.Route = map[bool]string{false: "built-in", true: "plugin"}[cuda.plugin]
		providerMu.Unlock()
	}
	if c.Plugin != "" && fileExists(c.Plugin) {
		checks, err := CheckLibraries(c.Plugin)
		if err != nil && c.Error == "" {
			c.Error = err.Error()
		}
		c.Libraries = checks
	}
	return c
}

// CUDAWorks returns nil when a tiny model runs on cuda:id with its tensors
// in device memory, else why not (tests of GPU paths skip with it). It
// calls Init("") if nobody has.
func CUDAWorks(id int) error {
	if err := Init(""); err != nil {
		return err
	}
	if t := trial(Device{Kind: KindCUDA, ID: id}); t.Error != "" {
		return errors.New(t.Error)
	}
	return nil
}

// trial runs x*x on device d with the input and output in device memory.
func trial(d Device) *Trial {
	t := &Trial{Asked: d.String()}
	fail := func(err error) *Trial {
		t.Error = err.Error()
		return t
	}
	s, err := NewSession(trialModel(), SessionOptions{Device: d})
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	t.Device, t.Provider, t.Fallback = s.Device().String(), s.Provider(), s.FallbackReason()
	if m, ok, why := s.PinnedMemory(); ok {
		t.Pinned = m.String()
	} else {
		t.NoPinned = why
	}
	mem, err := NewMemory(SessionOptions{Device: s.Device()})
	if err != nil {
		return fail(err)
	}
	defer mem.Close()
	t.Memory = mem.Info().String()
	x, err := mem.NewValue(4)
	if err != nil {
		return fail(err)
	}
	defer x.Close()
	y, err := mem.NewValue(4)
	if err != nil {
		return fail(err)
	}
	defer y.Close()
	b, err := s.NewBinding()
	if err != nil {
		return fail(err)
	}
	defer b.Close()
	in, out := []float32{1, -2, 3, 0.5}, make([]float32, 4)
	err = errors.Join(mem.Upload(x, in), b.BindInputValue("x", x), b.BindOutputValue("y", y))
	if err == nil {
		err = b.Run()
	}
	if err == nil {
		err = mem.Download(out, y)
	}
	if err != nil {
		return fail(err)
	}
	for i, v := range in {
		if out[i] != v*v {
			return fail(fmt.Errorf("ort: trial: x*x = %v for x = %v", out, in))
		}
	}
	return t
}

// trialModel is y = x*x over float32 vectors of any length.
func trialModel() []byte { return oneNodeModel("trial", "Mul", "x", "x") }

// Write prints the report for people.
func (r Report) Write(w io.Writer) {
	if r.LoadError != "" {
		fmt.Fprintf(w, "onnxruntime  not loaded: %s\n", r.LoadError)
		return
	}
	fmt.Fprintf(w, "onnxruntime  %s\n", r.Version)
	fmt.Fprintf(w, "library      %s (%s)\n", r.Library, r.Source)
	fmt.Fprintf(w, "providers    %s (built in)\n", strings.Join(r.Providers, ", "))
	for i, d := range r.EPDevices {
		label := "ep devices"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(w, "%-12s %s\n", label, d)
	}
	if c := r.CUDA; c != nil {
		plugin := "none"
		if c.Plugin != "" {
			plugin = c.Plugin + " (" + c.PluginSource + ")"
		}
		fmt.Fprintf(w, "cuda plugin  %s\n", plugin)
		for _, l := range c.Libraries {
			state := "loads"
			if l.Error != "" {
				state = "MISSING: " + l.Error
			}
			when := ""
			if l.RunTime {
				when = " (loaded while running)"
			}
			fmt.Fprintf(w, "  %-20s %s%s\n", l.Name, state, when)
		}
		if c.Error != "" {
			fmt.Fprintf(w, "cuda         unavailable: %s\n", c.Error)
		} else {
			fmt.Fprintf(w, "cuda         usable (%s)\n", c.Route)
		}
	}
	if t := r.Trial; t != nil {
		if t.Error != "" {
			fmt.Fprintf(w, "trial %-6s FAILED: %s\n", t.Asked, t.Error)
			return
		}
		fmt.Fprintf(w, "trial %-6s ran on %s (%s); device memory %s", t.Asked, t.Device, t.Provider, t.Memory)
		if t.Pinned != "" {
			fmt.Fprintf(w, ", pinned host memory %s", t.Pinned)
		}
		fmt.Fprintln(w)
		if t.Fallback != "" {
			fmt.Fprintf(w, "             auto fell back: %s\n", t.Fallback)
		}
	}
}
