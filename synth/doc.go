// Package synth generates image-translation data sets with ground truth:
// procedural street scenes that can be drawn in several visual domains, so
// that a translated image can be compared with the true rendering of the
// same scene in the target domain (see Metrics).
//
// # Scenes and domains
//
// NewScene(seed) draws a Scene from a PCG generator: a street of buildings
// in two rows, each with a grid of windows, far hills, trees, bushes, street
// lamps, a road, clouds, a sun/moon position, stars, and the positions of
// snowflakes and rain drops. A Scene is pure data; Render(scene, domain,
// size) draws it as a size x size opaque RGBA image and uses no randomness,
// so a scene looks the same every time it is drawn in the same domain.
//
// A Domain is a time of day (Day, Dusk, Night) and any of Fog, Rain and
// Snow. Domains change much more than colours:
//   - day: blue gradient sky, sun with a halo, white clouds, facades in
//     daylight with a darker face turned from the sun, shadows of buildings,
//     trees, lamps and bushes on the pavement and road, unlit glass windows
//     reflecting the sky;
//   - night: dark sky with stars and a moon in its phase, dim facades, the
//     scene's own pattern of lit windows (Building.Lit; warm, orange or cool
//     light), glowing street lamps with pools of light, no shadows;
//   - dusk: orange-to-violet sky, a low sun, long shadows, some windows and
//     the lamps lit;
//   - rain and snow: an overcast sky (no sun, moon, stars or shadows), falling
//     streaks or flakes; rain darkens the road and the lamps reflect in it;
//     snow whitens the ground, roofs, trees and hills;
//   - fog: every pixel fades toward the fog colour with its distance, lamp
//     halos widen.
//
// Render takes well under a millisecond at 128x128 (BenchmarkRender).
// Options.Legible (`data synth --legible`, the demo's data) lights every
// window at night and drops the stars and the falling rain and snow
// (Scene.MakeLegible), so that where the lights will be, and every other
// change of domain, follows from the input: a translation can then be
// judged on getting them right rather than on guessing a random pattern.
//
// Output is deterministic: the same options give byte-identical files on
// the same platform (platforms that fuse multiply-adds may differ in the
// last bit of a pixel).
//
// # Data set layouts
//
// Write(dir, Options{Kind, N, TestN, Size, Seed}) writes PNG files with
// sorted names (000000.png, 000001.png, ...), each atomically, and
// DIR/synth.json (the Manifest). Each role draws from its own seed stream,
// so train and test scenes never coincide.
//
// KindDayNight ("daynight"), for CycleGAN; A is day, B is night:
//
//	DIR/trainA/000000.png ...      N day scenes
//	DIR/trainB/000000.png ...      N other night scenes (unpaired)
//	DIR/testA/000000.png ...       TestN day scenes
//	DIR/testB/000000.png ...       TestN other night scenes
//	DIR/testA_truth/000000.png ... each testA scene at night (same name)
//	DIR/testB_truth/000000.png ... each testB scene by day (same name)
//
// KindWeather ("weather"), multi-label, for StarGAN in the CelebA layout,
// with attributes Day Night Fog Rain Snow (Attrs; Day and Night are an
// exclusive group, ExclusiveAttrs). Each image is a new scene with a random
// label: day or night with equal odds, each weather with probability 0.3.
//
//	DIR/images/000000.png ...      N training images
//	DIR/list_attr.txt              list_attr_celeba.txt format: the count,
//	                               the attribute names, then one line per
//	                               file: "000000.png  1 -1 -1  1 -1"
//	DIR/test/images/000000.png ... TestN test scenes
//	DIR/test/list_attr.txt         their labels, same format
//	DIR/test_truth/000000/L.png    test scene 000000 rendered with label L
//
// KindWeatherSingle ("weather-single"), single-label, for StarGAN with one
// folder per domain; the class index is the sorted folder name (day, dusk,
// fog, night, rain, snow; see SingleDomains). Numbers are unique across
// folders:
//
//	DIR/train/<domain>/NNNNNN.png  N scenes per domain
//	DIR/test/<domain>/NNNNNN.png   TestN scenes per domain
//	DIR/test_truth/NNNNNN/L.png    test scene NNNNNN rendered with label L
//
// A truth file's name L is the target label vector as LabelString writes
// it, one '1' or '0' per attribute or class in label order ("10010" is Day
// with Rain; "000100" is the class night), i.e. exactly the vector to feed
// a StarGAN generator. The targets are those of the reference's test grid
// (GridTargets for multi-label: set each exclusive attribute, flip each
// other one; one-hot of every class for single-label), so DIR/test_truth
// holds the true image of every cell of the grid. For an input labelled
// "10000" (clear day) the weather targets are 10000, 01000, 10100, 10010
// and 10001.
package synth
