package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertWarnings checks that convert says what the output will not
// know (StarGAN label names without --domains, U-Net dropout, which the
// keys cannot show) and that info shows U-Net dropout as unknown.
func TestConvertWarnings(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string // in stderr; "" for no warning
	}{
		{[]string{"../testdata/golden/stargan_g_c5.pth", "g.safetensors"}, "names no labels: its 5 label entries will be unnamed"},
		{[]string{"../testdata/golden/stargan_g_c5.pth", "g2.safetensors", "--domains", "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"}, ""},
		{[]string{"../testdata/golden/cyclegan_unet5_ngf4.pth", "u.safetensors"}, "U-Net dropout is not visible in the keys"},
		{[]string{"../testdata/golden/cyclegan_unet5_ngf4.pth", "u2.safetensors", "--dropout"}, ""},
	} {
		args := append([]string{"convert", tc.args[0], filepath.Join(dir, tc.args[1])}, tc.args[2:]...)
		_, stderr, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if (tc.want == "") != (stderr == "") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: stderr %q; want %q", args, stderr, tc.want)
		}
	}
	stdout, _, err := runCLI(t, "info", "../testdata/golden/cyclegan_unet5_ngf4.pth", filepath.Join(dir, "u2.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "dropout unknown (not visible in the keys)") || !strings.Contains(stdout, "dropout true") {
		t.Errorf("info:\n%s\nwant the .pth's dropout unknown and the converted file's true", stdout)
	}
}
