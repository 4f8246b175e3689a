package runtime

import (
	"context"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ganrt/ganrt/internal/atomicfile"
	"github.com/ganrt/ganrt/internal/imagegrid"
)

// ErrOverwritesInput is wrapped by the Err of a job whose output would
// overwrite one of the inputs (see PlanFiles); it is
// atomicfile.ErrOverwritesInput, which export and convert wrap too.
var ErrOverwritesInput = atomicfile.ErrOverwritesInput

// FileJob is one image file to translate and where its result goes.
type FileJob struct {
	// Src is the input file; Dst the output file, whose extension picks the
	// format.
	Src, Dst string
	// Err, when not nil, is why the job cannot run (set by PlanFiles: a
	// missing input, an output that would overwrite an input, ...);
	// TranslateFiles reports it as the job's result without trying.
	Err error
}

// PlanFiles expands inputs into jobs writing into outDir in format f. An
// input is a file (any format Decode reads), a folder (searched
// recursively for ImageExtensions, in sorted order, keeping the folder's
// layout under outDir) or a glob pattern (matches in sorted order). Output
// names are the input's name with f's extension; when inputs would give the
// same output, each of them keeps its extension too (a.jpg.png, a.png.png). A job
// whose output would overwrite an input gets an Err, and so does an input
// that does not exist or a pattern that matches nothing. Folders are not
// searched below outDir, and an input named twice runs once.
func PlanFiles(inputs []string, outDir string, f Format) []FileJob {
	type input struct{ path, rel string }
	var files []input
	var jobs []FileJob
	outAbs, _ := filepath.Abs(outDir)
	add := func(path, rel string) { files = append(files, input{path, rel}) }
	for _, arg := range inputs {
		fi, err := os.Stat(arg)
		if err != nil && strings.ContainsAny(arg, "*?[") {
			matches, gerr := filepath.Glob(arg)
			if gerr != nil {
				jobs = append(jobs, FileJob{Src: arg, Err: fmt.Errorf("bad pattern %q: %w", arg, gerr)})
				continue
			}
			if len(matches) == 0 {
				jobs = append(jobs, FileJob{Src: arg, Err: fmt.Errorf("no files match %q", arg)})
				continue
			}
			sort.Strings(matches)
			for _, m := range matches {
				if mi, err := os.Stat(m); err == nil && !mi.IsDir() {
					add(m, filepath.Base(m))
				}
			}
			continue
		}
		switch {
		case err != nil:
			jobs = append(jobs, FileJob{Src: arg, Err: err})
		case fi.IsDir():
			n := len(files)
			werr := filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					jobs = append(jobs, FileJob{Src: p, Err: err})
					return nil
				}
				if d.IsDir() {
					if abs, _ := filepath.Abs(p); abs == outAbs && p != arg {
						return filepath.SkipDir
					}
					return nil
				}
				if IsImageFile(p) {
					rel, _ := filepath.Rel(arg, p)
					add(p, rel)
				}
				return nil
			})
			if werr != nil {
				jobs = append(jobs, FileJob{Src: arg, Err: werr})
			} else if len(files) == n {
				jobs = append(jobs, FileJob{Src: arg, Err: fmt.Errorf("folder %s has no images (%s)", arg, strings.Join(ImageExtensions, " "))})
			}
		default:
			add(arg, filepath.Base(arg))
		}
	}

	// Inputs, for the overwrite check (atomicfile.Inputs: by path, hard
	// link or symbolic link).
	seen := make(map[string]bool)
	srcs := &atomicfile.Inputs{}
	var uniq []input
	for _, in := range files {
		abs, _ := filepath.Abs(in.path)
		if seen[abs] {
			continue
		}
		seen[abs] = true
		uniq = append(uniq, in)
		srcs.Add(in.path)
	}
	stemDst := func(in input) string {
		return filepath.Join(outDir, strings.TrimSuffix(in.rel, filepath.Ext(in.rel))+f.Ext())
	}
	count := make(map[string]int)
	for _, in := range uniq {
		count[stemDst(in)]++
	}
	taken := make(map[string]string) // output -> input
	for _, in := range uniq {
		dst := stemDst(in)
		if count[dst] > 1 {
			dst = filepath.Join(outDir, in.rel+f.Ext())
		}
		if prev, ok := taken[dst]; ok {
			jobs = append(jobs, FileJob{Src: in.path, Dst: dst, Err: fmt.Errorf("output %s is already written for %s", dst, prev)})
			continue
		}
		taken[dst] = in.path
		job := FileJob{Src: in.path, Dst: dst}
		if err := srcs.Check(dst); err != nil {
			job.Err = fmt.Errorf("%w; choose another output folder or format", err)
		}
		jobs = append(jobs, job)
	}
	return jobs
}

// FilesOptions configures TranslateFiles.
type FilesOptions struct {
	// Label is the StarGAN label of every image (nil for CycleGAN).
	Label []float32
	// Grid, when not empty, writes the reference's grid (see TranslateGrid)
	// with these labels instead of one translation.
	Grid [][]float32
	// GridTitles, when not empty, names the grid's columns (the input, then
	// one per label): the grid is written with the titles above and gaps
	// between the columns (imagegrid.Compose) instead.
	GridTitles []string
	// Batch is the most same-size images per ORT run (0: 1). Grids batch
	// their labels instead, by Options.BatchSize.
	Batch int
	// Workers is the number of decoding and of encoding goroutines (0:
	// GOMAXPROCS).
	Workers int
	// Encode configures the output encoder.
	Encode EncodeOptions
}

// FileResult is the outcome of one job.
type FileResult struct {
	Job FileJob
	// Err is nil when the output was written.
	Err error
}

// FilesSummary counts the outcomes of TranslateFiles.
type FilesSummary struct {
	// Total is the number of jobs; Written and Failed count the finished
	// ones (fewer than Total when the context ended early).
	Total, Written, Failed int
	// Elapsed is the wall time of the whole call.
	Elapsed time.Duration
}

// TranslateFiles runs jobs through a pipeline that keeps the cores busy:
// decoding (and resizing) goroutines, one goroutine batching same-size
// images into ORT runs, and encoding goroutines writing outputs atomically
// (creating folders as needed). done, when not nil, is called once per job
// as it finishes, from the calling goroutine, in completion order; a failed
// job does not stop the others. It returns the counts, and ctx's error if
// ctx ended before every job ran.
func (t *Translator) TranslateFiles(ctx context.Context, jobs []FileJob, o FilesOptions, done func(FileResult)) (FilesSummary, error) {
	start := time.Now()
	workers := o.Workers
	if workers <= 0 {
		workers = goruntime.GOMAXPROCS(0)
	}
	batch := max(o.Batch, 1)
	if t.info.Batch > 0 {
		batch = t.info.Batch
	}
	type item struct {
		job int
		img image.Image
	}
	todo := make(chan int)
	decoded := make(chan item, 2*batch)
	encode := make(chan item, 2*batch)
	results := make(chan FileResult, 2*workers)
	fail := func(i int, err error) { results <- FileResult{Job: jobs[i], Err: err} }

	go func() { // feed
		defer close(todo)
		for i, j := range jobs {
			if j.Err != nil {
				results <- FileResult{Job: j, Err: j.Err}
				continue
			}
			select {
			case todo <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var decoders sync.WaitGroup
	for range workers {
		decoders.Go(func() {
			for i := range todo {
				img, err := t.DecodeFile(jobs[i].Src)
				if err == nil {
					err = t.checkPixels(img)
					if err != nil {
						err = fmt.Errorf("%s: %w", jobs[i].Src, err)
					}
				}
				if err != nil {
					fail(i, err)
					continue
				}
				decoded <- item{i, t.Fit(img)}
			}
		})
	}
	go func() { decoders.Wait(); close(decoded) }()

	go func() { // infer: group same-size images into batches
		defer close(encode)
		type group struct {
			size  image.Point
			items []item
		}
		var groups []*group // oldest first
		pending := 0
		flush := func(g *group) {
			for k, gg := range groups {
				if gg == g {
					groups = append(groups[:k], groups[k+1:]...)
					break
				}
			}
			pending -= len(g.items)
			if len(o.Grid) > 0 {
				for _, it := range g.items {
					out, err := t.TranslateGrid(ctx, it.img, o.Grid)
					if err != nil {
						fail(it.job, fmt.Errorf("%s: %w", jobs[it.job].Src, err))
						continue
					}
					if len(o.GridTitles) > 0 {
						out = imagegrid.Compose([]imagegrid.Row{{Titles: o.GridTitles, Cells: imagegrid.Columns(out, 1+len(o.Grid))}})
					}
					encode <- item{it.job, out}
				}
				return
			}
			imgs := make([]image.Image, len(g.items))
			for k, it := range g.items {
				imgs[k] = it.img
			}
			var labels [][]float32
			if o.Label != nil {
				labels = [][]float32{o.Label}
			}
			outs, err := t.TranslateBatch(ctx, imgs, labels)
			for k, it := range g.items {
				if err != nil {
					fail(it.job, fmt.Errorf("%s: %w", jobs[it.job].Src, err))
					continue
				}
				encode <- item{it.job, outs[k]}
			}
		}
		for it := range decoded {
			if ctx.Err() != nil {
				fail(it.job, ctx.Err())
				continue
			}
			size := it.img.Bounds().Size()
			var g *group
			for _, gg := range groups {
				if gg.size == size {
					g = gg
				}
			}
			if g == nil {
				g = &group{size: size}
				groups = append(groups, g)
			}
			g.items = append(g.items, it)
			pending++
			switch {
			case len(g.items) >= batch:
				flush(g)
			case pending > 2*batch+workers:
				flush(groups[0]) // many sizes: do not hold images back
			}
		}
		for len(groups) > 0 {
			flush(groups[0])
		}
	}()

	var encoders sync.WaitGroup
	for range workers {
		encoders.Go(func() {
			for it := range encode {
				dst := jobs[it.job].Dst
				err := os.MkdirAll(filepath.Dir(dst), 0o755)
				if err == nil {
					err = WriteFile(dst, it.img, o.Encode)
				}
				results <- FileResult{Job: jobs[it.job], Err: err}
			}
		})
	}
	go func() { encoders.Wait(); close(results) }()

	s := FilesSummary{Total: len(jobs)}
	for r := range results {
		if r.Err != nil {
			s.Failed++
		} else {
			s.Written++
		}
		if done != nil {
			done(r)
		}
	}
	s.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil && s.Written+s.Failed < s.Total {
		return s, err
	}
	return s, nil
}
