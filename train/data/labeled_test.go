package data

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// celebAText is gen_pyrandom.py's synthetic list_attr_celeba.txt.
func celebAText(n int) string {
	names := []string{"5_o_Clock_Shadow", "Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Smiling", "Young"}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d\n%s \n", n, strings.Join(names, " "))
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "%06d.jpg", i)
		for j := range names {
			v := "-1"
			if (i*31+j*17)%7 < 3 {
				v = "1"
			}
			fmt.Fprintf(&sb, " %2s", v)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func labelString(l []float32) string {
	var sb strings.Builder
	for _, v := range l {
		fmt.Fprint(&sb, v)
	}
	return sb.String()
}

// TestCelebASplitMatchesReference checks the split and labels against the
// reference's preprocess run by Python (testdata/gen_pyrandom.py), also
// with Windows line ends.
func TestCelebASplitMatchesReference(t *testing.T) {
	g := readPyGolden(t)
	for _, crlf := range []bool{false, true} {
		text := celebAText(2100)
		if crlf {
			text = strings.ReplaceAll(text, "\n", "\r\n")
		}
		train, test, err := parseCelebA(text, g.CelebA.Selected, CelebASplit)
		if err != nil {
			t.Fatal(err)
		}
		if len(test) != CelebASplit-1 || len(test) != len(g.CelebA.Test) || len(train) != len(g.CelebA.Train) {
			t.Fatalf("got %d test and %d train entries; want %d and %d", len(test), len(train), len(g.CelebA.Test), len(g.CelebA.Train))
		}
		for name, c := range map[string]struct {
			got  []celebAEntry
			want [][2]string
		}{"test": {test, g.CelebA.Test}, "train": {train, g.CelebA.Train}} {
			for i, e := range c.got {
				if e.file != c.want[i][0] || labelString(e.label) != c.want[i][1] {
					t.Fatalf("%s entry %d: got %s %s; want %s %s", name, i, e.file, labelString(e.label), c.want[i][0], c.want[i][1])
				}
			}
		}
	}
}

func TestNewCelebA(t *testing.T) {
	dir := t.TempDir()
	attrs := filepath.Join(dir, "list_attr_celeba.txt")
	writeFile(t, attrs, celebAText(2003))
	writeFile(t, filepath.Join(dir, "img", "x"), "")
	ds, err := NewCelebA(CelebAOptions{Images: filepath.Join(dir, "img"), AttrFile: attrs, Attrs: []string{"Young", "Male"}})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 2003-1999 || ds.CDim() != 2 || !slices.Equal(ds.Names, []string{"Young", "Male"}) {
		t.Fatalf("got %d images, names %v; want 4, [Young Male]", ds.Len(), ds.Names)
	}
	for i, p := range ds.Paths {
		var n int
		if _, err := fmt.Sscanf(filepath.Base(p), "%06d.jpg", &n); err != nil {
			t.Fatal(err)
		}
		// Young is column 6, Male column 4.
		want := ""
		for _, j := range []int{6, 4} {
			if (n*31+j*17)%7 < 3 {
				want += "1"
			} else {
				want += "0"
			}
		}
		if got := labelString(ds.Labels[i]); got != want {
			t.Errorf("%s: label %s; want %s", p, got, want)
		}
	}
	test, err := NewCelebA(CelebAOptions{Images: filepath.Join(dir, "img"), AttrFile: attrs, Test: true})
	if err != nil {
		t.Fatal(err)
	}
	if test.Len() != 1999 || test.CDim() != 5 || test.shuffled() {
		t.Errorf("test split: %d images, c_dim %d, shuffled %v; want 1999, 5, false", test.Len(), test.CDim(), test.shuffled())
	}

	for _, c := range []struct {
		text, attr, want string
	}{
		{celebAText(10), "Bald", `no attribute "Bald"`},
		{"2\nA B\nx.jpg 1 -1\ny.jpg 1\n", "A", "values for 2 attributes"},
		{"1\n", "A", "want a count line and an attribute-name line"},
	} {
		writeFile(t, attrs, c.text)
		_, err := NewCelebA(CelebAOptions{Images: filepath.Join(dir, "img"), AttrFile: attrs, Attrs: []string{c.attr}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got error %v; want one containing %q", err, c.want)
		}
	}
}

func TestNewFolders(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"happy/b.JPG", "happy/a.png", "angry/sub/z.png", "angry/y.jpeg", "neutral/n.bmp", "neutral/notes.txt"} {
		writeFile(t, filepath.Join(dir, f), "")
	}
	writeFile(t, filepath.Join(dir, "README"), "")
	ds, err := NewFolders(FolderOptions{Dir: dir, CDim: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Names, []string{"angry", "happy", "neutral"}) {
		t.Errorf("domains %v; want [angry happy neutral]", ds.Names)
	}
	wantPaths := []string{"angry/y.jpeg", "angry/sub/z.png", "happy/a.png", "happy/b.JPG", "neutral/n.bmp"}
	wantLabels := []string{"100", "100", "010", "010", "001"}
	if got := rel(t, dir, ds.Paths); !slices.Equal(got, wantPaths) {
		t.Errorf("paths %q; want %q", got, wantPaths)
	}
	for i, l := range ds.Labels {
		if labelString(l) != wantLabels[i] {
			t.Errorf("%s: label %s; want %s", ds.Paths[i], labelString(l), wantLabels[i])
		}
	}

	_, err = NewFolders(FolderOptions{Dir: dir, CDim: 5})
	want := "has 3 domain folders (angry, happy, neutral) but the label size c_dim is 5"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("c_dim mismatch: got %v; want an error containing %q", err, want)
	}
	writeFile(t, filepath.Join(dir, "sad", "readme.txt"), "")
	_, err = NewFolders(FolderOptions{Dir: dir, CDim: 4})
	if err == nil || !strings.Contains(err.Error(), "no images found in domain folder "+filepath.Join(dir, "sad")) {
		t.Errorf("empty domain: got %v", err)
	}
	_, err = NewFolders(FolderOptions{Dir: filepath.Join(dir, "nope"), CDim: 4})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing folder: got %v", err)
	}
}

func TestCelebASplitOption(t *testing.T) {
	text := "5\nA B\n" + "f1 1 -1\nf2 -1 1\nf3 1 1\nf4 -1 -1\nf5 1 -1\n"
	for _, c := range []struct{ split, train, test int }{{-1, 5, 0}, {3, 3, 2}, {CelebASplit, 0, 5}} {
		train, test, err := parseCelebA(text, []string{"B"}, c.split)
		if err != nil {
			t.Fatal(err)
		}
		if len(train) != c.train || len(test) != c.test {
			t.Errorf("split %d: got %d train and %d test entries; want %d and %d", c.split, len(train), len(test), c.train, c.test)
		}
	}
}
