package runtime

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/onnxpb"
)

// setMeta returns an edit that sets metadata key to value.
func setMeta(key, value string) func(*onnxpb.ModelProto) {
	return func(mp *onnxpb.ModelProto) {
		for _, e := range mp.MetadataProps {
			if e.GetKey() == key {
				e.Value = proto.String(value)
				return
			}
		}
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(key), Value: proto.String(value)})
	}
}

// fixDims returns an edit that fixes the image input's dimensions: dims
// maps a dimension index (0 batch, 2 height, 3 width) to its size.
func fixDims(dims map[int]int64) func(*onnxpb.ModelProto) {
	return func(mp *onnxpb.ModelProto) {
		for _, in := range mp.Graph.Input {
			if in.GetName() != export.InputImage {
				continue
			}
			d := in.GetType().GetTensorType().GetShape().GetDim()
			for i, v := range dims {
				d[i].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}
			}
		}
	}
}

// TestHostileSizes opens models whose metadata or input shape claims sizes
// that would make buffers of terabytes (or overflow); Open refuses each,
// naming the file and the value, before any image is seen.
func TestHostileSizes(t *testing.T) {
	requireORT(t)
	cyc := cycleModel(t)
	for _, tc := range []struct {
		name string
		edit func(*onnxpb.ModelProto)
		o    Options
		want string
	}{
		{"multiple 100000", setMeta(export.MetaMultiple, "100000"), Options{}, `"100000" is not an integer in 1..1024`},
		{"multiple 2^30", setMeta(export.MetaMultiple, "1073741824"), Options{}, `"1073741824" is not an integer in 1..1024`},
		{"multiple 2^63", setMeta(export.MetaMultiple, "9223372036854775807"), Options{}, "not an integer in 1..1024"},
		{"multiple 0", setMeta(export.MetaMultiple, "0"), Options{}, `"0" is not an integer`},
		{"multiple -4", setMeta(export.MetaMultiple, "-4"), Options{}, `"-4" is not an integer`},
		{"multiple 6", setMeta(export.MetaMultiple, "6"), Options{}, "= 6 does not suit the network, whose sides must be multiples of 4"},
		{"fixed 100000x100000", fixDims(map[int]int64{2: 100000, 3: 100000}), Options{}, "fixes a side at 100000 pixels; this ganrt takes at most 32768"},
		{"fixed 2^40 high", fixDims(map[int]int64{2: 1 << 40}), Options{MaxPixels: -1}, "fixes a side at 1099511627776 pixels"},
		{"fixed side not a multiple", fixDims(map[int]int64{2: 30, 3: 32}), Options{}, "fixes a side at 30 pixels, not a multiple of the model's 4"},
		{"fixed 8192x8192 over the limit", fixDims(map[int]int64{2: 8192, 3: 8192}), Options{}, "input is fixed at 8192x8192, 67108864 pixels"},
		{"fixed batch 100000", fixDims(map[int]int64{0: 100000}), Options{}, "fixes the batch at 100000; this ganrt takes at most 1024"},
		{"fixed batch over the limit", fixDims(map[int]int64{0: 64, 2: 1024, 3: 1024}), Options{}, "in a batch fixed at 64, 67108864 pixels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := rewriteModel(t, cyc, tc.edit)
			tr, err := Open(path, tc.o)
			if err == nil {
				tr.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant one naming %s and saying %q", err, path, tc.want)
			}
			t.Log(err)
		})
	}

	// The same fixed sizes open without a pixel limit (the side bound holds).
	tr := open(t, rewriteModel(t, cyc, fixDims(map[int]int64{2: 8192, 3: 8192})), Options{MaxPixels: -1})
	if i := tr.Info(); i.Height != 8192 || i.Width != 8192 {
		t.Errorf("Info() sizes %dx%d; want 8192x8192", i.Width, i.Height)
	}

	// --size is bounded like a fixed side.
	for _, tc := range []struct {
		size int
		want string
	}{
		{100000, "size 100000: at most 32768"},
		{8192, "size 8192 makes 8192x8192 images, 67108864 pixels"},
	} {
		tr, err := Open(cyc, Options{Size: tc.size})
		if err == nil {
			tr.Close()
			t.Errorf("Open with size %d succeeded", tc.size)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("size %d: err = %v; want %q", tc.size, err, tc.want)
		}
	}
}

// TestPaddedPixelLimit checks that the pixel limit applies to the tensor
// the model runs on (padded, resized, every slot of a fixed batch), not
// only to the decoded image.
func TestPaddedPixelLimit(t *testing.T) {
	requireORT(t)
	cyc := cycleModel(t)

	// 10x10 is 100 pixels; a ResNet generator pads it to 12x12 (sides of at
	// least 8, multiples of 4): 144.
	tr := open(t, cyc, Options{MaxPixels: 100})
	_, err := tr.Translate(bg, randomRGBA(10, 10, 1), nil)
	if !errors.Is(err, ErrPixelLimit) || !strings.Contains(err.Error(), "padded to 12x12") {
		t.Errorf("10x10 with limit 100: err = %v; want ErrPixelLimit for the padded 12x12", err)
	}
	// 12x12 needs no padding: 144 pixels under a limit of 144 runs.
	tr144 := open(t, cyc, Options{MaxPixels: 144})
	if _, err := tr144.Translate(bg, randomRGBA(12, 12, 1), nil); err != nil {
		t.Errorf("12x12 with limit 144: %v", err)
	}
	// A tall sliver within the limit pads its short side to 8.
	if _, err := tr144.Translate(bg, randomRGBA(144, 1, 1), nil); !errors.Is(err, ErrPixelLimit) || !strings.Contains(err.Error(), "padded to 144x8") {
		t.Errorf("144x1 with limit 144: err = %v; want ErrPixelLimit for the padded 144x8", err)
	}

	// A batch fixed at 64 with dynamic sides: each image runs in 64 slots.
	b64 := open(t, rewriteModel(t, cyc, fixDims(map[int]int64{0: 64})), Options{})
	_, err = b64.Translate(bg, randomRGBA(1024, 1024, 1), nil)
	if !errors.Is(err, ErrPixelLimit) || !strings.Contains(err.Error(), "64 slots") {
		t.Errorf("1024x1024 in a batch fixed at 64: err = %v; want ErrPixelLimit naming the 64 slots", err)
	}

	// One side fixed at 256, the other dynamic: a 65536x8 image (within
	// the limit) would be resized to 65536x256. Fit leaves it alone and
	// Translate refuses it, before resizing.
	tall := open(t, rewriteModel(t, cyc, fixDims(map[int]int64{2: 256})), Options{MaxPixels: 1 << 20})
	wide := image.NewRGBA(image.Rect(0, 0, 65536, 8))
	if got := tall.Fit(wide); got != image.Image(wide) {
		t.Errorf("Fit resized an image to %v, over the limit", got.Bounds())
	}
	_, err = tall.Translate(bg, wide, nil)
	if !errors.Is(err, ErrPixelLimit) || !strings.Contains(err.Error(), "resized from 65536x8") {
		t.Errorf("65536x8 to height 256: err = %v; want ErrPixelLimit for the resized image", err)
	}
	// Grids check the same way.
	if _, err := tall.TranslateBatch(bg, []image.Image{wide}, nil); !errors.Is(err, ErrPixelLimit) {
		t.Errorf("TranslateBatch: err = %v; want ErrPixelLimit", err)
	}
}

// TestExternalWeights moves the generator's weights into weights.bin beside
// the model in models/sub/ and opens it by path from another working
// directory: the translation is the inline model's.
func TestExternalWeights(t *testing.T) {
	requireORT(t)
	cyc := cycleModel(t)
	root := t.TempDir()
	sub := filepath.Join(root, "models", "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	var weights []byte
	edited := rewriteModel(t, cyc, func(mp *onnxpb.ModelProto) {
		for _, in := range mp.Graph.Initializer {
			if len(in.RawData) == 0 {
				continue
			}
			in.ExternalData = []*onnxpb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String("weights.bin")},
				{Key: proto.String("offset"), Value: proto.String(strconv.Itoa(len(weights)))},
				{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(in.RawData)))},
			}
			in.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			weights = append(weights, in.RawData...)
			in.RawData = nil
		}
	})
	if len(weights) == 0 {
		t.Fatal("no raw weights to move")
	}
	path := filepath.Join(sub, "model.onnx")
	if err := os.Rename(edited, path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "weights.bin"), weights, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	img := randomRGBA(12, 9, 3)
	want, err := open(t, cyc, Options{}).Translate(bg, img, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := open(t, filepath.Join("models", "sub", "model.onnx"), Options{}).Translate(bg, img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got, want); d != 0 {
		t.Errorf("external weights: max difference %d from the inline model; want 0", d)
	}
	t.Logf("%d bytes of weights in weights.bin", len(weights))
}
