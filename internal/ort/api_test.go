package ort

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// apiHeader returns the text of the C API header that onnxruntime_go
// vendors, skipping the test when the module is not in the module cache.
func apiHeader(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	if err != nil {
		t.Skipf("cannot locate onnxruntime_go's module folder: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "onnxruntime_c_api.h"))
	if err != nil {
		t.Skipf("no vendored C API header: %v", err)
	}
	return string(b)
}

// ortAPIEntries lists the members of struct OrtApi in the header, in order,
// by name.
func ortAPIEntries(t *testing.T, header string) []string {
	t.Helper()
	start := strings.Index(header, "\nstruct OrtApi {")
	if start < 0 {
		t.Fatal("no struct OrtApi in the header")
	}
	body := header[start+len("\nstruct OrtApi {"):]
	body = body[:strings.Index(body, "\n};")]
	body = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(body, "")
	body = regexp.MustCompile(`//[^\n]*`).ReplaceAllString(body, "")
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`^ORT_API2_STATUS\(\s*(\w+)`),
		regexp.MustCompile(`^ORT_API_T\([^,]+,\s*(\w+)`),
		regexp.MustCompile(`^ORT_CLASS_RELEASE\(\s*(\w+)\s*\)`),
		regexp.MustCompile(`\(\s*ORT_API_CALL\s*\*\s*(\w+)\s*\)`),
	}
	var names []string
	for _, member := range strings.Split(body, ";") {
		member = strings.TrimSpace(member)
		if member == "" {
			continue
		}
		name := ""
		for i, p := range patterns {
			if m := p.FindStringSubmatch(member); m != nil {
				name = m[1]
				if i == 2 {
					name = "Release" + name
				}
				break
			}
		}
		if name == "" {
			t.Fatalf("cannot read the OrtApi member %q", member)
		}
		names = append(names, name)
	}
	return names
}

// TestAPIIndexes checks every OrtApi index that capi.c uses against the C
// API 24 header: its table in capi.c, the compiled value, and the entry's
// position in struct OrtApi.
func TestAPIIndexes(t *testing.T) {
	entries := ortAPIEntries(t, apiHeader(t))
	if len(entries) < 380 {
		t.Fatalf("read %d OrtApi entries; want the C API 24 table (over 380)", len(entries))
	}
	position := map[string]int{}
	for i, n := range entries {
		position[n] = i
	}
	src, err := os.ReadFile("capi.c")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`X\((\w+), (\d+)\)`).FindAllStringSubmatch(string(src), -1)
	if len(rows) < 30 {
		t.Fatalf("found %d entries in capi.c's GANRT_API table; want its ~40", len(rows))
	}
	for _, r := range rows {
		name := r[1]
		idx, _ := strconv.Atoi(r[2])
		pos, ok := position[name]
		if !ok {
			t.Errorf("%s: not an OrtApi member of the header", name)
			continue
		}
		if idx != pos || apiIndex(name) != pos {
			t.Errorf("%s: capi.c says %d (compiled %d); the header has it at %d", name, idx, apiIndex(name), pos)
		}
	}
	if apiIndex("NoSuchEntry") != -1 {
		t.Error("apiIndex of an unknown name is not -1")
	}
}

// TestHandleLayout checks that onnxruntime_go's structs hold the C handles
// where handles.go reads them, and that the session handle is a live
// OrtSession that ORT answers about.
func TestHandleLayout(t *testing.T) {
	if err := checkHandleLayout(); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, addReluModel(t), SessionOptions{})
	infos, err := s.inputMemory()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Device != "cpu" {
		t.Errorf("input memory = %+v; want two inputs in cpu memory", infos)
	}
}
