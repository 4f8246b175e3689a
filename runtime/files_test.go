package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, randomRGBA(w, h, 1), EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestPlanFiles(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	out := filepath.Join(in, "out") // inside the input folder
	writePNG(t, filepath.Join(in, "b.png"), 4, 4)
	writePNG(t, filepath.Join(in, "a.png"), 4, 4)
	writePNG(t, filepath.Join(in, "sub", "c.BMP"), 4, 4)
	writePNG(t, filepath.Join(out, "a.png"), 4, 4) // an earlier output
	os.WriteFile(filepath.Join(in, "notes.txt"), []byte("x"), 0o644)

	jobs := PlanFiles([]string{in, filepath.Join(in, "a.png"), filepath.Join(dir, "missing.png"), filepath.Join(dir, "*.tif")}, out, JPEG)
	var got []string
	for _, j := range jobs {
		s := strings.TrimPrefix(j.Src, dir+"/") + " -> " + strings.TrimPrefix(j.Dst, dir+"/")
		if j.Err != nil {
			s = strings.TrimPrefix(j.Src, dir+"/") + " error"
		}
		got = append(got, s)
	}
	slices.Sort(got)
	want := []string{
		"*.tif error",
		"in/a.png -> in/out/a.jpg",
		"in/b.png -> in/out/b.jpg",
		"in/sub/c.BMP -> in/out/sub/c.jpg",
		"missing.png error",
	}
	if !slices.Equal(got, want) {
		t.Errorf("PlanFiles:\n got %q\nwant %q", got, want)
	}

	// Writing PNGs into the input folder would overwrite a.png and b.png.
	for _, j := range PlanFiles([]string{filepath.Join(in, "*.png")}, in, PNG) {
		if j.Err == nil || !strings.Contains(j.Err.Error(), "would overwrite an input") {
			t.Errorf("%s -> %s: err = %v; want a refusal", j.Src, j.Dst, j.Err)
		}
	}
	// A hard link to an input under the output name is refused too.
	os.MkdirAll(filepath.Join(dir, "o2"), 0o755)
	if err := os.Link(filepath.Join(in, "b.png"), filepath.Join(dir, "o2", "b.png")); err == nil {
		j := PlanFiles([]string{filepath.Join(in, "b.png")}, filepath.Join(dir, "o2"), PNG)
		if len(j) != 1 || j[0].Err == nil {
			t.Errorf("output hard-linked to the input: %+v; want a refusal", j)
		}
	}
}

func TestTranslateFilesCanceled(t *testing.T) {
	tr := open(t, cycleModel(t), Options{})
	dir := t.TempDir()
	var jobs []FileJob
	for _, n := range []string{"a", "b", "c"} {
		writePNG(t, filepath.Join(dir, n+".png"), 8, 8)
		jobs = append(jobs, FileJob{Src: filepath.Join(dir, n+".png"), Dst: filepath.Join(dir, "out", n+".png")})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := tr.TranslateFiles(ctx, jobs, FilesOptions{}, nil)
	if !errors.Is(err, context.Canceled) || s.Written != 0 {
		t.Errorf("canceled: %+v, %v; want nothing written and context.Canceled", s, err)
	}
	s, err = tr.TranslateFiles(context.Background(), jobs, FilesOptions{Batch: 2, Workers: 1}, nil)
	if err != nil || s.Written != 3 || s.Failed != 0 || s.Total != 3 {
		t.Errorf("summary %+v, %v; want 3 written", s, err)
	}
}
