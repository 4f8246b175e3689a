package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ganrt/ganrt/internal/atomicfile"
)

// runPage is RUN/index.html, like the CycleGAN reference's web/index.html:
// the run's progress and latest losses, loss.png, the sample grids newest
// first, and the options. It reloads itself every minute.
var runPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="60">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; font-family: monospace; }
img { image-rendering: pixelated; margin-bottom: 1em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>iteration {{.Iter}} of {{.Total}} · the page reloads every minute</p>
{{if .Losses}}<table><tr>{{range .Losses}}<th>{{.Name}}</th>{{end}}</tr><tr>{{range .Losses}}<td>{{printf "%.4f" .Value}}</td>{{end}}</tr></table>{{end}}
<h2>Losses</h2>
<p><img src="loss.png" alt="loss curves" width="960"></p>
<h2>Samples</h2>
{{if .Samples}}<p>The same fixed images at every sample, newest first{{if .Scale}}, shown at {{.Scale}}x{{end}}.</p>
{{range .Samples}}<h3>iteration {{.Iter}}</h3>
<p><a href="{{.Path}}"><img src="{{.Path}}" alt="samples at iteration {{.Iter}}" loading="lazy"{{if .Width}} width="{{.Width}}"{{end}}></a></p>
{{end}}{{else}}<p>No samples yet (see --sample-every).</p>{{end}}
<h2>Options</h2>
<table>{{range .Options}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</table>
</body>
</html>
`))

type pageLoss struct {
	Name  string
	Value float64
}

type pageSample struct {
	Iter  int
	Path  string
	Width int // shown width in pixels (0: the file's)
}

type pageOption struct{ Name, Value string }

// writeRunPage writes dir/index.html atomically for a run of kind
// (CycleGAN or StarGAN) at iteration iter of total, with the latest
// losses in the given order. It lists dir/samples and reads
// dir/options.json; scale enlarges small sample grids in the page.
func writeRunPage(dir, kind string, iter, total int, losses map[string]float64, order []string, scale int) error {
	page := struct {
		Title       string
		Iter, Total int
		Losses      []pageLoss
		Samples     []pageSample
		Scale       int
		Options     []pageOption
	}{Title: fmt.Sprintf("%s run %s", kind, filepath.Base(filepath.Clean(dir))), Iter: iter, Total: total}
	if scale > 1 {
		page.Scale = scale
	}
	for _, name := range order {
		if v, ok := losses[name]; ok {
			page.Losses = append(page.Losses, pageLoss{name, v})
		}
	}
	matches, err := filepath.Glob(filepath.Join(dir, samplesDir, "iter_*.png"))
	if err != nil {
		return err
	}
	slices.Sort(matches)
	for _, m := range slices.Backward(matches) {
		var n int
		if _, err := fmt.Sscanf(filepath.Base(m), "iter_%d.png", &n); err != nil {
			continue
		}
		ps := pageSample{Iter: n, Path: samplesDir + "/" + filepath.Base(m)}
		if page.Scale > 1 {
			if w, err := pngWidth(m); err == nil {
				ps.Width = w * page.Scale
			}
		}
		page.Samples = append(page.Samples, ps)
	}
	js, err := os.ReadFile(filepath.Join(dir, "options.json"))
	if err != nil {
		return err
	}
	if page.Options, err = optionRows(js); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "options.json"), err)
	}
	var b bytes.Buffer
	if err := runPage.Execute(&b, page); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, "index.html"), b.Bytes())
}

// pngWidth reads the width of a PNG file from its header.
func pngWidth(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	c, err := png.DecodeConfig(f)
	return c.Width, err
}

// writeReport writes a run's loss.png and index.html for iteration iter
// of total; size is the side of the training images, from which small
// sample grids are shown enlarged.
func writeReport(dir, kind string, log *LossLog, iter, total int, order []string, size int) error {
	if err := log.Plot(filepath.Join(dir, "loss.png"), kind+" losses", 20); err != nil {
		return err
	}
	return writeRunPage(dir, kind, iter, total, log.Latest(), order, min(4, max(1, 200/max(size, 1))))
}

// optionRows lists the entries of a JSON object in file order, each value
// as compact JSON (strings without quotes).
func optionRows(js []byte) ([]pageOption, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var rows []pageOption
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = strings.TrimSpace(string(v))
		}
		rows = append(rows, pageOption{fmt.Sprint(t), s})
	}
	return rows, nil
}
