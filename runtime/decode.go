package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	// Decoders, registered with package image.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/ganrt/ganrt/internal/regular"
)

// DefaultMaxPixels is the pixel limit when Options.MaxPixels is 0: 4096 x
// 4096. A generator's activations at full resolution take about 1 KiB per
// input pixel (ngf 64), so larger images rarely fit anyway.
const DefaultMaxPixels = 4096 * 4096

// Errors that Decode and DecodeFile wrap, for callers that map them (an HTTP
// server: 413 and 415).
var (
	// ErrPixelLimit: the image header claims more pixels than allowed.
	ErrPixelLimit = errors.New("image exceeds the pixel limit")
	// ErrFormat: the data is not an image in a format ganrt reads.
	ErrFormat = errors.New("not an image in a supported format (png, jpeg, gif, bmp, tiff, webp, ppm/pgm)")
)

// ImageExtensions are the file extensions the reference implementations
// load from folders (lower case; upper case matches too). Folders are
// scanned for these only; files named explicitly may be in any format Decode
// reads.
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff"}

// IsImageFile reports whether path has one of ImageExtensions, in any case.
func IsImageFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	for _, e := range ImageExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

// Decode decodes an image held in memory (see DecodeReader).
func Decode(data []byte, maxPixels int64) (image.Image, string, error) {
	return DecodeReader(bytes.NewReader(data), maxPixels)
}

// DecodeReader decodes an image: png, jpeg, gif (first frame), bmp, tiff,
// webp or netpbm. It reads the header first and returns an error wrapping
// ErrPixelLimit, before decoding any pixel, when width x height exceeds
// maxPixels (0: DefaultMaxPixels; negative: no limit). It returns the image
// and the format name. r is read twice, so it must be an io.ReadSeeker
// positioned at the start of the image.
func DecodeReader(r io.ReadSeeker, maxPixels int64) (_ image.Image, format string, err error) {
	if maxPixels == 0 {
		maxPixels = DefaultMaxPixels
	}
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, "", err
	}
	cfg, format, err := decodeConfig(bufio.NewReader(r))
	if err != nil {
		return nil, format, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, format, fmt.Errorf("%s header: image is %dx%d, has no pixels", format, cfg.Width, cfg.Height)
	}
	if err := checkPixels(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, format, fmt.Errorf("%s header: %w", format, err)
	}
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return nil, format, err
	}
	defer func() {
		// Decoders of rarely used formats have panicked on hostile input
		// before; one bad file must not take down a batch or a server.
		if p := recover(); p != nil {
			err = fmt.Errorf("decode %s: corrupt image (decoder panicked: %v)", format, p)
		}
	}()
	img, _, err := image.Decode(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, format, fmt.Errorf("decode %s: %w", format, err)
	}
	b := img.Bounds()
	if b.Empty() {
		return nil, format, fmt.Errorf("decode %s: image has no pixels", format)
	}
	if err := checkPixels(b.Dx(), b.Dy(), maxPixels); err != nil {
		return nil, format, fmt.Errorf("decode %s: %w", format, err)
	}
	return img, format, nil
}

func decodeConfig(r io.Reader) (cfg image.Config, format string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("read %s header: corrupt image (decoder panicked: %v)", format, p)
		}
	}()
	cfg, format, err = image.DecodeConfig(r)
	switch {
	case errors.Is(err, image.ErrFormat):
		return cfg, "", ErrFormat
	case err != nil:
		return cfg, format, fmt.Errorf("read %s header: %w", format, err)
	}
	return cfg, format, nil
}

func checkPixels(w, h int, maxPixels int64) error {
	if maxPixels > 0 && int64(w)*int64(h) > maxPixels {
		return fmt.Errorf("%w: %dx%d is %d pixels, limit %d", ErrPixelLimit, w, h, int64(w)*int64(h), maxPixels)
	}
	return nil
}

// DecodeFile decodes the image file at path (see DecodeReader); errors name
// the file. A path that is not a regular file (a FIFO, a device, a socket,
// a folder) is refused with ErrNotRegular without blocking (OpenRegular).
func DecodeFile(path string, maxPixels int64) (image.Image, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := DecodeReader(f, maxPixels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// ErrNotRegular is wrapped by the error for a path that is not a regular
// file: reading a FIFO or a device named like an image would block or never
// end. translate skips such files with a note.
var ErrNotRegular = regular.ErrNotRegular

// OpenRegular opens path for reading without blocking and refuses anything
// but a regular file (regular.Open).
func OpenRegular(path string) (*os.File, error) { return regular.Open(path) }
