package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestListImagesOrder(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.png", "a.PNG", "x.webp", "sub/c.jpg", "sub-x/d.png", "sub/deeper/e.tiff"} {
		writeFile(t, filepath.Join(dir, f), "")
	}
	// Not images for the reference: a case it does not list, other types.
	for _, f := range []string{"A.Jpg", "notes.txt", "sub/e.gif", "png"} {
		writeFile(t, filepath.Join(dir, f), "")
	}
	got, err := ListImages(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Full paths sorted as strings: '-' sorts before '/'.
	want := []string{"a.PNG", "b.png", "sub-x/d.png", "sub/c.jpg", "sub/deeper/e.tiff", "x.webp"}
	if g := rel(t, dir, got); !slices.Equal(g, want) {
		t.Errorf("got %q; want %q", g, want)
	}

	// max_dataset_size takes the first files of make_dataset's walk
	// (directories by path: dir, dir/sub, dir/sub/deeper, dir/sub-x), then
	// sorts them.
	got, err = ListImages(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"a.PNG", "b.png", "sub/c.jpg", "x.webp"}
	if g := rel(t, dir, got); !slices.Equal(g, want) {
		t.Errorf("max 4: got %q; want %q", g, want)
	}
}

func TestListImagesLinks(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "in_linked_dir.png"), "")
	writeFile(t, filepath.Join(other, "target.png"), "")
	writeFile(t, filepath.Join(dir, "real.png"), "")
	if err := os.Symlink(other, filepath.Join(dir, "linkdir")); err != nil {
		t.Skip("no symbolic links:", err)
	}
	if err := os.Symlink(filepath.Join(other, "target.png"), filepath.Join(dir, "link.png")); err != nil {
		t.Fatal(err)
	}
	got, err := ListImages(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	// os.walk lists links to files and does not enter links to folders.
	want := []string{"link.png", "real.png"}
	if g := rel(t, dir, got); !slices.Equal(g, want) {
		t.Errorf("got %q; want %q", g, want)
	}
}

func TestListImagesErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty", "readme.txt"), "")
	writeFile(t, filepath.Join(dir, "file.png"), "")
	for _, c := range []struct {
		path string
		want []string
	}{
		{filepath.Join(dir, "missing"), []string{"missing", "does not exist"}},
		{filepath.Join(dir, "file.png"), []string{"file.png", "not a directory"}},
		{filepath.Join(dir, "empty"), []string{"no images found in " + filepath.Join(dir, "empty"), ".jpg", ".PNG", ".tiff"}},
	} {
		_, err := ListImages(c.path, 0)
		if err == nil {
			t.Errorf("%s: got no error", c.path)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", c.path, err, w)
			}
		}
	}
}
