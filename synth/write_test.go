package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// listFiles returns the files under dir, relative and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// countIn counts files by their parent folder.
func countIn(files []string) map[string]int {
	m := map[string]int{}
	for _, f := range files {
		m[filepath.ToSlash(filepath.Dir(f))]++
	}
	return m
}

func readPNG(t *testing.T, path string) *image.RGBA {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := image.NewRGBA(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// sameAs fails unless the file holds scene seed rendered in d.
func sameAs(t *testing.T, path string, seed uint64, d Domain, size int) {
	t.Helper()
	got := readPNG(t, path)
	if want := Render(NewScene(seed), d, size); !bytes.Equal(got.Pix, want.Pix) {
		l1, _ := Metrics(got, want)
		t.Errorf("%s is not its scene in %s (L1 %.3f)", path, d, l1)
	}
}

func TestWriteDayNight(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Kind: KindDayNight, N: 5, TestN: 3, Size: 32, Seed: 9}
	m, err := Write(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	files := listFiles(t, dir)
	want := map[string]int{"trainA": 5, "trainB": 5, "testA": 3, "testB": 3, "testA_truth": 3, "testB_truth": 3, ".": 1}
	if got := countIn(files); !maps(got, want) {
		t.Fatalf("got files %v; want %v", got, want)
	}
	if m.Train != 10 || m.Test != 6 || m.Truth != 6 || m.Files() != 22 {
		t.Errorf("got manifest counts %d/%d/%d; want 10/6/6", m.Train, m.Test, m.Truth)
	}
	if !slices.Contains(files, "trainA/000004.png") || !slices.Contains(files, "testB_truth/000002.png") {
		t.Errorf("names: got %v", files)
	}
	// Inputs and truths are the same scene in the two domains.
	for i := range 3 {
		name := namer(5)(i)
		sA, sB := seedOf(9, streamTestA, i), seedOf(9, streamTestB, i)
		sameAs(t, filepath.Join(dir, "testA", name), sA, Domain{Time: Day}, 32)
		sameAs(t, filepath.Join(dir, "testA_truth", name), sA, Domain{Time: Night}, 32)
		sameAs(t, filepath.Join(dir, "testB", name), sB, Domain{Time: Night}, 32)
		sameAs(t, filepath.Join(dir, "testB_truth", name), sB, Domain{Time: Day}, 32)
	}
	// Unpaired: trainB's scenes are not trainA's.
	for i := range 5 {
		a := NewScene(seedOf(9, streamTrainA, i))
		b := readPNG(t, filepath.Join(dir, "trainB", namer(5)(i)))
		if bytes.Equal(Render(a, Domain{Time: Night}, 32).Pix, b.Pix) {
			t.Errorf("trainB/%s is trainA's scene", namer(5)(i))
		}
	}
	// A truth file is closer to its own scene's night than to another's:
	// same scene, not just the same domain.
	own := readPNG(t, filepath.Join(dir, "testA_truth", "000000.png"))
	l1own, _ := Metrics(own, Render(NewScene(seedOf(9, streamTestA, 0)), Domain{Time: Night}, 32))
	l1other, _ := Metrics(own, Render(NewScene(seedOf(9, streamTestA, 1)), Domain{Time: Night}, 32))
	if l1own != 0 || l1other == 0 {
		t.Errorf("truth L1 to its scene %.3f, to another %.3f; want 0 and > 0", l1own, l1other)
	}
	var back Manifest
	b, _ := os.ReadFile(filepath.Join(dir, "synth.json"))
	if err := json.Unmarshal(b, &back); err != nil || back.Kind != KindDayNight || back.Seed != 9 || !slices.Equal(back.Domains, []string{"day", "night"}) {
		t.Errorf("synth.json: got %+v, %v", back, err)
	}
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// parseAttrs reads a list_attr_celeba.txt file as the reference does.
func parseAttrs(t *testing.T, path string) (names []string, rows map[string][]bool, order []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	names = strings.Fields(lines[1])
	rows = map[string][]bool{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != len(names)+1 {
			t.Fatalf("%s: line %q has %d fields; want %d", path, l, len(f), len(names)+1)
		}
		var v []bool
		for _, s := range f[1:] {
			if s != "1" && s != "-1" {
				t.Fatalf("%s: value %q; want 1 or -1", path, s)
			}
			v = append(v, s == "1")
		}
		rows[f[0]] = v
		order = append(order, f[0])
	}
	if lines[0] != itoa(len(lines)-2) {
		t.Fatalf("%s: count line %q; want %d", path, lines[0], len(lines)-2)
	}
	return names, rows, order
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestWriteWeather(t *testing.T) {
	dir := t.TempDir()
	m, err := Write(dir, Options{Kind: KindWeather, N: 12, TestN: 4, Size: 32, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	names, rows, order := parseAttrs(t, filepath.Join(dir, "list_attr.txt"))
	if !slices.Equal(names, Attrs()) || len(rows) != 12 || !slices.IsSorted(order) {
		t.Fatalf("list_attr.txt: names %v, %d rows, order %v", names, len(rows), order)
	}
	for f, label := range rows {
		d, err := DomainOf(label)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "images", f)); err != nil {
			t.Fatal(err)
		}
		i := slices.Index(order, f)
		sameAs(t, filepath.Join(dir, "images", f), seedOf(3, streamTrain, i), d, 32)
	}
	_, test, order := parseAttrs(t, filepath.Join(dir, "test", "list_attr.txt"))
	if len(test) != 4 {
		t.Fatalf("test/list_attr.txt has %d rows; want 4", len(test))
	}
	truths := 0
	for i, f := range order {
		scene := strings.TrimSuffix(f, ".png")
		seed := seedOf(3, streamTest, i)
		d, _ := DomainOf(test[f])
		sameAs(t, filepath.Join(dir, "test", "images", f), seed, d, 32)
		entries, err := os.ReadDir(filepath.Join(dir, "test_truth", scene))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		var want []string
		for _, tg := range GridTargets(test[f]) {
			want = append(want, LabelString(tg)+".png")
		}
		slices.Sort(want)
		want = slices.Compact(want)
		if !slices.Equal(got, want) {
			t.Errorf("test_truth/%s: got %v; want %v", scene, got, want)
		}
		for _, name := range got {
			label, err := ParseLabel(strings.TrimSuffix(name, ".png"))
			if err != nil {
				t.Fatal(err)
			}
			td, err := DomainOf(label)
			if err != nil {
				t.Fatal(err)
			}
			sameAs(t, filepath.Join(dir, "test_truth", scene, name), seed, td, 32)
			truths++
		}
	}
	if m.Train != 12 || m.Test != 4 || m.Truth != truths {
		t.Errorf("manifest counts %d/%d/%d; want 12/4/%d", m.Train, m.Test, m.Truth, truths)
	}
	if !slices.Equal(m.Exclusive, []string{"Day", "Night"}) {
		t.Errorf("manifest exclusive %v; want [Day Night]", m.Exclusive)
	}
}

func TestWriteWeatherSingle(t *testing.T) {
	dir := t.TempDir()
	m, err := Write(dir, Options{Kind: KindWeatherSingle, N: 2, TestN: 1, Size: 24, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	doms := SingleDomains()
	files := listFiles(t, dir)
	counts := countIn(files)
	var names []string
	for _, d := range doms {
		names = append(names, d.Name)
		if counts["train/"+d.Name] != 2 || counts["test/"+d.Name] != 1 {
			t.Errorf("%s: %d train, %d test; want 2, 1", d.Name, counts["train/"+d.Name], counts["test/"+d.Name])
		}
	}
	if !slices.IsSorted(names) || !slices.Equal(m.Domains, names) {
		t.Fatalf("domains %v (manifest %v); want sorted", names, m.Domains)
	}
	// Test scene k of class c is test/<c>/k.png; its truths are one-hot.
	for c, d := range doms {
		scene := strings.TrimSuffix(namer(len(doms))(c), ".png")
		seed := seedOf(5, streamTest, c)
		sameAs(t, filepath.Join(dir, "test", d.Name, scene+".png"), seed, d.Domain, 24)
		if counts["test_truth/"+scene] != len(doms) {
			t.Errorf("test_truth/%s has %d files; want %d", scene, counts["test_truth/"+scene], len(doms))
		}
		for tc, td := range doms {
			sameAs(t, filepath.Join(dir, "test_truth", scene, LabelString(OneHot(tc, len(doms)))+".png"), seed, td.Domain, 24)
		}
	}
	// Names are unique across the domain folders.
	seen := map[string]string{}
	for _, f := range files {
		if strings.HasPrefix(f, "train/") {
			b := filepath.Base(f)
			if prev, ok := seen[b]; ok {
				t.Errorf("%s and %s share a name", prev, f)
			}
			seen[b] = f
		}
	}
}

// TestWriteDeterministic writes every kind twice and compares the bytes.
func TestWriteDeterministic(t *testing.T) {
	for _, k := range Kinds() {
		opt := Options{Kind: k, N: 4, TestN: 2, Size: 32, Seed: 11}
		a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
		if _, err := Write(a, opt); err != nil {
			t.Fatal(err)
		}
		if _, err := Write(b, opt); err != nil {
			t.Fatal(err)
		}
		fa, fb := listFiles(t, a), listFiles(t, b)
		if !slices.Equal(fa, fb) {
			t.Fatalf("%s: file lists differ: %v vs %v", k, fa, fb)
		}
		for _, f := range fa {
			x, _ := os.ReadFile(filepath.Join(a, f))
			y, _ := os.ReadFile(filepath.Join(b, f))
			if !bytes.Equal(x, y) {
				t.Errorf("%s: %s differs between runs", k, f)
			}
		}
		// Another seed gives other images.
		c := filepath.Join(t.TempDir(), "c")
		opt.Seed++
		if _, err := Write(c, opt); err != nil {
			t.Fatal(err)
		}
		x, _ := os.ReadFile(filepath.Join(a, fa[0]))
		y, _ := os.ReadFile(filepath.Join(c, fa[0]))
		if bytes.Equal(x, y) {
			t.Errorf("%s: %s is the same with seeds 11 and 12", k, fa[0])
		}
	}
}

func TestWriteErrors(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "old.png"), nil, 0o644)
	ok := Options{N: 1, TestN: 1, Size: 32}
	for _, c := range []struct {
		dir  string
		opt  Options
		want string
	}{
		{"", ok, "no output directory"},
		{full, ok, "is not empty"},
		{"x", Options{Kind: "cats", N: 1, Size: 32}, `unknown kind "cats" (want daynight, weather, weather-single)`},
		{"x", Options{N: 0, Size: 32}, "n must be at least 1, got 0"},
		{"x", Options{N: 1, TestN: -1, Size: 32}, "test-n must not be negative"},
		{"x", Options{N: 1, Size: 8}, "size 8 is out of range 16..4096"},
	} {
		dir := c.dir
		if dir == "x" {
			dir = filepath.Join(t.TempDir(), "x")
		}
		_, err := Write(dir, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Write(%q, %+v): got %v; want an error containing %q", c.dir, c.opt, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Errorf("a refused directory was changed: %d entries", len(entries))
	}
}

func TestWriteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := WriteContext(ctx, filepath.Join(t.TempDir(), "x"), Options{N: 50, Size: 32})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
}
