// Package runtime runs exported ganrt generators (CycleGAN and StarGAN ONNX
// models, see package export) on images through ONNX Runtime (ORT).
//
// # Translator
//
// [Open] loads a model file onto a device (cpu, cuda[:N], tensorrt[:N] or
// auto) and reads what the model says about itself from its metadata: the
// network spec (models.MetadataKey), the StarGAN label names
// (export.MetaDomains), the size multiple (export.MetaMultiple) and the pixel
// normalization (export.MetaNormalization). A file without the spec or the
// normalization, or without the "image"/"label"/"output" values of the ONNX
// contract, is not a ganrt generator and Open says which part is missing.
// Sizes in the file are not trusted: the multiple must be 1..[MaxMultiple]
// (and suit the network), fixed sides at most [MaxSide] and multiples of it,
// a fixed batch at most [MaxBatch], and fixed sizes within the pixel limit
// (Options.MaxPixels), which Translate also applies to the resized and padded
// tensor of every run.
//
// A [Translator] turns images into images:
//
//	decode -> (drop alpha) -> resize (Options.Size) -> normalize + pad
//	       -> batch -> ORT run -> crop + denormalize -> encode
//
// Step by step:
//
//   - Decoding ([Decode], [DecodeFile]) reads png, jpeg, gif (first frame),
//     bmp, tiff, webp and binary or plain netpbm (ppm/pgm). The image header
//     is read first and an image over the pixel limit is rejected before any
//     pixel is decoded.
//   - Colour: grayscale, 16-bit, CMYK, paletted and YCbCr images become RGB.
//     Alpha is dropped the way the reference's PIL convert("RGB") does: the
//     colour channels are kept as stored (un-premultiplied), not composited
//     over a background; a fully transparent pixel of a premultiplied image
//     has lost its colour and reads as black. 16-bit samples keep their
//     precision (v/257 on the 0..255 scale) up to the model input.
//   - Size 0 (the default) is full resolution: any width and height. Sides
//     that are not multiples of the model's multiple (4 for ResNet and StarGAN
//     generators, 2^depth for U-Nets) are padded by reflection, half on each
//     side, and the output is cropped back, so the output has the input's
//     size. Size N > 0 resizes to N x N (aspect ratio not kept) as the
//     CycleGAN reference does at test time (load_size = crop_size, PIL's
//     BICUBIC), with the training loader's Pillow-exact resizer (package
//     train/data), after PIL's convert("RGB") (16-bit samples become 8-bit
//     as there), so a PNG's input matches the reference's to the bit;
//     the output is then N x N. StarGAN's
//     reference test transform (centre crop 178, resize 128) is CelebA
//     specific and left to the caller.
//   - Normalization is x/127.5 - 1 into a reused float32 NCHW buffer, read
//     straight from the decoded image's pixel slices (a type switch on
//     *image.RGBA, *image.NRGBA, *image.YCbCr, *image.Gray, ...; only unusual
//     image types take a slower per-pixel path).
//   - Denormalization is (y+1)*127.5 rounded to the nearest integer and
//     clamped to 0..255. The CycleGAN reference truncates (uint8 cast), which
//     biases images 0.5 levels darker; the StarGAN reference rounds
//     (torchvision save_image). Rounding is the unbiased choice; against the
//     CycleGAN reference, pixels differ by at most one level.
//
// # Concurrency
//
// A Translator holds one ORT session and is safe for concurrent use: every
// method may be called from many goroutines. Translate calls in flight run
// their ORT runs in parallel on the one session, sharing its intra-op thread
// pool; each call takes its float32 buffers from a small pool, so a steady
// stream of same-size images allocates only the output images. Close waits
// for calls in flight.
//
// # StarGAN labels
//
// A StarGAN model takes a label per image. Multi-label models (CelebA
// attributes) and single-label models (one domain per folder) differ in how
// targets are built; [Translator.Target] and [Translator.AllTargets] follow
// the reference's test-time rules (see [LabelMode]).
package runtime
