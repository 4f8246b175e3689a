package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"strconv"
)

// The netpbm formats the reference reads (.ppm, and .pgm beside it): binary
// P6/P5 and plain-text P3/P2, maxval 1..65535. Samples are scaled to 8 or 16
// bits. Written here because the Go netpbm packages on the module proxy are
// unmaintained and do not scale maxval.

func init() {
	for _, magic := range []string{"P2", "P3", "P5", "P6"} {
		image.RegisterFormat("netpbm", magic, decodePNM, decodePNMConfig)
	}
}

type pnmHeader struct {
	magic  byte // '2', '3', '5' or '6'
	w, h   int
	maxval int
}

var errPNM = errors.New("netpbm: bad header")

// readPNMHeader reads the magic number, width, height and maxval, and the
// single whitespace byte that ends the header.
func readPNMHeader(r *bufio.Reader) (pnmHeader, error) {
	var magic [2]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return pnmHeader{}, fmt.Errorf("netpbm: read magic: %w", err)
	}
	h := pnmHeader{magic: magic[1]}
	if magic[0] != 'P' || (h.magic != '2' && h.magic != '3' && h.magic != '5' && h.magic != '6') {
		return pnmHeader{}, fmt.Errorf("netpbm: unsupported magic %q (want P2, P3, P5 or P6)", magic[:])
	}
	var vals [3]int
	for i := range vals {
		v, err := pnmInt(r, true)
		if err != nil {
			return pnmHeader{}, err
		}
		vals[i] = v
	}
	h.w, h.h, h.maxval = vals[0], vals[1], vals[2]
	if h.w <= 0 || h.h <= 0 || h.w > 1<<24 || h.h > 1<<24 {
		return pnmHeader{}, fmt.Errorf("netpbm: bad size %dx%d", h.w, h.h)
	}
	if h.maxval <= 0 || h.maxval > 65535 {
		return pnmHeader{}, fmt.Errorf("netpbm: bad maxval %d", h.maxval)
	}
	return h, nil
}

// pnmInt reads a decimal number after optional whitespace and comments; in
// the header (header true) it consumes the one whitespace byte after it.
func pnmInt(r *bufio.Reader, header bool) (int, error) {
	var c byte
	var err error
	for {
		if c, err = r.ReadByte(); err != nil {
			return 0, fmt.Errorf("netpbm: %w", noEOF(err))
		}
		if c == '#' {
			if _, err := r.ReadSlice('\n'); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return 0, fmt.Errorf("netpbm: %w", noEOF(err))
			}
			continue
		}
		if !isSpace(c) {
			break
		}
	}
	if c < '0' || c > '9' {
		return 0, errPNM
	}
	n := 0
	for {
		n = n*10 + int(c-'0')
		if n > 1<<30 {
			return 0, errPNM
		}
		if c, err = r.ReadByte(); err != nil {
			if errors.Is(err, io.EOF) && !header {
				return n, nil
			}
			return 0, fmt.Errorf("netpbm: %w", noEOF(err))
		}
		if isSpace(c) {
			return n, nil
		}
		if c < '0' || c > '9' {
			if !header && c == '#' {
				return n, r.UnreadByte()
			}
			return 0, errPNM
		}
	}
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func decodePNMConfig(r io.Reader) (image.Config, error) {
	h, err := readPNMHeader(bufio.NewReader(r))
	if err != nil {
		return image.Config{}, err
	}
	cfg := image.Config{Width: h.w, Height: h.h}
	switch gray, wide := h.magic == '2' || h.magic == '5', h.maxval > 255; {
	case gray && wide:
		cfg.ColorModel = color.Gray16Model
	case gray:
		cfg.ColorModel = color.GrayModel
	case wide:
		cfg.ColorModel = color.RGBA64Model
	default:
		cfg.ColorModel = color.RGBAModel
	}
	return cfg, nil
}

// decodePNM decodes into *image.Gray, *image.Gray16, *image.RGBA or
// *image.RGBA64 (opaque), by channels and maxval.
func decodePNM(r io.Reader) (image.Image, error) {
	br := bufio.NewReader(r)
	h, err := readPNMHeader(br)
	if err != nil {
		return nil, err
	}
	channels := 3
	if h.magic == '2' || h.magic == '5' {
		channels = 1
	}
	wide := h.maxval > 255
	rect := image.Rect(0, 0, h.w, h.h)
	var pix []byte // 1 or 2 bytes per sample, big-endian, 1 or 4 samples per pixel
	var img image.Image
	switch {
	case channels == 1 && wide:
		m := image.NewGray16(rect)
		pix, img = m.Pix, m
	case channels == 1:
		m := image.NewGray(rect)
		pix, img = m.Pix, m
	case wide:
		m := image.NewRGBA64(rect)
		pix, img = m.Pix, m
	default:
		m := image.NewRGBA(rect)
		pix, img = m.Pix, m
	}
	bps := 1 // bytes per sample
	max16 := 255
	if wide {
		bps, max16 = 2, 65535
	}
	stride := 1
	if channels == 3 {
		stride = 4
	}
	put := func(i, v int) { // sample v (0..maxval) at pixel-sample index i
		if v > h.maxval {
			v = h.maxval
		}
		if h.maxval != max16 {
			v = (v*max16 + h.maxval/2) / h.maxval
		}
		if bps == 2 {
			pix[2*i], pix[2*i+1] = byte(v>>8), byte(v)
		} else {
			pix[i] = byte(v)
		}
	}
	raw := h.magic == '5' || h.magic == '6'
	row := make([]byte, h.w*channels*bps)
	for y := 0; y < h.h; y++ {
		if raw {
			if _, err := io.ReadFull(br, row); err != nil {
				return nil, fmt.Errorf("netpbm: pixel data: %w", noEOF(err))
			}
		}
		for x := 0; x < h.w; x++ {
			for c := 0; c < channels; c++ {
				var v int
				switch s := x*channels + c; {
				case !raw:
					if v, err = pnmInt(br, false); err != nil {
						return nil, err
					}
				case bps == 2:
					v = int(row[2*s])<<8 | int(row[2*s+1])
				default:
					v = int(row[s])
				}
				put((y*h.w+x)*stride+c, v)
			}
			if channels == 3 {
				put((y*h.w+x)*stride+3, h.maxval) // opaque
			}
		}
	}
	return img, nil
}

// encodePNM writes img as a binary 8-bit PPM (P6).
func encodePNM(w io.Writer, img image.Image) error {
	b := img.Bounds()
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("P6\n" + strconv.Itoa(b.Dx()) + " " + strconv.Itoa(b.Dy()) + "\n255\n"); err != nil {
		return err
	}
	row := make([]byte, 3*b.Dx())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		if m, ok := img.(*image.RGBA); ok {
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range b.Dx() {
				copy(row[3*x:3*x+3], p[4*x:4*x+3])
			}
		} else {
			for x := range b.Dx() {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, y)).(color.NRGBA)
				row[3*x], row[3*x+1], row[3*x+2] = c.R, c.G, c.B
			}
		}
		if _, err := bw.Write(row); err != nil {
			return err
		}
	}
	return bw.Flush()
}
