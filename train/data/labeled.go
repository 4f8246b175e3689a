package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultAttrs are the StarGAN reference's default CelebA attributes.
var DefaultAttrs = []string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"}

// CelebAOptions configures NewCelebA. Zero values are the reference's
// defaults.
type CelebAOptions struct {
	// Images is the folder of the images; AttrFile is list_attr_celeba.txt.
	Images, AttrFile string
	// Attrs are the selected attributes, in label order (default
	// DefaultAttrs).
	Attrs []string
	// Test selects the test split (no flip, no shuffling) instead of train.
	Test bool
	// CropSize (default 178) and ImageSize (default 128).
	CropSize, ImageSize int
	// Split moves the train/test boundary: entry i is a test entry when
	// i+1 < Split. 0 means the reference's CelebASplit; a negative value puts
	// every entry in train (for small data sets with a separate test set).
	Split int
}

// CelebASplit is where the reference splits the shuffled entries: entry i
// (from 0) is a test entry when i+1 < CelebASplit, so the test split has
// CelebASplit-1 = 1999 entries.
const CelebASplit = 2000

// NewCelebA reads a CelebA attribute file as the StarGAN reference does:
// lines are split as Python's text files are (\n, \r\n or \r) and stripped
// on the right; line 0 (the count) is not used; line 1 holds the attribute
// names; the other lines, "FILE v1 v2 ...", are shuffled with Python's
// random.seed(1234) and random.shuffle (reproduced exactly, so the split is
// the reference's); entry i goes to the test split when i+1 < 2000, else to
// train. A label holds 1 where the selected attribute's value is "1", else
// 0. Blank lines take part in the shuffle (so the order stays the
// reference's) and are then dropped; the reference would fail on them.
func NewCelebA(opt CelebAOptions) (*Labeled, error) {
	if len(opt.Attrs) == 0 {
		opt.Attrs = DefaultAttrs
	}
	if opt.CropSize == 0 {
		opt.CropSize = 178
	}
	if opt.ImageSize == 0 {
		opt.ImageSize = 128
	}
	t := CenterTransform{CropSize: opt.CropSize, ImageSize: opt.ImageSize, Flip: !opt.Test}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := checkDir(opt.Images); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(opt.AttrFile)
	if err != nil {
		return nil, fmt.Errorf("celeba attributes: %w", err)
	}
	split := opt.Split
	if split == 0 {
		split = CelebASplit
	}
	train, test, err := parseCelebA(string(b), opt.Attrs, split)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opt.AttrFile, err)
	}
	entries := train
	if opt.Test {
		entries = test
	}
	l := &Labeled{Names: slices.Clone(opt.Attrs), transform: t}
	for _, e := range entries {
		l.Paths = append(l.Paths, filepath.Join(opt.Images, e.file))
		l.Labels = append(l.Labels, e.label)
	}
	if len(l.Paths) == 0 {
		return nil, fmt.Errorf("%s: no entries in the %s split", opt.AttrFile, map[bool]string{false: "train", true: "test"}[opt.Test])
	}
	return l, nil
}

type celebAEntry struct {
	file  string
	label []float32
}

// pyLines splits text as iterating over a Python text file does
// (universal newlines), without the line ends.
func pyLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// parseCelebA returns the train and test entries of an attribute file.
func parseCelebA(text string, attrs []string, split int) (train, test []celebAEntry, err error) {
	lines := pyLines(text)
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t\n\r\v\f")
	}
	if len(lines) < 2 {
		return nil, nil, fmt.Errorf("want a count line and an attribute-name line, got %d lines", len(lines))
	}
	names := strings.Fields(lines[1])
	col := map[string]int{}
	for i, n := range names {
		col[n] = i
	}
	idx := make([]int, len(attrs))
	for i, a := range attrs {
		c, ok := col[a]
		if !ok {
			return nil, nil, fmt.Errorf("no attribute %q (the file has: %s)", a, strings.Join(names, " "))
		}
		idx[i] = c
	}
	type line struct {
		n    int // line number, from 1
		text string
	}
	entries := make([]line, len(lines)-2)
	for i := range entries {
		entries[i] = line{i + 3, lines[i+2]}
	}
	pyShuffle(newPyRandom(1234), entries)
	for i, e := range entries {
		f := strings.Fields(e.text)
		if len(f) == 0 {
			continue
		}
		if len(f)-1 != len(names) {
			return nil, nil, fmt.Errorf("line %d: %d values for %d attributes", e.n, len(f)-1, len(names))
		}
		label := make([]float32, len(attrs))
		for j, c := range idx {
			if f[1+c] == "1" {
				label[j] = 1
			}
		}
		if i+1 < split {
			test = append(test, celebAEntry{f[0], label})
		} else {
			train = append(train, celebAEntry{f[0], label})
		}
	}
	return train, test, nil
}

// FolderOptions configures NewFolders.
type FolderOptions struct {
	// Dir has one subfolder per domain (RaFD style).
	Dir string
	// CDim is the label size; it must equal the number of domain folders
	// (0: any number).
	CDim int
	// Test: no flip, no shuffling.
	Test bool
	// CropSize (default 256, the reference's RaFD crop) and ImageSize
	// (default 128).
	CropSize, ImageSize int
}

// NewFolders reads a folder-per-domain dataset as the StarGAN reference's
// torchvision ImageFolder does: the domains are the subfolders (symbolic
// links followed) sorted by name, domain k's label is one-hot at k, and
// each domain's images are found recursively (links followed) with
// torchvision's extensions, compared case-insensitively (.jpg .jpeg .png
// .ppm .bmp .pgm .tif .tiff .webp), directories sorted by path and files by
// name. No domain folder, or a number of them other than a non-zero CDim,
// is an error that lists the folders found; so is a domain without images.
func NewFolders(opt FolderOptions) (*Labeled, error) {
	if opt.CropSize == 0 {
		opt.CropSize = 256
	}
	if opt.ImageSize == 0 {
		opt.ImageSize = 128
	}
	t := CenterTransform{CropSize: opt.CropSize, ImageSize: opt.ImageSize, Flip: !opt.Test}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := checkDir(opt.Dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("image folder: %w", err)
	}
	var classes []string
	for _, e := range entries {
		if st, err := os.Stat(filepath.Join(opt.Dir, e.Name())); err == nil && st.IsDir() {
			classes = append(classes, e.Name())
		}
	}
	slices.Sort(classes)
	if len(classes) == 0 && opt.CDim == 0 {
		return nil, fmt.Errorf("%s has no domain folders: it needs one subfolder per domain", opt.Dir)
	}
	if len(classes) != opt.CDim && opt.CDim != 0 {
		found := "none"
		if len(classes) > 0 {
			found = strings.Join(classes, ", ")
		}
		return nil, fmt.Errorf("%s has %d domain folders (%s) but the label size c_dim is %d: they must match (one subfolder per domain)", opt.Dir, len(classes), found, opt.CDim)
	}
	l := &Labeled{Names: classes, transform: t}
	for k, c := range classes {
		groups, err := walk(filepath.Join(opt.Dir, c), true)
		if err != nil {
			return nil, err
		}
		label := make([]float32, len(classes))
		label[k] = 1
		n := 0
		for _, g := range groups {
			for _, f := range g.files {
				if hasExtension(f, folderExtensions, true) {
					l.Paths = append(l.Paths, filepath.Join(g.root, f))
					l.Labels = append(l.Labels, label)
					n++
				}
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("no images found in domain folder %s (looked for %s, any case)", filepath.Join(opt.Dir, c), strings.Join(folderExtensions, " "))
		}
	}
	return l, nil
}
