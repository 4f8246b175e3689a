package cli

import "testing"

// TestCommandsDocumented walks the command table and fails on a command
// without usage or description, or a flag without usage.
func TestCommandsDocumented(t *testing.T) {
	for _, c := range New().Commands {
		if c.Usage == "" || c.Description == "" {
			t.Errorf("command %q lacks a usage or description", c.Name)
		}
		for _, f := range c.Flags {
			if df, ok := f.(interface{ GetUsage() string }); !ok || df.GetUsage() == "" {
				t.Errorf("command %q: flag %v has no usage", c.Name, f.Names())
			}
		}
	}
}
