package runtime

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// Format is an output image format.
type Format string

// Output formats.
const (
	PNG  Format = "png"
	JPEG Format = "jpeg"
	BMP  Format = "bmp"
	TIFF Format = "tiff"
	PPM  Format = "ppm"
)

// DefaultJPEGQuality is the JPEG quality when EncodeOptions.Quality is 0.
const DefaultJPEGQuality = 95

// ParseFormat returns the format named by s, a name or a file extension
// with or without the dot (png, jpg, jpeg, bmp, tif, tiff, ppm; any case).
func ParseFormat(s string) (Format, error) {
	switch strings.TrimPrefix(strings.ToLower(s), ".") {
	case "png":
		return PNG, nil
	case "jpg", "jpeg":
		return JPEG, nil
	case "bmp":
		return BMP, nil
	case "tif", "tiff":
		return TIFF, nil
	case "ppm":
		return PPM, nil
	}
	return "", fmt.Errorf("unknown output image format %q (want png, jpg, bmp, tiff or ppm)", s)
}

// FormatOf returns the format for path's extension, and PNG for a path
// without an extension.
func FormatOf(path string) (Format, error) {
	ext := filepath.Ext(path)
	if ext == "" {
		return PNG, nil
	}
	return ParseFormat(ext)
}

// Ext returns the format's usual file extension, with the dot.
func (f Format) Ext() string {
	if f == JPEG {
		return ".jpg"
	}
	return "." + string(f)
}

// EncodeOptions configures Encode.
type EncodeOptions struct {
	// Quality is the JPEG quality, 1..100 (0: DefaultJPEGQuality).
	Quality int
}

// Encode writes img to w in format f.
func Encode(w io.Writer, img image.Image, f Format, o EncodeOptions) error {
	switch f {
	case PNG, "":
		return png.Encode(w, img)
	case JPEG:
		q := o.Quality
		if q == 0 {
			q = DefaultJPEGQuality
		}
		if q < 1 || q > 100 {
			return fmt.Errorf("JPEG quality %d is not in 1..100", q)
		}
		return jpeg.Encode(w, img, &jpeg.Options{Quality: q})
	case BMP:
		return bmp.Encode(w, img)
	case TIFF:
		return tiff.Encode(w, img, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
	case PPM:
		return encodePNM(w, img)
	}
	return fmt.Errorf("unknown output image format %q", f)
}

// WriteFile encodes img into path, in the format of path's extension (PNG
// when it has none), atomically: readers see the old file or the whole new
// one, and a failure leaves what was there. Errors name the file.
func WriteFile(path string, img image.Image, o EncodeOptions) error {
	f, err := FormatOf(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, img, f, o) })
}
