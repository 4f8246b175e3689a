package export

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ganrt/ganrt/models"
)

// TestConvertRoundTrip checks that .pth -> .safetensors -> .onnx gives the
// same model bytes as .pth -> .onnx, and that StarGAN's running statistics
// survive the trip to safetensors.
func TestConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"cyclegan_resnet6_ngf8", "stargan_g_c5", "cyclegan_unet5_ngf4"} {
		src := filepath.Join(goldenDir, name+".pth")
		st := filepath.Join(dir, name+".safetensors")
		direct, viaST := filepath.Join(dir, name+".onnx"), filepath.Join(dir, name+".st.onnx")
		if _, err := Convert(src, direct, Overrides{}, ONNXOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := Convert(src, st, Overrides{}, ONNXOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := Convert(st, viaST, Overrides{}, ONNXOptions{}); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(direct)
		b, _ := os.ReadFile(viaST)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: .pth->.onnx (%d bytes) and .pth->.safetensors->.onnx (%d bytes) differ", name, len(a), len(b))
		}
		m, err := Load(st, Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Detected {
			t.Errorf("%s: spec was detected; want it read from the safetensors metadata", name)
		}
		if name == "stargan_g_c5" {
			orig, _ := Load(src, Overrides{})
			for _, key := range []string{"main.1.running_mean", "main.1.running_var", "main.1.num_batches_tracked"} {
				if got, want := m.Weights[key], orig.Weights[key]; len(got) == 0 || got[0] != want[0] {
					t.Errorf("%s: %s = %v after the round trip; want %v", name, key, got, want)
				}
			}
		}
	}
}

// TestBadInputs checks that each kind of bad input gives its clear error
// and leaves no output file behind.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	pth, err := os.ReadFile(filepath.Join(goldenDir, "cyclegan_resnet6_ngf8.pth"))
	if err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(dir, "good.safetensors")
	if _, err := Convert(filepath.Join(goldenDir, "cyclegan_resnet6_ngf8.pth"), st, Overrides{}, ONNXOptions{}); err != nil {
		t.Fatal(err)
	}
	stBytes, _ := os.ReadFile(st)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	resnet9 := true
	cases := []struct {
		name, src string
		ov        Overrides
		want      []string
	}{
		{"truncated pth", write("trunc.pth", pth[:len(pth)/2]), Overrides{}, []string{"trunc.pth"}},
		{"corrupted safetensors", write("bad.safetensors", append(append([]byte(nil), stBytes[:200]...), bytes.Repeat([]byte{0xff}, 64)...)), Overrides{}, []string{"bad.safetensors"}},
		{"foreign global", "../ckpt/testdata/evil_zip.pt", Overrides{}, []string{"evil_zip.pt", "system"}},
		{"not a checkpoint", write("notes.pth", []byte("hello, this is text\n")), Overrides{}, []string{"notes.pth"}},
		{"wrong architecture", filepath.Join(goldenDir, "cyclegan_resnet6_ngf8.pth"), Overrides{NetG: "resnet_9blocks"},
			[]string{"missing: model.16.conv_block.1.bias", "unexpected: model.16.bias", "hint: the file looks like a CycleGAN generator resnet_6blocks"}},
		{"dropout mismatch", filepath.Join(goldenDir, "cyclegan_resnet6_ngf8.pth"), Overrides{Dropout: &resnet9},
			[]string{"conv_block.6.weight", "hint"}},
		{"domains on cyclegan", filepath.Join(goldenDir, "cyclegan_resnet6_ngf8.pth"), Overrides{Domains: []string{"a"}},
			[]string{"domain names apply to StarGAN"}},
		{"domain count", filepath.Join(goldenDir, "stargan_g_c5.pth"), Overrides{Domains: []string{"a", "b"}},
			[]string{"2 domain names for c_dim 5"}},
	}
	for _, c := range cases {
		for _, ext := range []string{".onnx", ".safetensors"} {
			dst := filepath.Join(dir, "out"+ext)
			_, err := Convert(c.src, dst, c.ov, ONNXOptions{})
			if err == nil {
				t.Errorf("%s -> %s: got nil error", c.name, ext)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s -> %s: error %q does not mention %q", c.name, ext, err, w)
				}
			}
			if _, serr := os.Stat(dst); serr == nil {
				t.Errorf("%s -> %s: output file exists after the error", c.name, ext)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	onnxPath := filepath.Join(dir, "g.onnx")
	if _, err := Convert(filepath.Join(goldenDir, "stargan_g_c5.pth"), onnxPath, Overrides{Domains: strings.Split("Black_Hair,Blond_Hair,Brown_Hair,Male,Young", ",")}, ONNXOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(onnxPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "onnx" || info.Spec == nil || info.Spec.Kind != models.StarGANGenerator || len(info.Inputs) != 2 ||
		strings.Join(info.Inputs[0].Shape, ",") != "batch,3,height,width" || info.Metadata[MetaDomains] != "Black_Hair,Blond_Hair,Brown_Hair,Male,Young" {
		t.Fatalf("got %+v", info)
	}
	// ndf 8: 3*8*16+8 + 8*16*16+16 + 16*32*16+32 + 32*64*16+64 + 64*16+1 = 44537.
	info, err = Inspect(filepath.Join(goldenDir, "cyclegan_patchgan_basic_ndf8.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Detected || info.Spec.NetD != "basic" || info.Parameters != 44537 {
		t.Fatalf("got %+v; want a detected basic PatchGAN with 44537 parameters", info)
	}
	bad := filepath.Join(dir, "bad.onnx")
	os.WriteFile(bad, []byte("\x08\x01garbage"), 0o644)
	if _, err := Inspect(bad); err == nil || !strings.Contains(err.Error(), "bad.onnx") {
		t.Fatalf("got %v; want an error naming bad.onnx", err)
	}
}
