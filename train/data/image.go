package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registers GIF (PIL opens it; not listed by default)
	_ "image/jpeg"
	_ "image/png"
	"os"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Image is an 8-bit image laid out as PIL keeps mode "RGB" (C = 3) or "L"
// (C = 1): rows top to bottom, pixels left to right, channels interleaved,
// so channel c of pixel (x, y) is Pix[(y*W+x)*C+c], each in [0, 255].
type Image struct {
	W, H, C int
	Pix     []uint8
}

// NewImage returns a black w x h image with c channels (1 or 3).
func NewImage(w, h, c int) *Image {
	return &Image{W: w, H: h, C: c, Pix: make([]uint8, w*h*c)}
}

// Load reads and decodes the image file at path and converts it to RGB as
// the references' Image.open(path).convert("RGB") does. The format is
// recognized from the content, not the name: JPEG, PNG, BMP, TIFF, WebP,
// GIF (first frame) and PPM/PGM/PBM. Every format but JPEG gives PIL's
// values exactly (PNG, BMP, PNM, TIFF and WebP, lossy or lossless, are
// checked against Pillow 9.4); JPEG's chroma upsampling and colour
// conversion are libjpeg's, but Go's IDCT rounds differently, so values
// differ by up to 3. Images over MaxPixels are refused before decoding.
//
// Conversion follows PIL: alpha is dropped (not composited), palettes are
// looked up, 16-bit colour samples keep their high byte, and 16-bit
// grayscale (PIL mode "I") is clipped to 255 as PIL clips it.
func Load(path string) (*Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	im, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return im, nil
}

// Decode decodes an encoded image (see Load) into RGB.
func Decode(b []byte) (*Image, error) {
	if isPNM(b) {
		return decodePNM(b)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if err := checkPixels(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	src, format, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if src.Bounds().Empty() {
		return nil, errors.New("empty image")
	}
	switch s := src.(type) {
	case *image.YCbCr:
		if im, ok := convertYCbCr(s, format); ok {
			return im, nil
		}
	case *image.NYCbCrA: // WebP with alpha: the alpha is dropped
		if im, ok := convertYCbCr(&s.YCbCr, format); ok {
			return im, nil
		}
	}
	return toRGB(src), nil
}

func convertYCbCr(s *image.YCbCr, format string) (*Image, bool) {
	switch format {
	case "jpeg":
		return jpegToRGB(s)
	case "webp":
		return webpToRGB(s)
	}
	return nil, false
}

// MaxPixels is the largest image Load decodes: twice PIL's
// MAX_IMAGE_PIXELS, above which PIL refuses to open an image
// (DecompressionBombError).
const MaxPixels = 2 * (1024 * 1024 * 1024 / 4 / 3)

func checkPixels(w, h int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("invalid image size %dx%d", w, h)
	}
	if int64(w)*int64(h) > MaxPixels {
		return fmt.Errorf("image of %dx%d pixels exceeds the limit of %d pixels", w, h, MaxPixels)
	}
	return nil
}

// FromImage converts an already decoded image to RGB with PIL's
// convert("RGB") rules, as Load does (YCbCr images take Go's conversion,
// not libjpeg's or libwebp's: decode with Load or Decode for those).
func FromImage(src image.Image) *Image { return toRGB(src) }

// RGBA returns the image as an opaque *image.RGBA; a gray image's value
// goes to all three channels.
func (im *Image) RGBA() *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, im.W, im.H))
	for i := range im.W * im.H {
		v := im.Pix[i*im.C : i*im.C+im.C]
		if im.C == 1 {
			v = []uint8{v[0], v[0], v[0]}
		}
		copy(out.Pix[4*i:], v)
		out.Pix[4*i+3] = 0xff
	}
	return out
}

// toRGB converts a decoded image to RGB with PIL's convert("RGB") rules.
func toRGB(src image.Image) *Image {
	r := src.Bounds()
	w, h := r.Dx(), r.Dy()
	out := NewImage(w, h, 3)
	p := out.Pix
	switch s := src.(type) {
	case *image.RGBA: // opaque in practice (PNG/BMP/TIFF without alpha)
		for y := 0; y < h; y++ {
			row := s.Pix[(y)*s.Stride:]
			for x := 0; x < w; x++ {
				o := (y*w + x) * 3
				if a := row[x*4+3]; a == 255 {
					p[o], p[o+1], p[o+2] = row[x*4], row[x*4+1], row[x*4+2]
				} else {
					c := color.NRGBAModel.Convert(color.RGBA{row[x*4], row[x*4+1], row[x*4+2], a}).(color.NRGBA)
					p[o], p[o+1], p[o+2] = c.R, c.G, c.B
				}
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			for x := 0; x < w; x++ {
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = row[x*4], row[x*4+1], row[x*4+2]
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			for x := 0; x < w; x++ {
				o := (y*w + x) * 3
				v := row[x]
				p[o], p[o+1], p[o+2] = v, v, v
			}
		}
	case *image.Gray16:
		// PIL opens 16-bit grayscale as mode "I" and clips it to 8 bits.
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			for x := 0; x < w; x++ {
				v16 := uint16(row[2*x])<<8 | uint16(row[2*x+1])
				v := uint8(min(v16, 255))
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = v, v, v
			}
		}
	case *image.Paletted:
		pal := make([][3]uint8, len(s.Palette))
		for i, c := range s.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [3]uint8{n.R, n.G, n.B}
		}
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			for x := 0; x < w; x++ {
				var c [3]uint8
				if i := int(row[x]); i < len(pal) {
					c = pal[i]
				}
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		// PIL's cmyk2rgb.
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			for x := 0; x < w; x++ {
				nk := 255 - int(row[x*4+3])
				o := (y*w + x) * 3
				for c := 0; c < 3; c++ {
					p[o+c] = clip8(nk - mulDiv255(int(row[x*4+c]), nk))
				}
			}
		}
	default:
		// YCbCr (JPEG, WebP), 16-bit colour and the rest: Go's conversion to
		// non-premultiplied 8-bit colour keeps the high byte of 16-bit data.
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(src.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
				o := (y*w + x) * 3
				p[o], p[o+1], p[o+2] = c.R, c.G, c.B
			}
		}
	}
	return out
}

// mulDiv255 is PIL's MULDIV255: a*b/255 rounded.
func mulDiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

func clip8(v int) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// Gray returns the image converted to one channel as PIL's convert("L")
// does (ITU-R 601-2 luma in 16-bit fixed point:
// (19595 R + 38470 G + 7471 B + 32768) >> 16). A one-channel image is
// returned as is.
func (im *Image) Gray() *Image {
	if im.C == 1 {
		return im
	}
	out := NewImage(im.W, im.H, 1)
	for i := range out.Pix {
		r, g, b := uint32(im.Pix[3*i]), uint32(im.Pix[3*i+1]), uint32(im.Pix[3*i+2])
		out.Pix[i] = uint8((r*19595 + g*38470 + b*7471 + 0x8000) >> 16)
	}
	return out
}

// Crop returns the w x h region whose top-left corner is (x, y), as PIL's
// img.crop((x, y, x+w, y+h)): parts outside the image are black.
func (im *Image) Crop(x, y, w, h int) *Image {
	out := NewImage(w, h, im.C)
	c := im.C
	for oy := 0; oy < h; oy++ {
		sy := y + oy
		if sy < 0 || sy >= im.H {
			continue
		}
		x0, x1 := max(x, 0), min(x+w, im.W)
		if x0 >= x1 {
			continue
		}
		copy(out.Pix[(oy*w+x0-x)*c:(oy*w+x1-x)*c], im.Pix[(sy*im.W+x0)*c:(sy*im.W+x1)*c])
	}
	return out
}

// FlipH returns the image mirrored left to right (PIL's FLIP_LEFT_RIGHT).
func (im *Image) FlipH() *Image {
	out := NewImage(im.W, im.H, im.C)
	c := im.C
	for y := 0; y < im.H; y++ {
		row := im.Pix[y*im.W*c : (y+1)*im.W*c]
		orow := out.Pix[y*im.W*c : (y+1)*im.W*c]
		for x := 0; x < im.W; x++ {
			copy(orow[(im.W-1-x)*c:(im.W-x)*c], row[x*c:(x+1)*c])
		}
	}
	return out
}

// norm maps a byte to torchvision's ToTensor + Normalize(0.5, 0.5) in
// float32, (v/255 - 0.5) / 0.5, computed in float32 as torch does.
var norm = func() (t [256]float32) {
	for v := range t {
		x := float32(v) / 255
		t[v] = (x - 0.5) / 0.5
	}
	return
}()

// Tensor writes the image as float32 [C, H, W] in [-1, 1] into dst (which
// must hold C*H*W values), with torchvision's ToTensor and
// Normalize((0.5,)*C, (0.5,)*C) arithmetic: (v/255 - 0.5) / 0.5 in float32.
func (im *Image) Tensor(dst []float32) {
	plane := im.W * im.H
	_ = dst[im.C*plane-1]
	for c := 0; c < im.C; c++ {
		d := dst[c*plane : (c+1)*plane]
		for i := range d {
			d[i] = norm[im.Pix[i*im.C+c]]
		}
	}
}
