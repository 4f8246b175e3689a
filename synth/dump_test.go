package synth

import (
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestDumpSheets writes contact sheets for looking at the domains by eye:
// SYNTH_DUMP=/tmp/sheets go test ./synth -run DumpSheets. Each sheet is one
// scene at 256x256 in nine domains (day, night, dusk; day with fog, rain,
// snow; night with fog, rain, snow).
func TestDumpSheets(t *testing.T) {
	dir := os.Getenv("SYNTH_DUMP")
	if dir == "" {
		t.Skip("set SYNTH_DUMP=DIR to write contact sheets")
	}
	doms := []Domain{
		{Time: Day}, {Time: Night}, {Time: Dusk},
		{Time: Day, Fog: true}, {Time: Day, Rain: true}, {Time: Day, Snow: true},
		{Time: Night, Fog: true}, {Time: Night, Rain: true}, {Time: Night, Snow: true},
	}
	const size = 256
	for seed := uint64(1); seed <= 4; seed++ {
		s := NewScene(seed)
		sheet := image.NewRGBA(image.Rect(0, 0, 3*size, 3*size))
		for i, d := range doms {
			at := image.Rect(i%3*size, i/3*size, (i%3+1)*size, (i/3+1)*size)
			draw.Draw(sheet, at, Render(s, d, size), image.Point{}, draw.Src)
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("sheet%d.png", seed)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, sheet); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
