package demo

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoKeepsUserFolders checks that the demo, which replaces its --out
// folder, refuses a folder holding what someone else wrote (before, `ganrt
// demo --out DIR` removed DIR whatever it held) and replaces only its own.
func TestDemoKeepsUserFolders(t *testing.T) {
	root := t.TempDir()
	user := filepath.Join(root, "photos")
	if err := os.MkdirAll(user, 0o755); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(user, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Default
	cfg.Out = user
	err := Run(context.Background(), cfg, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "holds files the demo did not make (notes.txt") {
		t.Errorf("demo into a user folder: err = %v; want a refusal naming notes.txt", err)
	}
	if b, err := os.ReadFile(notes); err != nil || string(b) != "mine" {
		t.Errorf("the user's file is gone or changed: %q, %v", b, err)
	}

	own := filepath.Join(root, "own")
	old := filepath.Join(root, "old")
	for _, p := range []string{filepath.Join(own, demoMarker), filepath.Join(old, "data", "synth.json"), filepath.Join(own, "run", "x")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{own, old, empty, filepath.Join(root, "missing")} {
		if err := replaceable(dir); err != nil {
			t.Errorf("replaceable(%s) = %v; want nil (the demo's own, empty or missing)", dir, err)
		}
	}
}
