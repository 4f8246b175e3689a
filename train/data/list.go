package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Extensions are the file-name endings that ListImages accepts, compared
// case-sensitively: the CycleGAN reference's IMG_EXTENSIONS (so ".Jpg" is
// skipped, as there) plus ".webp" and ".WEBP", which this package decodes.
var Extensions = []string{
	".jpg", ".JPG", ".jpeg", ".JPEG",
	".png", ".PNG", ".ppm", ".PPM", ".bmp", ".BMP",
	".tif", ".TIF", ".tiff", ".TIFF",
	".webp", ".WEBP",
}

// folderExtensions are torchvision's ImageFolder extensions, compared with
// the lower-cased name (the StarGAN reference reads RaFD with ImageFolder).
var folderExtensions = []string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}

func hasExtension(name string, exts []string, lower bool) bool {
	if lower {
		name = strings.ToLower(name)
	}
	for _, e := range exts {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// ListImages returns the image files under dir, recursively, in the order
// of the CycleGAN reference's UnalignedDataset: sorted(make_dataset(dir,
// maxImages)), that is every path sorted as a string (byte order, which for UTF-8
// is Python's code-point order). If maxImages > 0, only the first maxImages files of
// make_dataset's walk are kept before sorting, as the reference's
// max_dataset_size does; that walk visits directories sorted by path and,
// within a directory, files in name order (the reference takes
// os.listdir's order there, which the file system decides; sorting makes the
// choice reproducible). Symbolic links to files are listed; those to
// directories are not followed (os.walk's default).
//
// A missing dir, a dir that is a file, an unreadable subdirectory or no
// image at all is an error that names the path.
func ListImages(dir string, maxImages int) ([]string, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	groups, err := walk(dir, false)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, g := range groups {
		for _, f := range g.files {
			if hasExtension(f, Extensions, false) {
				paths = append(paths, filepath.Join(g.root, f))
			}
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no images found in %s (looked for %s, in subfolders too)", dir, strings.Join(Extensions, " "))
	}
	if maxImages > 0 && len(paths) > maxImages {
		paths = paths[:maxImages]
	}
	slices.Sort(paths)
	return paths, nil
}

// checkDir returns a clear error unless dir is a readable directory.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("image folder %s does not exist", dir)
	case err != nil:
		return fmt.Errorf("image folder: %w", err)
	case !st.IsDir():
		return fmt.Errorf("image folder %s is not a directory", dir)
	}
	return nil
}

// dirFiles is one directory of a walk and the names of its non-directory
// entries, sorted.
type dirFiles struct {
	root  string
	files []string
}

// walk returns what Python's sorted(os.walk(dir, followlinks=follow)) does,
// with each directory's file names sorted: directories sorted by path
// (every directory once, even through symbolic-link cycles). Unlike os.walk,
// which skips them silently, unreadable directories are errors.
func walk(dir string, follow bool) ([]dirFiles, error) {
	var out []dirFiles
	seen := map[string]bool{}
	var visit func(d string) error
	visit = func(d string) error {
		if follow {
			real, err := filepath.EvalSymlinks(d)
			if err != nil {
				return fmt.Errorf("image folder: %w", err)
			}
			if seen[real] {
				return nil
			}
			seen[real] = true
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("image folder: %w", err)
		}
		g := dirFiles{root: d}
		var subdirs []string
		for _, e := range entries {
			p := filepath.Join(d, e.Name())
			isDir, link := e.IsDir(), e.Type()&fs.ModeSymlink != 0
			if link {
				st, err := os.Stat(p)
				isDir = err == nil && st.IsDir()
			}
			switch {
			case !isDir:
				g.files = append(g.files, e.Name())
			case !link || follow:
				subdirs = append(subdirs, p)
			}
		}
		out = append(out, g) // os.ReadDir sorts by name
		for _, s := range subdirs {
			if err := visit(s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(filepath.Clean(dir)); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b dirFiles) int { return strings.Compare(a.root, b.root) })
	return out, nil
}
