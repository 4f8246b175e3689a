package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/synth"
)

const catData = "Data"

// Flags of `data synth`.
var (
	synthOutFlag = &cli.StringFlag{Name: "out", Aliases: []string{"o"}, Category: catOutput, Required: true,
		Usage: "directory to create (must be missing or empty)"}
	synthKindFlag = &cli.StringFlag{Name: "kind", Category: catData, Value: string(synth.KindDayNight),
		Usage: "data set kind: daynight (CycleGAN, A=day B=night), weather (StarGAN multi-label, CelebA layout), weather-single (StarGAN, folder per domain)"}
	synthNFlag = &cli.IntFlag{Name: "n", Category: catData, Value: 500,
		Usage: "training images per domain (daynight, weather-single) or in all (weather)"}
	synthTestNFlag = &cli.IntFlag{Name: "test-n", Category: catData, Value: 50,
		Usage: "test scenes per domain (daynight, weather-single) or in all (weather), each with its ground truth"}
	synthSizeFlag = &cli.IntFlag{Name: "size", Category: catData, Value: 128,
		Usage: fmt.Sprintf("image side in pixels (%d..%d)", synth.MinSize, synth.MaxSize)}
	synthSeedFlag = &cli.Uint64Flag{Name: "seed", Category: catData, Value: 1,
		Usage: "random seed; the same options give byte-identical files"}
	synthLegibleFlag = &cli.BoolFlag{Name: "legible", Category: catData,
		Usage: "every window lit at night, no stars, no falling rain or snow, so every domain follows from the others (the demos' data)"}
	synthPrintEveryFlag = &cli.IntFlag{Name: "print-every", Category: catOutput, Value: 1000,
		Usage: "when stderr is not a terminal, log a progress line every N images"}
)

// synthResult is data synth's result (--json): the manifest (as
// DIR/synth.json holds it) with the folder and the time taken.
type synthResult struct {
	Dir     string  `json:"dir"`
	Images  int     `json:"images"`
	Seconds float64 `json:"seconds"`
	*synth.Manifest
}

var synthCommand = &cli.Command{
	Name:  "synth",
	Usage: "generate procedural scenes in several domains, with ground truth for the test set",
	Description: `Draws random street scenes (buildings with windows, hills, trees, lamps, road,
clouds, sun or moon) and renders each in one or more visual domains that differ
in more than colour: day has a blue sky, sun and shadows; night has stars, a
moon, lit windows and glowing lamps; dusk, fog, rain and snow change the sky,
the light and the ground. Every test scene is also rendered in each target
domain, so a translation can be scored against the truth (L1, PSNR).

Kinds and layouts (PNG files 000000.png, ...; also DIR/synth.json):
   daynight        trainA/ trainB/ (unpaired) testA/ testB/ testA_truth/ testB_truth/
   weather         images/ + list_attr.txt (CelebA format; attributes Day Night
                   Fog Rain Snow), test/images/ + test/list_attr.txt,
                   test_truth/SCENE/LABEL.png for every target of StarGAN's test grid
   weather-single  train/DOMAIN/ test/DOMAIN/ (day dusk fog night rain snow),
                   test_truth/SCENE/LABEL.png for every domain
LABEL is the target vector as 0/1 digits in label order (10010 = Day+Rain).

Files are written atomically; the same options give byte-identical files.

Examples:
   ganrt data synth --out data/daynight
   ganrt data synth --out data/weather --kind weather --n 2000 --test-n 100 --size 128
   ganrt data synth --out data/demo --n 200 --test-n 16 --size 64 --seed 7`,
	Flags: []cli.Flag{synthOutFlag, synthKindFlag, synthNFlag, synthTestNFlag, synthSizeFlag, synthSeedFlag,
		synthLegibleFlag, quietFlag, synthPrintEveryFlag, jsonFlag},
	Action: func(c *cli.Context) error {
		if c.NArg() != 0 {
			return fmt.Errorf("data synth takes no arguments, got %q (use --out DIR)", strings.Join(c.Args().Slice(), " "))
		}
		opt := synth.Options{
			Kind:  synth.Kind(c.String(synthKindFlag.Name)),
			N:     c.Int(synthNFlag.Name),
			TestN: c.Int(synthTestNFlag.Name),
			Size:  c.Int(synthSizeFlag.Name),
			Seed:  c.Uint64(synthSeedFlag.Name),

			Legible: c.Bool(synthLegibleFlag.Name),
		}
		out := c.String(synthOutFlag.Name)
		p := newProgress(c.App.ErrWriter, "synth", "img", c.Int(synthPrintEveryFlag.Name), c.Bool(quietFlag.Name))
		opt.Progress = func(done, total int) {
			if done == 1 {
				p.SetTotal(total)
			}
			p.Iter(done, nil)
		}
		start := time.Now()
		p.Start(0, 0)
		m, err := synth.WriteContext(c.Context, out, opt)
		p.Finish()
		if err != nil {
			return err
		}
		if c.Bool(jsonFlag.Name) {
			return writeJSON(c.App.Writer, synthResult{Dir: out, Images: m.Files(), Seconds: time.Since(start).Seconds(), Manifest: m})
		}
		fmt.Fprintf(c.App.Writer, "wrote %d images to %s in %.1fs: %s, %dx%d, seed %d; %d train, %d test, %d truth\n",
			m.Files(), out, time.Since(start).Seconds(), m.Kind, m.Size, m.Size, m.Seed, m.Train, m.Test, m.Truth)
		return nil
	},
}

var dataCommand = &cli.Command{
	Name:  "data",
	Usage: "generate data sets",
	Description: `Commands that make training and evaluation data.

Example:
   ganrt data synth --out data/daynight --kind daynight`,
	Subcommands: []*cli.Command{synthCommand},
}
