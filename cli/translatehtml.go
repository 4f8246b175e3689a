package cli

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

var translateHTMLFlag = &cli.BoolFlag{Name: "html", Category: catOutput,
	Usage: "also write OUTDIR/index.html: each input beside its output (like the CycleGAN reference's test_latest/index.html)"}

// resultsPage is translate --html's page: per input, its name, then the
// input and the output side by side (or why there is no output).
var resultsPage = template.Must(template.New("results").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
` + resultsMarker + `
<title>ganrt translate: {{.Model}}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
td { vertical-align: top; padding: 0 1em 1em 0; }
img { min-height: 128px; max-height: 512px; max-width: 100%; image-rendering: pixelated; }
.error { color: #a00; font-family: monospace; }
</style>
</head>
<body>
<h1>{{.Model}}</h1>
<p>{{.Written}} of {{.Total}} images translated on {{.Device}}{{if .Failed}}, {{.Failed}} failed{{end}}{{if .NotStarted}}, {{.NotStarted}} not started{{end}}.</p>
{{range .Files}}<h3>{{.Name}}</h3>
<table><tr><td>{{template "image" .Input}}<br>input</td><td>{{if .Output.Href}}{{template "image" .Output}}<br>{{$.Label}}{{else}}<span class="error">{{.Status}}{{if .Error}}: {{.Error}}{{end}}</span>{{end}}</td></tr></table>
{{end}}</body>
</html>
{{define "image"}}{{if .Shown}}<a href="{{.Href}}"><img src="{{.Href}}" alt="{{.Href}}"></a>{{else}}<a href="{{.Href}}">{{.Href}}</a> (not shown){{end}}{{end}}
`))

// resultsMarker marks a results page as ganrt's, which a later --html may
// replace; another index.html in OUTDIR is kept.
const resultsMarker = `<meta name="generator" content="ganrt translate --html">`

// checkResultsPage refuses, before any work, to replace an index.html in
// outDir that is not a results page.
func checkResultsPage(outDir string) error {
	path := filepath.Join(outDir, "index.html")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	if !bytes.Contains(head[:n], []byte(resultsMarker)) {
		return fmt.Errorf("--html: %s exists and is not a ganrt results page; move it or choose another output folder", path)
	}
	return nil
}

// pageImage is an image the page links to, relative to the page.
type pageImage struct {
	Href  template.URL
	Shown bool // a format browsers display
}

func linkImage(outDir, path string) pageImage {
	u := &url.URL{}
	if rel, err := filepath.Rel(outDir, path); err == nil {
		u.Path = filepath.ToSlash(rel)
	} else {
		abs, _ := filepath.Abs(path)
		u.Scheme, u.Path = "file", filepath.ToSlash(abs)
	}
	ext := strings.ToLower(filepath.Ext(path))
	_, err := os.Stat(path)
	return pageImage{Href: template.URL(u.String()), Shown: err == nil && (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp")}
}

// writeResultsPage writes OUTDIR/index.html for a translate summary and
// returns its path.
func writeResultsPage(s translateSummary, label string) (string, error) {
	type file struct {
		Name          string
		Input, Output pageImage
		Status, Error string
	}
	page := struct {
		translateSummary
		Label string
		Files []file
	}{translateSummary: s, Label: label}
	for _, f := range s.Files {
		pf := file{Name: f.Input, Input: linkImage(s.OutputDir, f.Input), Status: f.Status, Error: f.Error}
		if f.Status == statusWritten {
			pf.Output = linkImage(s.OutputDir, f.Output)
		}
		page.Files = append(page.Files, pf)
	}
	var b bytes.Buffer
	if err := resultsPage.Execute(&b, page); err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.OutputDir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(s.OutputDir, "index.html")
	return path, atomicfile.WriteBytes(path, b.Bytes())
}
