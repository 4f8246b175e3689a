package ort

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unsafe"

	onnxruntime "github.com/yalue/onnxruntime_go"

	"github.com/ganrt/ganrt/internal/onnxpb"
)

// Tensor is a float32 tensor owned by Go: Data holds the elements in
// row-major order (the last dimension varies fastest), so an image batch is
// NCHW, [batch, channels, height, width], and element (n, c, y, x) is
// Data[((n*C+c)*H+y)*W+x]. len(Data) must equal the product of Shape; an
// empty Shape is a scalar with one element.
type Tensor struct {
	// Shape is the size of each dimension, outermost first.
	Shape []int64
	// Data is the elements, row-major.
	Data []float32
}

// NewTensor returns a zeroed tensor of the given shape.
func NewTensor(shape ...int64) Tensor {
	n, err := numElements(shape)
	if err != nil {
		panic("ort: NewTensor: " + err.Error())
	}
	return Tensor{Shape: append([]int64(nil), shape...), Data: make([]float32, n)}
}

// numElements returns the product of shape, or an error for a negative or
// overflowing dimension.
func numElements(shape []int64) (int, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > (1<<62)/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= d
	}
	return int(n), nil
}

// Metadata is a model's metadata as ORT reads it from the ModelProto.
type Metadata struct {
	// ProducerName is ModelProto.producer_name.
	ProducerName string
	// GraphName is GraphProto.name.
	GraphName string
	// Domain is ModelProto.domain.
	Domain string
	// Description is ModelProto.doc_string.
	Description string
	// Version is ModelProto.model_version.
	Version int64
	// Custom is ModelProto.metadata_props (ganrt stores the architecture,
	// domain names and normalization there).
	Custom map[string]string
}

// ErrClosed is returned by Run and RunAlloc after Close.
var ErrClosed = errors.New("ort: session is closed")

// Session is one ONNX model loaded into ORT on one execution provider.
//
// Concurrency: every method is safe to call from many goroutines at once.
// Concurrent Run and RunAlloc calls execute in parallel (ORT's Run is
// thread-safe), and may share input tensors as long as nobody writes their
// Data while a Run reads it. An output's Data is written during Run: it must
// not be passed to two Runs in flight at once, nor read or written by anyone
// else until its Run returns, nor overlap any input of the same Run. Close
// waits for Runs in flight, then frees; later Runs return ErrClosed.
type Session struct {
	sess     *onnxruntime.DynamicAdvancedSession
	inputs   []ValueInfo
	outputs  []ValueInfo
	device   Device
	provider string
	fallback string
	meta     Metadata

	// handle is the OrtSession for I/O binding, unless handleErr says why
	// not; epDevice is the EP device of a plugin-provider session; bind is
	// the binding state, and bindRuns says that Run goes through it.
	handle    unsafe.Pointer
	handleErr error
	epDevice  *EPDevice
	bind      *bindState
	bindRuns  bool

	mu       sync.Mutex
	idle     sync.Cond // signalled when running drops to 0 after Close
	closed   bool
	running  int
	cache    map[tensorKey]*cachedTensor // nil: no cache
	lruHead  *cachedTensor               // most recently used
	lruTail  *cachedTensor               // least recently used
	cacheCap int
}

// NewSession loads an ONNX model from its serialized bytes (a ModelProto;
// ORT copies what it needs, so model may be reused once NewSession returns)
// and prepares it to run on opts.Device, calling Init("") first if nobody
// has. Device cuda or tensorrt fails, wrapping ErrProviderUnavailable, when
// CheckProvider finds its provider unusable (as with the CPU library from
// `make ort`), and fails plainly when the provider loads but the GPU does
// not work; device auto uses cuda:0 when it can and otherwise the CPU, with
// the reason in FallbackReason. Tensors stored as external data are read
// from opts.ModelDir only and inlined (see MaxInlinedModel; a location
// outside that folder, through "..", an absolute path or a symbolic link,
// is refused with ErrExternalData). The caller calls Close when done.
func NewSession(model []byte, opts SessionOptions) (*Session, error) {
	if err := Init(""); err != nil {
		return nil, err
	}
	model, err := inlineExternalData(model, opts.ModelDir)
	if err != nil {
		return nil, err
	}
	inputs, outputs, err := modelIO(model)
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 || len(outputs) == 0 {
		// onnxruntime_go's Run needs at least one of each.
		return nil, fmt.Errorf("ort: model has %d inputs and %d outputs; need at least one of each", len(inputs), len(outputs))
	}
	s := &Session{inputs: inputs, outputs: outputs}
	inNames := make([]string, len(inputs))
	for i, v := range inputs {
		inNames[i] = v.Name
	}
	outNames := make([]string, len(outputs))
	for i, v := range outputs {
		outNames[i] = v.Name
	}
	create := func(kind Kind, id int) error {
		so, err := newORTOptions(opts, kind, id)
		if err != nil {
			return err
		}
		defer so.Destroy()
		sess, err := onnxruntime.NewDynamicAdvancedSessionWithONNXData(model, inNames, outNames, so)
		if err != nil {
			return fmt.Errorf("ort: create session on %v: %w", Device{Kind: kind, ID: id}, err)
		}
		s.sess = sess
		s.device = Device{Kind: kind, ID: id}
		s.provider = map[Kind]string{KindCPU: ProviderCPU, KindCUDA: ProviderCUDA, KindTensorRT: ProviderTensorRT}[kind]
		if kind == KindCUDA {
			if st, err := cudaFor(id); err == nil && st.plugin {
				s.epDevice = &st.devices[id]
			}
		}
		return nil
	}
	d := opts.Device
	switch d.Kind {
	case KindCPU:
		err = create(KindCPU, 0)
	case KindCUDA, KindTensorRT:
		if d.ID < 0 {
			return nil, fmt.Errorf("ort: device %v: negative GPU index", d)
		}
		if err := CheckProvider(d.Kind); err != nil {
			return nil, fmt.Errorf("ort: device %v: %w", d, err)
		}
		err = create(d.Kind, d.ID)
	case KindAuto:
		err = CheckProvider(KindCUDA)
		if err == nil {
			err = create(KindCUDA, 0)
		}
		if err != nil {
			s.fallback = "cuda:0 unavailable: " + err.Error()
			if opts.Logger != nil {
				opts.Logger.Warn("ort: device auto falls back to cpu", "reason", s.fallback)
			}
			err = create(KindCPU, 0)
		}
	default:
		return nil, fmt.Errorf("ort: unknown device kind %v", d.Kind)
	}
	if err != nil {
		return nil, err
	}
	if s.meta, err = readMetadata(s.sess); err != nil {
		s.sess.Destroy()
		return nil, err
	}
	s.idle.L = &s.mu
	s.handle, s.handleErr = sessionHandle(s.sess)
	s.bind = &bindState{}
	switch opts.Binding {
	case BindAuto:
		s.bindRuns = s.device.Kind != KindCPU && s.handleErr == nil
	case BindAlways:
		if s.handleErr != nil {
			s.sess.Destroy()
			return nil, fmt.Errorf("%w: %w", ErrNoBinding, s.handleErr)
		}
		s.bindRuns = true
	case BindNever:
	default:
		s.sess.Destroy()
		return nil, fmt.Errorf("ort: unknown binding mode %d", opts.Binding)
	}
	s.cacheCap = opts.TensorCacheSize
	if s.cacheCap == 0 {
		s.cacheCap = max(64, 4*(len(inputs)+len(outputs)))
	}
	if s.cacheCap > 0 {
		s.cache = make(map[tensorKey]*cachedTensor)
	}
	return s, nil
}

// readMetadata copies the session's model metadata into Go values.
func readMetadata(sess *onnxruntime.DynamicAdvancedSession) (Metadata, error) {
	md, err := sess.GetModelMetadata()
	if err != nil {
		return Metadata{}, fmt.Errorf("ort: read model metadata: %w", err)
	}
	defer md.Destroy()
	var m Metadata
	var errs [6]error
	m.ProducerName, errs[0] = md.GetProducerName()
	m.GraphName, errs[1] = md.GetGraphName()
	m.Domain, errs[2] = md.GetDomain()
	m.Description, errs[3] = md.GetDescription()
	m.Version, errs[4] = md.GetVersion()
	var keys []string
	keys, errs[5] = md.GetCustomMetadataMapKeys()
	if err := errors.Join(errs[:]...); err != nil {
		return Metadata{}, fmt.Errorf("ort: read model metadata: %w", err)
	}
	m.Custom = make(map[string]string, len(keys))
	for _, k := range keys {
		v, ok, err := md.LookupCustomMetadataMap(k)
		if err != nil {
			return Metadata{}, fmt.Errorf("ort: read model metadata %q: %w", k, err)
		}
		if ok {
			m.Custom[k] = v
		}
	}
	return m, nil
}

// Inputs returns the model's inputs in the order Run takes them.
func (s *Session) Inputs() []ValueInfo { return cloneInfos(s.inputs) }

// Outputs returns the model's outputs in the order Run fills them.
func (s *Session) Outputs() []ValueInfo { return cloneInfos(s.outputs) }

func cloneInfos(vs []ValueInfo) []ValueInfo {
	out := slices.Clone(vs)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
		out[i].DimNames = slices.Clone(out[i].DimNames)
	}
	return out
}

// Metadata returns the model's metadata; the Custom map is a copy.
func (s *Session) Metadata() Metadata {
	m := s.meta
	m.Custom = maps.Clone(s.meta.Custom)
	return m
}

// Device returns the device the session runs on: opts.Device, except that
// auto becomes cuda:0 or cpu.
func (s *Session) Device() Device { return s.device }

// Provider returns ORT's name of the session's main execution provider:
// ProviderCPU, ProviderCUDA or ProviderTensorRT. ORT may still place single
// nodes that a GPU provider lacks on the CPU.
func (s *Session) Provider() string { return s.provider }

// FallbackReason returns why device auto runs on the CPU, or "" when the
// session runs where it was asked to.
func (s *Session) FallbackReason() string { return s.fallback }

// Run runs the model on inputs, one per model input in Inputs order, and
// writes outputs, one per model output in Outputs order, in place: the
// caller sizes each output's Shape and Data to what the model produces (ORT
// checks the shape). An output left as the zero Tensor is allocated by ORT
// instead and stored into outputs[i] (as RunAlloc does). All data is float32.
//
// Run keeps the ORT wrapper it makes for each (Data, Shape) pair and reuses
// it when the same slice comes back with the same shape, so a loop over
// fixed buffers allocates no tensor memory. A kept wrapper also keeps its Go
// slice alive, until it is evicted (the least recently used one, once more
// than SessionOptions.TensorCacheSize are kept) or the Session is closed.
// See Session for what may run concurrently.
func (s *Session) Run(inputs, outputs []Tensor) error {
	return s.RunContext(context.Background(), inputs, outputs)
}

// RunContext is Run that ends early when ctx is done: it sets ORT's
// terminate flag on the run's options, and ORT stops the run between two
// kernels and fails it. The error then wraps ctx.Err(); outputs hold
// nothing useful. A ctx already done runs nothing.
func (s *Session) RunContext(ctx context.Context, inputs, outputs []Tensor) error {
	if len(outputs) != len(s.outputs) {
		return fmt.Errorf("ort: run: got %d outputs, model has %d (%s)", len(outputs), len(s.outputs), names(s.outputs))
	}
	return s.run(ctx, inputs, outputs)
}

// onDone calls f once ctx is done, until stop is called; stop returns once
// f, if it started, has returned (so that what f uses may be freed).
func onDone(ctx context.Context, f func()) (stop func()) {
	ran := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(ran)
		f()
	})
	return func() {
		if !cancel() {
			<-ran
		}
	}
}

// runError is the error of a failed run: ctx's error when ctx ended it.
func runError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("ort: run model: %w (ORT: %v)", cerr, err)
	}
	return fmt.Errorf("ort: run model: %w", err)
}

// RunAlloc runs the model on inputs like Run but lets ORT size the outputs,
// for models whose output shapes depend on more than the input shapes. It
// returns one new tensor per model output, in Outputs order, whose Data the
// caller owns; each output is copied once from ORT's buffer.
func (s *Session) RunAlloc(inputs []Tensor) ([]Tensor, error) {
	outs := make([]Tensor, len(s.outputs))
	if err := s.run(context.Background(), inputs, outs); err != nil {
		return nil, err
	}
	return outs, nil
}

// run implements RunContext and RunAlloc.
func (s *Session) run(ctx context.Context, inputs, outputs []Tensor) error {
	if len(inputs) != len(s.inputs) {
		return fmt.Errorf("ort: run: got %d inputs, model has %d (%s)", len(inputs), len(s.inputs), names(s.inputs))
	}
	if err := checkTensors("input", inputs, s.inputs, false); err != nil {
		return err
	}
	if err := checkTensors("output", outputs, s.outputs, true); err != nil {
		return err
	}
	if s.bindRuns && !slices.ContainsFunc(outputs, func(t Tensor) bool { return t.Data == nil }) {
		return s.runBound(ctx, inputs, outputs)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ort: run: %w", err)
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.running++
	ins, inHeld, err1 := s.acquire(inputs, false)
	outs, outHeld, err2 := s.acquire(outputs, true)
	s.mu.Unlock()
	// ORT allocates the outputs left nil; onnxruntime_go stores its wrappers
	// (around Go copies of the data) into outs.
	var allocated []int
	for i, v := range outs {
		if v == nil {
			allocated = append(allocated, i)
		}
	}
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.release(inHeld)
		s.release(outHeld)
		for _, i := range allocated {
			if outs[i] != nil {
				outs[i].Destroy() // frees the OrtValue; the Go data stays valid
			}
		}
		s.running--
		if s.running == 0 && s.closed {
			s.idle.Broadcast()
		}
	}()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}

	var ro *onnxruntime.RunOptions
	if ctx.Done() != nil {
		if ro, err1 = onnxruntime.NewRunOptions(); err1 != nil {
			return fmt.Errorf("ort: run: create run options: %w", err1)
		}
		defer ro.Destroy()
		defer onDone(ctx, func() { _ = ro.Terminate() })()
	}
	if err := s.sess.RunWithOptions(ins, outs, ro); err != nil {
		return runError(ctx, err)
	}
	for i, v := range outs {
		switch v := v.(type) {
		case *onnxruntime.Scalar[float32]:
			// onnxruntime_go keeps scalars in a slice of its own.
			outputs[i].Data[0] = v.GetData()
		case *onnxruntime.Tensor[float32]:
			if outputs[i].Data == nil {
				outputs[i] = Tensor{Shape: v.GetShape(), Data: v.GetData()}
			}
		default:
			return fmt.Errorf("ort: run: output %q is a %T, not a float32 tensor", s.outputs[i].Name, v)
		}
	}
	return nil
}

func names(vs []ValueInfo) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// checkTensors validates tensors against the model's values. For outputs, a
// zero Tensor (nil Shape and Data) asks ORT to allocate it.
func checkTensors(what string, ts []Tensor, infos []ValueInfo, output bool) error {
	for i, t := range ts {
		info := infos[i]
		if info.Type != onnxpb.TensorProto_FLOAT {
			return fmt.Errorf("ort: run: %s %s: only float32 tensors are supported", what, info)
		}
		if output && t.Data == nil && t.Shape == nil {
			continue
		}
		n, err := numElements(t.Shape)
		if err != nil {
			return fmt.Errorf("ort: run: %s %q: %w", what, info.Name, err)
		}
		if n != len(t.Data) {
			return fmt.Errorf("ort: run: %s %q: shape %v has %d elements, data has %d", what, info.Name, t.Shape, n, len(t.Data))
		}
		if output && t.Data == nil {
			return fmt.Errorf("ort: run: %s %q: an empty output needs a non-nil Data slice", what, info.Name)
		}
	}
	return nil
}

// maxKeyRank is the largest rank whose tensors Run caches.
const maxKeyRank = 8

// tensorKey identifies a Go buffer with a shape.
type tensorKey struct {
	data *float32
	n    int
	rank int
	dims [maxKeyRank]int64
}

// cachedTensor is an ORT wrapper around a Go buffer, kept by the Session in
// a map and in a least-recently-used list.
type cachedTensor struct {
	key        tensorKey
	t          *onnxruntime.Tensor[float32]
	refs       int // Runs in flight using it; it is not evicted while > 0
	prev, next *cachedTensor
}

// heldValue is one ORT value a Run uses: either a cache entry (released
// when the Run ends) or a wrapper the Run owns (destroyed when it ends).
type heldValue struct {
	v     onnxruntime.Value
	entry *cachedTensor // nil: the Run owns v
}

// acquire returns ORT values for ts: cached wrappers where it can, new ones
// otherwise. For outputs, a tensor with nil Data gets a nil value for ORT to
// allocate. Callers hold s.mu, and pass the held values to release even when
// acquire fails.
func (s *Session) acquire(ts []Tensor, output bool) ([]onnxruntime.Value, []heldValue, error) {
	vals := make([]onnxruntime.Value, len(ts))
	held := make([]heldValue, 0, len(ts))
	for i, t := range ts {
		switch {
		case output && t.Data == nil:
			// ORT allocates, except a scalar, which onnxruntime_go cannot
			// hand back: give ORT one.
			if info := s.outputs[i]; info.Shape != nil && len(info.Shape) == 0 {
				sc, err := onnxruntime.NewEmptyScalar[float32]()
				if err != nil {
					return vals, held, fmt.Errorf("ort: run: wrap output %q: %w", info.Name, err)
				}
				vals[i] = sc
				held = append(held, heldValue{v: sc})
				ts[i] = Tensor{Shape: []int64{}, Data: make([]float32, 1)}
			}
		case len(t.Shape) == 0:
			// onnxruntime_go keeps scalars in a one-element slice of its own.
			sc, err := onnxruntime.NewScalar(t.Data[0])
			if err != nil {
				return vals, held, fmt.Errorf("ort: run: wrap scalar: %w", err)
			}
			vals[i] = sc
			held = append(held, heldValue{v: sc})
		case s.cache == nil || len(t.Shape) > maxKeyRank:
			ot, err := onnxruntime.NewTensor(onnxruntime.Shape(t.Shape), t.Data)
			if err != nil {
				return vals, held, fmt.Errorf("ort: run: wrap tensor %v: %w", t.Shape, err)
			}
			vals[i] = ot
			held = append(held, heldValue{v: ot})
		default:
			k := tensorKey{n: len(t.Data), rank: len(t.Shape)}
			if len(t.Data) > 0 {
				k.data = &t.Data[0]
			}
			copy(k.dims[:], t.Shape)
			e := s.cache[k]
			if e == nil {
				ot, err := onnxruntime.NewTensor(onnxruntime.Shape(t.Shape), t.Data)
				if err != nil {
					return vals, held, fmt.Errorf("ort: run: wrap tensor %v: %w", t.Shape, err)
				}
				e = &cachedTensor{key: k, t: ot}
				s.cache[k] = e
			} else {
				s.unlink(e)
			}
			s.pushFront(e)
			e.refs++
			vals[i] = e.t
			held = append(held, heldValue{v: e.t, entry: e})
		}
	}
	return vals, held, nil
}

// release ends a Run's use of held values and trims the cache. Callers hold
// s.mu.
func (s *Session) release(held []heldValue) {
	for _, h := range held {
		if h.entry != nil {
			h.entry.refs--
		} else {
			h.v.Destroy()
		}
	}
	// Evict idle entries, least recently used first, down to the bound;
	// entries in use by Runs in flight stay, so the bound is soft.
	for e := s.lruTail; e != nil && len(s.cache) > s.cacheCap; {
		prev := e.prev
		if e.refs == 0 {
			s.unlink(e)
			delete(s.cache, e.key)
			e.t.Destroy()
		}
		e = prev
	}
}

func (s *Session) pushFront(e *cachedTensor) {
	e.prev, e.next = nil, s.lruHead
	if s.lruHead != nil {
		s.lruHead.prev = e
	}
	s.lruHead = e
	if s.lruTail == nil {
		s.lruTail = e
	}
}

func (s *Session) unlink(e *cachedTensor) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.lruHead = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.lruTail = e.prev
	}
	e.prev, e.next = nil, nil
}

// begin counts a run in flight, or returns ErrClosed.
func (s *Session) begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.running++
	return nil
}

// end ends a run that begin counted.
func (s *Session) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	if s.running == 0 && s.closed {
		s.idle.Broadcast()
	}
}

// Close waits for Runs in flight, then frees the ORT session and every
// tensor wrapper the session kept (the Go slices they pointed at go back to
// the garbage collector; the caller's Tensors stay valid). The creator of the
// Session calls it once; later calls return nil, later Runs ErrClosed.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for s.running > 0 {
		s.idle.Wait()
	}
	for k, e := range s.cache {
		e.t.Destroy()
		delete(s.cache, k)
	}
	s.lruHead, s.lruTail = nil, nil
	s.releaseBindings()
	if err := s.sess.Destroy(); err != nil {
		return fmt.Errorf("ort: close session: %w", err)
	}
	return nil
}
