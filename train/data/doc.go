// Package data loads training images for the CycleGAN and StarGAN trainers:
// it lists and decodes images, preprocesses them as the reference PyTorch
// implementations do (same pixels where the C libraries allow), and serves
// them as float32 batches [N, C, H, W] in [-1, 1] from worker goroutines, in
// an order fixed by a seed, so that a resumed run sees the same data.
//
// # Images
//
// Load decodes a file by its content and converts it to RGB as PIL's
// Image.open(path).convert("RGB") does. Resize is Pillow's resampling
// (Resample.c: separable, horizontal pass first, filter support scaled by
// the downsampling factor, weights normalized and quantized to 22-bit fixed
// point, rounding and clipping to 8 bits after each pass), with its BICUBIC
// (a = -0.5) and BILINEAR filters. Measured against Pillow 9.4
// (testdata/gen_pil.py): Resize, Gray (PIL's convert("L")) and the decoding
// of PNG, BMP, PPM/PGM/PBM, TIFF and WebP (lossless and lossy) agree exactly,
// value for value. JPEG agrees to within 3 (2 to 5% of the values differ, by
// 1 to 3): the chroma upsampling and the colour conversion are libjpeg's,
// but Go's IDCT rounds differently from libjpeg's.
//
// # Preprocessing
//
// Transform is the CycleGAN reference's get_transform (grayscale, then
// resize to LoadSize or scale to width LoadSize, random CropSize crop,
// rounding to multiples of 4 for "none", random horizontal flip, then
// (v/255 - 0.5)/0.5 in float32); CenterTransform is StarGAN's (random flip
// for training, center crop, bilinear resize of the shorter side).
//
// # Datasets
//
// Unaligned is the CycleGAN reference's UnalignedDataset over DIR/trainA
// and DIR/trainB (ListImages: recursive, every path sorted as a string).
// Labeled holds StarGAN data: NewCelebA parses list_attr_celeba.txt and
// splits it with an exact copy of Python's random.seed(1234) +
// random.shuffle, so the test split is the reference's; NewFolders reads
// one folder per domain as torchvision's ImageFolder, with an error when
// the number of domains differs from the label size.
//
// As in the references' DataLoader, an epoch visits the examples in a
// random order for training (unless SerialBatches for CycleGAN, or the test
// split), and the last batch of an epoch may be partial (see DropLast).
//
// # Randomness and resuming
//
// Nothing is drawn from a shared generator. Every random number is drawn
// from a math/rand/v2 PCG generator seeded by position:
//
//	hi := splitmix64(Seed ^ splitmix64(uint64(epoch)))
//	rng(k, s) = rand.New(rand.NewPCG(hi, splitmix64(uint64(k)<<3 | s)))
//
// where k is the example's position in the epoch. Stream s = 0 of k = 0
// orders the epoch (rng.Perm(Len)); for example k, stream 1 draws the B
// image (Unaligned without SerialBatches), stream 2 the A side's (or a
// Labeled image's) crop and flip, stream 3 the B side's. Batch i of an
// epoch holds positions i*N .. min((i+1)*N, Len)-1. A batch is therefore a
// pure function of (the files, Seed, N, DropLast, epoch, i): the number of
// workers, the prefetch depth and timing do not change it, and a run that
// stops after batch b resumes exactly by starting a Loader at
// b.Following(); no generator state needs saving. Python's and PyTorch's
// random numbers are not reproduced (except for the CelebA split).
//
// # Unreadable images
//
// By default an image that cannot be read or decoded is skipped: the next
// readable file of the same list (cyclically) takes its place, with the same
// random draws, and labeled data take that file's label. The batch stays
// full and, since whether a file is readable does not depend on timing, the
// output stays deterministic. Skipped files are reported in Batch.Skipped
// and Loader.Skipped for the trainer to log. The reason for skipping rather
// than stopping: data sets gathered from the web often hold a few truncated
// files, and a run of hours or days should not die at the first one (the
// references crash there). LoaderOptions.StopOnBadImage turns it into an
// error that names the file. An image smaller than the crop, images of
// different sizes in one batch, or a folder without a single readable image
// always stop with an error.
//
// # Differences from the references
//
//   - Within one directory the reference's make_dataset takes os.listdir's
//     order, which only matters for MaxDatasetSize; files are sorted here.
//   - ".webp" and ".WEBP" are listed too.
//   - An unreadable subdirectory is an error (os.walk skips it silently).
//   - CelebA lines that are blank are dropped after the shuffle (the
//     reference fails on them).
//   - JPEG pixels differ by up to 3 (see Images).
package data
