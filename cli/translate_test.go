package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ganrt/ganrt/export"
	"github.com/ganrt/ganrt/internal/imagegrid"
	"github.com/ganrt/ganrt/internal/ort"
)

// requireORT fails the test when the ONNX Runtime library is missing.
func requireORT(t *testing.T) {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Fatalf("these tests need the ONNX Runtime library; run `make ort` in the repository root: %v", err)
	}
}

// exportModel exports a golden checkpoint to dir/name as ONNX.
func exportModel(t *testing.T, dir, name, ckpt string, domains []string) string {
	t.Helper()
	m, err := export.Load(ckpt, export.Overrides{Domains: domains})
	if err != nil {
		t.Fatal(err)
	}
	data, err := export.ONNX(m, export.ONNXOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func cycleModelFile(t *testing.T) string {
	return exportModel(t, t.TempDir(), "cyclegan.onnx", "../testdata/golden/cyclegan_resnet6_ngf8.pth", nil)
}

func starModelFile(t *testing.T) string {
	return exportModel(t, t.TempDir(), "stargan.onnx", "../testdata/golden/stargan_g_c5.pth",
		[]string{"Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"})
}

// runCLI runs ganrt with args and returns its stdout and stderr.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	app := New()
	var stdout, stderr bytes.Buffer
	app.Writer, app.ErrWriter = &stdout, &stderr
	err := app.RunContext(context.Background(), interspersed(app, append([]string{"ganrt"}, args...)))
	return stdout.String(), stderr.String(), err
}

func noise(w, h int, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 3))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			m.Pix[i] = 0xff
		}
	}
	return m
}

func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	var err error
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readImage(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// sessionReference translates img the obvious way around a bare ORT
// session: straight RGB via At, x/127.5-1, reflect padding to a multiple
// of 4 (at least minSide), run, crop, round((y+1)*127.5).
func sessionReference(t *testing.T, model string, img image.Image, minSide int, label []float32) *image.RGBA {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	up := func(v int) int { return (max(v, minSide) + 3) / 4 * 4 }
	pw, ph := up(w), up(h)
	left, top := (pw-w)/2, (ph-h)/2
	mirror := func(i, n int) int {
		for i < 0 || i >= n {
			if n == 1 {
				return 0
			}
			if i < 0 {
				i = -i
			}
			if i >= n {
				i = 2*(n-1) - i
			}
		}
		return i
	}
	// The colour of a pixel as PIL's convert("RGB") gives it: straight
	// colour where there is alpha, 8-bit YCbCr conversion.
	at := func(x, y int) color.NRGBA64 {
		switch m := img.(type) {
		case *image.NRGBA:
			c := m.NRGBAAt(x, y)
			return color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, 0xffff}
		case *image.YCbCr:
			c := m.YCbCrAt(x, y)
			r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
			return color.NRGBA64{uint16(r) * 257, uint16(g) * 257, uint16(b) * 257, 0xffff}
		}
		return color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
	}
	x := ort.NewTensor(1, 3, int64(ph), int64(pw))
	for yy := range ph {
		for xx := range pw {
			c := at(b.Min.X+mirror(xx-left, w), b.Min.Y+mirror(yy-top, h))
			for ch, v := range []uint16{c.R, c.G, c.B} {
				x.Data[(ch*ph+yy)*pw+xx] = float32(float64(v)/257/127.5 - 1)
			}
		}
	}
	data, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(data, ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := []ort.Tensor{x}
	if label != nil {
		in = append(in, ort.Tensor{Shape: []int64{1, int64(len(label))}, Data: label})
	}
	out, err := s.RunAlloc(in)
	if err != nil {
		t.Fatal(err)
	}
	y := out[0].Data
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for yy := range h {
		for xx := range w {
			var px [3]uint8
			for ch := range 3 {
				v := math.Round((float64(y[(ch*ph+yy+top)*pw+xx+left]) + 1) * 127.5)
				px[ch] = uint8(max(0, min(255, v)))
			}
			m.SetRGBA(xx, yy, color.RGBA{px[0], px[1], px[2], 255})
		}
	}
	return m
}

// maxPixelDiff is the largest colour difference of two images of one size.
func maxPixelDiff(t *testing.T, a, b image.Image) int {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("sizes %v and %v differ", a.Bounds().Size(), b.Bounds().Size())
	}
	d := 0
	for y := range a.Bounds().Dy() {
		for x := range a.Bounds().Dx() {
			p := color.NRGBAModel.Convert(a.At(a.Bounds().Min.X+x, a.Bounds().Min.Y+y)).(color.NRGBA)
			q := color.NRGBAModel.Convert(b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y)).(color.NRGBA)
			for _, e := range [][2]uint8{{p.R, q.R}, {p.G, q.G}, {p.B, q.B}} {
				d = max(d, int(e[0])-int(e[1]), int(e[1])-int(e[0]))
			}
		}
	}
	return d
}

// hugePNGHeader is a valid PNG signature and IHDR claiming w x h pixels.
func hugePNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := make([]byte, 17)
	copy(chunk, "IHDR")
	binary.BigEndian.PutUint32(chunk[4:], w)
	binary.BigEndian.PutUint32(chunk[8:], h)
	chunk[12], chunk[13] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// TestTranslateFolder translates a folder of assorted images (sizes that
// are not multiples of 4, grayscale, 16-bit, alpha, JPEG, a sub-folder)
// with bad files among them, and checks sizes, numbers and the error count.
func TestTranslateFolder(t *testing.T) {
	requireORT(t)
	model := cycleModelFile(t)
	in := filepath.Join(t.TempDir(), "in")
	out := filepath.Join(t.TempDir(), "out")
	gray16 := image.NewGray16(image.Rect(0, 0, 15, 9))
	for i := range gray16.Pix {
		gray16.Pix[i] = uint8(i * 37)
	}
	alpha := noise(10, 6, 4)
	for i := 3; i < len(alpha.Pix); i += 8 {
		alpha.Pix[i] = 0 // transparent pixels keep their colour
	}
	good := map[string]image.Image{
		"a.png":          noise(37, 23, 1),
		"b.png":          noise(64, 48, 2),
		"sub/c.png":      noise(30, 41, 3),
		"sub/deep/d.png": image.NewGray(image.Rect(0, 0, 21, 13)),
		"e.png":          gray16,
		"f.png":          alpha,
		"g.jpg":          noise(17, 11, 5),
	}
	for name, img := range good {
		writeImage(t, filepath.Join(in, name), img)
	}
	bad := map[string][]byte{
		"broken.png":    []byte("\x89PNG\r\n\x1a\nthis is not the rest of a PNG"),
		"notes.jpg":     []byte("just text"),
		"huge.png":      hugePNGHeader(200000, 100000),
		"truncated.png": nil,
	}
	var b bytes.Buffer
	png.Encode(&b, noise(20, 20, 9))
	bad["truncated.png"] = b.Bytes()[:b.Len()/2]
	for name, data := range bad {
		if err := os.WriteFile(filepath.Join(in, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(in, "readme.txt"), []byte("not an image extension: skipped"), 0o644)

	stdout, stderr, err := runCLI(t, "translate", "--model", model, in, "-o", out, "--batch", "2", "--threads", "1")
	if err == nil || !strings.Contains(err.Error(), "4 of 11 images failed") {
		t.Errorf("err = %v; want 4 of 11 images failed", err)
	}
	if !strings.Contains(stdout, "translated 7 of 11 images") || !strings.Contains(stdout, "4 failed") {
		t.Errorf("summary %q; want 7 of 11 translated, 4 failed", stdout)
	}
	for name := range bad {
		if !strings.Contains(stderr, filepath.Join(in, name)) {
			t.Errorf("stderr does not name %s:\n%s", name, stderr)
		}
	}
	if !strings.Contains(stderr, "pixel limit") {
		t.Errorf("stderr does not report the pixel limit:\n%s", stderr)
	}
	for name, img := range good {
		dst := filepath.Join(out, strings.TrimSuffix(name, filepath.Ext(name))+".png")
		got := readImage(t, dst)
		if got.Bounds().Size() != img.Bounds().Size() {
			t.Errorf("%s: output %v; want input size %v", name, got.Bounds().Size(), img.Bounds().Size())
			continue
		}
		src := readImage(t, filepath.Join(in, name)) // as decoded (JPEG is lossy)
		if d := maxPixelDiff(t, got, sessionReference(t, model, src, 8, nil)); d != 0 {
			t.Errorf("%s: differs from a bare session run by %d levels", name, d)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "readme.png")); err == nil {
		t.Error("readme.txt was translated")
	}
}

// TestTranslateFilesAndGlobs checks file and glob inputs, batching, output
// name collisions, formats, and that inputs are never overwritten.
func TestTranslateFilesAndGlobs(t *testing.T) {
	requireORT(t)
	model := cycleModelFile(t)
	dir := t.TempDir()
	for i := range 5 {
		writeImage(t, filepath.Join(dir, fmt.Sprintf("s%d.png", i)), noise(12, 12, uint64(i)))
	}
	writeImage(t, filepath.Join(dir, "s0.jpg"), noise(12, 12, 7)) // same stem as s0.png
	out1, out3 := filepath.Join(dir, "b1"), filepath.Join(dir, "b3")
	if _, _, err := runCLI(t, "translate", "-m", model, filepath.Join(dir, "s*.png"), "-o", out1, "-q"); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(t, "translate", "-m", model, filepath.Join(dir, "s*"), "-o", out3, "--batch", "3", "-q")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for i := 1; i < 5; i++ {
		name := fmt.Sprintf("s%d.png", i)
		if d := maxPixelDiff(t, readImage(t, filepath.Join(out1, name)), readImage(t, filepath.Join(out3, name))); d > 1 {
			t.Errorf("%s: batch 3 differs from batch 1 by %d", name, d)
		}
	}
	for _, name := range []string{"s0.jpg.png", "s0.png.png"} {
		if _, err := os.Stat(filepath.Join(out3, name)); err != nil {
			t.Errorf("s0.jpg next to s0.png: %v; want outputs s0.jpg.png and s0.png.png", err)
		}
	}

	// Writing into the input folder in the inputs' format: refused once,
	// before any work (no model is opened, no summary printed).
	before, _ := os.ReadFile(filepath.Join(dir, "s1.png"))
	stdout, stderr, err := runCLI(t, "translate", "-m", "not-opened.onnx", filepath.Join(dir, "s1.png"), filepath.Join(dir, "s2.png"), "-o", dir)
	if want := "2 outputs would overwrite inputs (" + filepath.Join(dir, "s1.png") + " over " + filepath.Join(dir, "s1.png"); err == nil ||
		!strings.Contains(err.Error(), want) || stdout != "" || stderr != "" {
		t.Errorf("output folder = input folder: err = %v, stdout %q, stderr %q; want one refusal %q", err, stdout, stderr, want)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "s1.png")); !bytes.Equal(before, after) {
		t.Error("an input was overwritten")
	}
	// In another format it is fine.
	if _, _, err := runCLI(t, "translate", "-m", model, filepath.Join(dir, "s1.png"), "-o", dir, "--format", "jpg", "--quality", "80", "-q"); err != nil {
		t.Fatal(err)
	}
	if img := readImage(t, filepath.Join(dir, "s1.jpg")); img.Bounds().Dx() != 12 {
		t.Errorf("s1.jpg: %v", img.Bounds())
	}
	// Missing files and empty globs are counted failures.
	_, stderr, err = runCLI(t, "translate", "-m", model, filepath.Join(dir, "nope.png"), filepath.Join(dir, "*.gif"), "-o", out1, "-q")
	if err == nil || !strings.Contains(stderr, "nope.png") || !strings.Contains(stderr, "no files match") {
		t.Errorf("missing inputs: err = %v, stderr %q", err, stderr)
	}
}

// TestTranslateKeepsOldOutput checks that a failing file leaves an output
// already there from an earlier run untouched.
func TestTranslateKeepsOldOutput(t *testing.T) {
	requireORT(t)
	model := cycleModelFile(t)
	dir := t.TempDir()
	src, out := filepath.Join(dir, "x.png"), filepath.Join(dir, "out")
	writeImage(t, src, noise(9, 9, 1))
	if _, _, err := runCLI(t, "translate", "-m", model, src, "-o", out, "-q"); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(filepath.Join(out, "x.png"))
	if err := os.WriteFile(src, []byte("\x89PNG\r\n\x1a\ngarbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "translate", "-m", model, src, "-o", out, "-q"); err == nil {
		t.Fatal("corrupt input: no error")
	}
	if now, _ := os.ReadFile(filepath.Join(out, "x.png")); !bytes.Equal(old, now) {
		t.Error("the earlier output was changed")
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("output folder has %d entries; want 1 (no temporary files)", len(entries))
	}
}

func TestTranslateStarGAN(t *testing.T) {
	requireORT(t)
	model := starModelFile(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "face.png")
	img := noise(22, 18, 3)
	writeImage(t, src, img)

	out := filepath.Join(dir, "blond")
	if _, stderr, err := runCLI(t, "translate", "-m", model, src, "--target", "Blond_Hair", "--source", "Black_Hair,Male", "-o", out, "-q"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := sessionReference(t, model, img, 4, []float32{0, 1, 0, 1, 0})
	if d := maxPixelDiff(t, readImage(t, filepath.Join(out, "face.png")), want); d != 0 {
		t.Errorf("--target Blond_Hair --source Black_Hair,Male: differs from a bare session run by %d", d)
	}

	plain, titled := filepath.Join(dir, "plain"), filepath.Join(dir, "titled")
	if _, stderr, err := runCLI(t, "translate", "-m", model, src, "--all-targets", "--plain-grid", "-o", plain, "-q", "--batch", "2"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	grid := readImage(t, filepath.Join(plain, "face.png"))
	if grid.Bounds().Size() != image.Pt(22*6, 18) {
		t.Errorf("grid %v; want 132x18 (input + 5 targets)", grid.Bounds().Size())
	}
	// By default the same columns, apart and under titles.
	if _, stderr, err := runCLI(t, "translate", "-m", model, src, "--all-targets", "-o", titled, "-q"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	titledWant := imagegrid.Compose([]imagegrid.Row{{Titles: []string{"input", "Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"},
		Cells: imagegrid.Columns(grid, 6)}})
	if d := maxPixelDiff(t, readImage(t, filepath.Join(titled, "face.png")), titledWant); d != 0 {
		t.Errorf("titled grid differs from the plain grid's columns under their titles by %d", d)
	}
	if got := gridTitles([]string{"Black_Hair", "Male"}, [][]float32{{1, 1}, {0, 0}}); strings.Join(got, ",") != "input,Black_Hair,not Male" {
		t.Errorf("titles with source Male: %v; want input, Black_Hair, not Male", got)
	}

	_, _, err := runCLI(t, "translate", "-m", model, src, "--target", "Purple_Hair", "-o", filepath.Join(dir, "none"), "-q")
	if err == nil || !strings.Contains(err.Error(), "Black_Hair, Blond_Hair, Brown_Hair, Male, Young") {
		t.Errorf("unknown target: err = %v; want one listing the valid names", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); err == nil {
		t.Error("an unknown target still created the output folder")
	}
	if _, _, err := runCLI(t, "translate", "-m", model, src, "-o", filepath.Join(dir, "none"), "-q"); err == nil || !strings.Contains(err.Error(), "--target") {
		t.Errorf("no target: err = %v; want one asking for --target", err)
	}
	cyc := cycleModelFile(t)
	if _, _, err := runCLI(t, "translate", "-m", cyc, src, "--target", "Male", "-o", filepath.Join(dir, "none"), "-q"); err == nil || !strings.Contains(err.Error(), "CycleGAN") {
		t.Errorf("--target on CycleGAN: err = %v", err)
	}
}

func TestTranslateBadModel(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "x.png")
	writeImage(t, src, noise(9, 9, 1))
	// An ONNX model that is not a ganrt generator: strip the metadata.
	model := cycleModelFile(t)
	data, _ := os.ReadFile(model)
	idx := bytes.Index(data, []byte("ganrt.spec"))
	if idx < 0 {
		t.Fatal("no ganrt.spec in the exported model")
	}
	copy(data[idx:], "ganrt.spek")
	other := filepath.Join(dir, "other.onnx")
	os.WriteFile(other, data, 0o644)
	_, _, err := runCLI(t, "translate", "-m", other, src, "-o", filepath.Join(dir, "out"), "-q")
	if err == nil || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), `"ganrt.spec"`) {
		t.Errorf("err = %v; want one naming %s and the missing ganrt.spec", err, other)
	}
}

// TestTranslateJSON checks translate --json: per-file results in the
// order planned and the counts, numbers as numbers.
func TestTranslateJSON(t *testing.T) {
	requireORT(t)
	model := cycleModelFile(t)
	in, out := filepath.Join(t.TempDir(), "in"), filepath.Join(t.TempDir(), "out")
	for i := range 3 {
		writeImage(t, filepath.Join(in, fmt.Sprintf("%d.png", i)), noise(12, 10, uint64(i)))
	}
	if err := os.WriteFile(filepath.Join(in, "3.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCLI(t, "translate", "-m", model, in, "-o", out, "--json", "-q")
	if err == nil || !strings.Contains(err.Error(), "1 of 4 images failed") {
		t.Errorf("err = %v; want 1 of 4 images failed", err)
	}
	var got struct {
		Total, Written, Failed int
		NotStarted             int     `json:"not_started"`
		Seconds                float64 `json:"seconds"`
		PerSecond              float64 `json:"images_per_second"`
		Files                  []translateFile
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if got.Total != 4 || got.Written != 3 || got.Failed != 1 || got.NotStarted != 0 || got.Seconds <= 0 || got.PerSecond <= 0 || len(got.Files) != 4 {
		t.Fatalf("summary %+v; want 4 files, 3 written, 1 failed, seconds and images/s", got)
	}
	for i, f := range got.Files {
		want := translateFile{Input: filepath.Join(in, fmt.Sprintf("%d.png", i)), Output: filepath.Join(out, fmt.Sprintf("%d.png", i)), Status: statusWritten}
		if i == 3 {
			want.Status = statusFailed
			if !strings.Contains(f.Error, "3.png") {
				t.Errorf("file 3: error %q; want one naming the file", f.Error)
			}
			f.Error = ""
		}
		if f != want {
			t.Errorf("file %d: %+v; want %+v", i, f, want)
		}
	}
}

// TestTranslateInterrupt interrupts translate before it starts: the images
// it did not translate are reported as not started, none as failed, and
// the exit status is 130.
func TestTranslateInterrupt(t *testing.T) {
	requireORT(t)
	model := cycleModelFile(t)
	in, out := filepath.Join(t.TempDir(), "in"), filepath.Join(t.TempDir(), "out")
	const n = 40
	for i := range n {
		writeImage(t, filepath.Join(in, fmt.Sprintf("%02d.png", i)), noise(16, 16, uint64(i)))
	}
	signals := make(chan os.Signal, 1)
	signals <- syscall.SIGINT
	stdout, stderr, code := runMain(t, signals, "translate", "-m", model, in, "-o", out, "--jobs", "1")
	if code != exitInterrupted {
		t.Fatalf("exit status %d; want %d\n%s", code, exitInterrupted, stderr)
	}
	var written, notStarted int
	if _, err := fmt.Sscanf(stdout[strings.Index(stdout, "translated "):], "translated %d of 40 images", &written); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	if _, err := fmt.Sscanf(stdout[strings.Index(stdout, "; ")+2:], "%d not started", &notStarted); err != nil || written+notStarted != n {
		t.Errorf("summary %q: want the images not written counted as not started (%v)", stdout, err)
	}
	if strings.Contains(stdout, "failed") || strings.Contains(stderr, "context canceled") {
		t.Errorf("interrupted images reported as failures:\nstdout %q\nstderr %q", stdout, stderr)
	}
	if want := fmt.Sprintf("ganrt: interrupted: %d of %d images written, 0 failed, %d not started\n", written, n, notStarted); !strings.HasSuffix(stderr, want) {
		t.Errorf("stderr %q; want it to end %q", stderr, want)
	}
}

// TestTranslateHTML checks translate --html: a page with each input beside
// its output (links relative to the page), failures named, replaced by a
// later run, and a page that is not ganrt's kept.
func TestTranslateHTML(t *testing.T) {
	requireORT(t)
	model := cycleModelFile(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	writeImage(t, filepath.Join(in, "a b.png"), noise(12, 10, 1))
	if err := os.WriteFile(filepath.Join(in, "bad.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCLI(t, "translate", "-m", model, in, "-o", out, "--html", "-q")
	if err == nil {
		t.Error("a bad input: no error")
	}
	page, rerr := os.ReadFile(filepath.Join(out, "index.html"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, w := range []string{resultsMarker, `<img src="../in/a%20b.png"`, `<img src="a%20b.png"`, "1 of 2 images translated", "failed", "bad.png"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("index.html lacks %q:\n%s", w, page)
		}
	}
	if !strings.Contains(stdout, "results page: "+filepath.Join(out, "index.html")) {
		t.Errorf("stdout %q does not name the page", stdout)
	}
	if _, _, err := runCLI(t, "translate", "-m", model, filepath.Join(in, "a b.png"), "-o", out, "--html", "-q"); err != nil {
		t.Errorf("replacing ganrt's own page: %v", err)
	}
	other := filepath.Join(dir, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	mine := []byte("<html>my page</html>")
	os.WriteFile(filepath.Join(other, "index.html"), mine, 0o644)
	_, _, err = runCLI(t, "translate", "-m", model, filepath.Join(in, "a b.png"), "-o", other, "--html", "-q")
	if err == nil || !strings.Contains(err.Error(), "is not a ganrt results page") {
		t.Errorf("a foreign index.html: err = %v; want a refusal", err)
	}
	if got, _ := os.ReadFile(filepath.Join(other, "index.html")); !bytes.Equal(got, mine) {
		t.Error("the foreign index.html was changed")
	}
	if _, err := os.Stat(filepath.Join(other, "a b.png")); err == nil {
		t.Error("translate ran although the page was refused")
	}
}

// TestTranslateCheckpoint runs translate on checkpoints (PyTorch and
// safetensors): the outputs are those of the exported ONNX model, and a
// checkpoint that holds no generator is refused by name.
func TestTranslateCheckpoint(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "x.png")
	writeImage(t, src, noise(20, 14, 5))
	pth := "../testdata/golden/cyclegan_resnet6_ngf8.pth"
	st := filepath.Join(dir, "g.safetensors")
	if _, stderr, err := runCLI(t, "convert", pth, st); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	onnxOut := filepath.Join(dir, "onnx")
	if _, stderr, err := runCLI(t, "translate", "-m", cycleModelFile(t), src, "-o", onnxOut, "-q"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := readImage(t, filepath.Join(onnxOut, "x.png"))
	for _, model := range []string{pth, st} {
		out := filepath.Join(dir, filepath.Base(model)+".out")
		if _, stderr, err := runCLI(t, "translate", "-m", model, src, "-o", out, "-q"); err != nil {
			t.Fatalf("-m %s: %v\n%s", model, err, stderr)
		}
		if d := maxPixelDiff(t, readImage(t, filepath.Join(out, "x.png")), want); d != 0 {
			t.Errorf("-m %s: differs from the exported model's output by %d", model, d)
		}
	}
	_, _, err := runCLI(t, "translate", "-m", "../testdata/golden/cyclegan_patchgan_basic_ndf8.pth", src, "-o", filepath.Join(dir, "d"), "-q")
	if err == nil || !strings.Contains(err.Error(), "not a generator") {
		t.Errorf("a discriminator checkpoint: err = %v; want one saying it holds no generator", err)
	}
}

// TestTranslateSkipsFIFO puts a FIFO (nobody writes to it) and a link to
// it, named like images, in an input folder beside a real image: translate
// writes the image, skips both with a note and does not hang.
func TestTranslateSkipsFIFO(t *testing.T) {
	requireORT(t)
	model := cycleModelFile(t)
	in := filepath.Join(t.TempDir(), "in")
	out := filepath.Join(t.TempDir(), "out")
	writeImage(t, filepath.Join(in, "a.png"), noise(12, 10, 1))
	if err := syscall.Mkfifo(filepath.Join(in, "pipe.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pipe.png", filepath.Join(in, "link.jpg")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var stdout, stderr string
	var err error
	go func() {
		defer close(done)
		stdout, stderr, err = runCLI(t, "translate", "--model", model, in, "-o", out, "--threads", "1")
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("translate hangs on a FIFO")
	}
	if err != nil {
		t.Fatalf("translate: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "a.png")); err != nil {
		t.Errorf("the real image was not written: %v", err)
	}
	for _, name := range []string{"pipe.png", "link.jpg"} {
		if !strings.Contains(stderr, "skipped "+filepath.Join(in, name)+": not a regular file (a named pipe)") {
			t.Errorf("stderr has no note for %s:\n%s", name, stderr)
		}
	}
	if !strings.Contains(stdout, "translated 1 of 3 images") || !strings.Contains(stdout, "2 skipped (not regular files)") {
		t.Errorf("stdout = %q; want 1 of 3 written, 2 skipped", stdout)
	}
}
