package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// Options of a run live in RUN/options.json (the config as JSON, with the
// reference's option names). A resumed run reads them from there, so the
// user repeats no flag. Each config field that has a command-line flag
// names it in a `flag:"NAME"` tag; "NAME,mutable" marks an option that a
// resumed run may change (iterations, epochs, cadences, device, threads,
// data location), "NAME,invert" a bool flag that is the field's negation.
// Any other option given again with a different value is refused.

// RunControl says what to do with a run folder and records how its options
// changed; both trainers' configs embed it.
type RunControl struct {
	// Resume continues the run in the folder from its newest checkpoint
	// (see ResumeCycleGANConfig); Overwrite replaces a run that is there.
	Resume    bool `json:"-"`
	Overwrite bool `json:"-"`
	// History lists the options that resumed runs changed.
	History []OptionChange `json:"history,omitempty"`
	changes []OptionChange // this resumption's, recorded once it starts
}

// OptionChange records an option that a resumed run changed.
type OptionChange struct {
	// Iter is the iteration the resumed run started from.
	Iter int    `json:"iter"`
	Flag string `json:"flag"`
	From string `json:"from"`
	To   string `json:"to"`
}

const optionsFile = "options.json"

// writeOptions writes cfg as dir/options.json, atomically.
func writeOptions(dir string, cfg any) error {
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, optionsFile), append(js, '\n'))
}

// ResumeCycleGANConfig returns the options of the CycleGAN run in out, read
// from its options.json, with the options given again applied: given holds
// the command line's values and set reports the flags the user gave. A
// flag that may change (see OptionChange) is applied and recorded in the
// run's history when it starts; any other flag whose value differs from the
// run's is an error that names the flag and both values.
func ResumeCycleGANConfig(out string, given CycleGANConfig, set func(flag string) bool) (CycleGANConfig, error) {
	cfg := DefaultCycleGANConfig
	changes, err := resumeOptions(out, &cfg, &given, set)
	if err != nil {
		return CycleGANConfig{}, err
	}
	cfg.Out, cfg.Resume, cfg.changes = out, true, changes
	return cfg, nil
}

// ResumeStarGANConfig is ResumeCycleGANConfig for StarGAN runs.
func ResumeStarGANConfig(out string, given StarGANConfig, set func(flag string) bool) (StarGANConfig, error) {
	cfg := DefaultStarGANConfig
	changes, err := resumeOptions(out, &cfg, &given, set)
	if err != nil {
		return StarGANConfig{}, err
	}
	cfg.Out, cfg.Resume, cfg.changes = out, true, changes
	return cfg, nil
}

// resumeOptions reads out/options.json over *cfg (which holds the defaults
// for options the file lacks) and applies the flags of given that set
// reports, returning the changes.
func resumeOptions[C any](out string, cfg, given *C, set func(string) bool) ([]OptionChange, error) {
	if err := checkOut(out, true, false); err != nil {
		return nil, err
	}
	path := filepath.Join(out, optionsFile)
	js, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	run, cmd := reflect.ValueOf(cfg).Elem(), reflect.ValueOf(given).Elem()
	// A list the file omits was empty; and decoding into a default's list
	// would write over the shared default.
	for i := range run.NumField() {
		if f := run.Field(i); f.Kind() == reflect.Slice && f.CanSet() {
			f.SetZero()
		}
	}
	if err := json.NewDecoder(bytes.NewReader(js)).Decode(cfg); err != nil {
		return nil, fmt.Errorf("--resume: %s: %w", path, err)
	}
	var changes []OptionChange
	for i := range run.NumField() {
		f := run.Type().Field(i)
		tag, ok := f.Tag.Lookup("flag")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !set(name) {
			continue
		}
		invert := opts == "invert"
		was, now := formatOption(run.Field(i), invert), formatOption(cmd.Field(i), invert)
		if was == now {
			continue
		}
		if opts != "mutable" {
			return nil, fmt.Errorf("--%s %s differs from the run's %s: a resumed run keeps its options (start a new run to change it)", name, now, was)
		}
		run.Field(i).Set(cmd.Field(i))
		changes = append(changes, OptionChange{Flag: "--" + name, From: was, To: now})
	}
	return changes, nil
}

// formatOption writes an option's value as its flag would take it.
func formatOption(v reflect.Value, invert bool) string {
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool() != invert)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice:
		return strings.Join(v.Interface().([]string), ",")
	case reflect.String:
		if v.String() == "" {
			return `""`
		}
	}
	return fmt.Sprint(v.Interface())
}

// recordChanges stamps the resumed run's changes with the iteration it
// starts from and appends them to history.
func recordChanges(history, changes []OptionChange, iter int) []OptionChange {
	for _, c := range changes {
		c.Iter = iter
		history = append(history, c)
	}
	return history
}
