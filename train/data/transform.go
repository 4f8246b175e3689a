package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Preprocess is a CycleGAN --preprocess mode.
type Preprocess string

// The reference's preprocess modes.
const (
	// ResizeAndCrop resizes to LoadSize x LoadSize (bicubic), then crops
	// CropSize x CropSize at a random position. The default.
	ResizeAndCrop Preprocess = "resize_and_crop"
	// Crop crops CropSize x CropSize at a random position.
	Crop Preprocess = "crop"
	// ScaleWidth resizes (bicubic) to width LoadSize and height
	// int(max(LoadSize*h/w, CropSize)), unless the width is LoadSize
	// already and the height at least CropSize.
	ScaleWidth Preprocess = "scale_width"
	// ScaleWidthAndCrop is ScaleWidth followed by a random CropSize crop.
	ScaleWidthAndCrop Preprocess = "scale_width_and_crop"
	// None keeps the size, rounded (half to even, bicubic) to multiples of 4.
	None Preprocess = "none"
)

// Preprocesses lists the modes.
var Preprocesses = []Preprocess{ResizeAndCrop, Crop, ScaleWidth, ScaleWidthAndCrop, None}

// Transform is the CycleGAN reference's get_transform: optional grayscale
// (PIL "L"), resize or scale to width, random crop, rounding to multiples
// of 4 for None, random horizontal flip (probability 1/2) unless NoFlip;
// Image.Tensor then makes the [C, H, W] tensor in [-1, 1].
type Transform struct {
	Preprocess         Preprocess
	LoadSize, CropSize int
	NoFlip             bool
	// Gray converts to one channel first (the reference does when the
	// side's channel count, input_nc or output_nc, is 1).
	Gray bool
}

// Validate reports options the reference would fail on at every image.
func (t Transform) Validate() error {
	switch t.Preprocess {
	case ResizeAndCrop, ScaleWidthAndCrop:
		if t.CropSize > t.LoadSize {
			return fmt.Errorf("crop size %d is larger than load size %d (preprocess %s)", t.CropSize, t.LoadSize, t.Preprocess)
		}
	case Crop, ScaleWidth, None:
	default:
		return fmt.Errorf("unknown preprocess %q (want one of %s)", t.Preprocess, joinModes())
	}
	if t.LoadSize < 1 || t.CropSize < 1 {
		return fmt.Errorf("load size %d and crop size %d must be positive", t.LoadSize, t.CropSize)
	}
	return nil
}

func joinModes() string {
	s := make([]string, len(Preprocesses))
	for i, p := range Preprocesses {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// Apply transforms an RGB image, drawing the crop position (top, then
// left) and then the flip from rng, in that order. The bicubic resize of
// ResizeAndCrop computes only the cropped window (the values are those of
// the full resize). An image smaller than the crop is an error, as in the
// reference.
func (t Transform) Apply(im *Image, rng *rand.Rand) (*Image, error) {
	if t.Gray {
		im = im.Gray()
	}
	switch t.Preprocess {
	case ResizeAndCrop:
		y, x, err := cropPos(t.LoadSize, t.LoadSize, t.CropSize, rng)
		if err != nil {
			return nil, err
		}
		im = resizeWindow(im, t.LoadSize, t.LoadSize, Bicubic, x, y, t.CropSize, t.CropSize)
	case ScaleWidth, ScaleWidthAndCrop:
		if im.W != t.LoadSize || im.H < t.CropSize {
			h := int(math.Max(float64(t.LoadSize*im.H)/float64(im.W), float64(t.CropSize)))
			im = Resize(im, t.LoadSize, h, Bicubic)
		}
	}
	switch t.Preprocess {
	case Crop, ScaleWidthAndCrop:
		y, x, err := cropPos(im.W, im.H, t.CropSize, rng)
		if err != nil {
			return nil, err
		}
		if x != 0 || y != 0 || im.W != t.CropSize || im.H != t.CropSize {
			im = im.Crop(x, y, t.CropSize, t.CropSize)
		}
	case None:
		w := int(math.RoundToEven(float64(im.W)/4) * 4)
		h := int(math.RoundToEven(float64(im.H)/4) * 4)
		if w == 0 || h == 0 {
			return nil, fmt.Errorf("image of %dx%d rounds to %dx%d (preprocess none rounds sides to multiples of 4)", im.W, im.H, w, h)
		}
		if w != im.W || h != im.H {
			im = Resize(im, w, h, Bicubic)
		}
	}
	if !t.NoFlip && rng.Float64() < 0.5 {
		im = im.FlipH()
	}
	return im, nil
}

// cropPos draws the top-left corner of a size x size crop of a w x h image
// as torchvision's RandomCrop does (top, then left, uniform).
func cropPos(w, h, size int, rng *rand.Rand) (y, x int, err error) {
	if w < size || h < size {
		return 0, 0, fmt.Errorf("image of %dx%d is smaller than the crop size %d", w, h, size)
	}
	if w == size && h == size {
		return 0, 0, nil
	}
	y = rng.IntN(h - size + 1)
	x = rng.IntN(w - size + 1)
	return y, x, nil
}

// CenterTransform is the StarGAN reference's transform: random horizontal
// flip (probability 1/2) when Flip (training), center crop CropSize
// (torchvision's CenterCrop, zero padding around smaller images), resize of
// the shorter side to ImageSize (torchvision's Resize default, PIL
// BILINEAR); Image.Tensor then makes the [3, H, W] tensor in [-1, 1].
type CenterTransform struct {
	CropSize, ImageSize int
	Flip                bool
}

// Validate checks the sizes.
func (t CenterTransform) Validate() error {
	if t.CropSize < 1 || t.ImageSize < 1 {
		return fmt.Errorf("crop size %d and image size %d must be positive", t.CropSize, t.ImageSize)
	}
	return nil
}

// Apply transforms an RGB image, drawing the flip from rng.
func (t CenterTransform) Apply(im *Image, rng *rand.Rand) *Image {
	if t.Flip && rng.Float64() < 0.5 {
		im = im.FlipH()
	}
	im = centerCrop(im, t.CropSize)
	// The shorter side becomes ImageSize; the longer keeps the aspect.
	w, h := im.W, im.H
	short, long := min(w, h), max(w, h)
	newLong := int(float64(t.ImageSize*long) / float64(short))
	nw, nh := t.ImageSize, newLong
	if w > h {
		nw, nh = newLong, t.ImageSize
	}
	if nw != w || nh != h {
		im = Resize(im, nw, nh, Bilinear)
	}
	return im
}

// centerCrop is torchvision's center_crop for a size x size crop: the
// offset is round((side - size) / 2) (half to even, as Python rounds), and
// an image smaller than the crop is first padded with black, (size-side)/2
// on the left or top.
func centerCrop(im *Image, size int) *Image {
	if im.W == size && im.H == size {
		return im
	}
	if im.W < size || im.H < size {
		var padL, padT, padR, padB int
		if size > im.W {
			padL, padR = (size-im.W)/2, (size-im.W+1)/2
		}
		if size > im.H {
			padT, padB = (size-im.H)/2, (size-im.H+1)/2
		}
		im = im.Crop(-padL, -padT, im.W+padL+padR, im.H+padT+padB)
		if im.W == size && im.H == size {
			return im
		}
	}
	top := int(math.RoundToEven(float64(im.H-size) / 2))
	left := int(math.RoundToEven(float64(im.W-size) / 2))
	return im.Crop(left, top, size, size)
}
