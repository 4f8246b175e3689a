package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ganrt/ganrt/runtime"
)

// Defaults of Config's zero values.
const (
	DefaultMaxBatch      = 8
	DefaultBatchWait     = 2 * time.Millisecond
	DefaultQueue         = 64
	DefaultWorkers       = 1
	DefaultMaxBytes      = 32 << 20
	DefaultTimeout       = 30 * time.Second
	DefaultDrainTimeout  = 30 * time.Second
	DefaultMaxConns      = 1024
	DefaultMaxReads      = 256
	DefaultBodyTimeout   = 10 * time.Second
	DefaultHeaderTimeout = 5 * time.Second
	DefaultIdleTimeout   = 30 * time.Second
	DefaultGrace         = 5 * time.Second
)

// readSlack is how long past a request's deadline its connection's read
// deadline lies once the body is in: net/http's background read (which
// watches for the client going away) must not end the request before its
// own deadline does, and no connection may stay past it unbounded.
const readSlack = 5 * time.Second

// Config configures a Server. Zero values take the defaults above.
type Config struct {
	// MaxBatch is the most requests one model run takes. A model exported
	// with a fixed batch always runs that many (short batches are padded),
	// and MaxBatch is set to it.
	MaxBatch int
	// BatchWait is how long a group's first request waits for others to
	// join while a worker is free (0: DefaultBatchWait; negative: no wait,
	// a free worker takes whatever is there).
	BatchWait time.Duration
	// Queue is how many translate requests may wait beyond the Workers x
	// MaxBatch that run; more are answered 503 with Retry-After (0:
	// DefaultQueue; negative: none may wait).
	Queue int
	// Workers is the number of model runs at once. Each run uses the
	// Translator's intra-op threads, so 1 suits a CPU; more overlap the
	// work around runs (and suit a GPU).
	Workers int
	// MaxBytes bounds a request body (413 above it).
	MaxBytes int64
	// Timeout bounds a translate request from arrival to answer (504 past
	// it), reading the body included.
	Timeout time.Duration
	// DrainTimeout bounds the graceful shutdown in Serve.
	DrainTimeout time.Duration
	// MaxConns bounds the connections Serve holds open at once; past it
	// Serve stops accepting (new connections wait in the kernel's backlog)
	// until one closes.
	MaxConns int
	// MaxReads bounds the translate requests whose bodies are being read at
	// once; another is answered 503 with Retry-After at once. The body read
	// comes before admission to the queue, so slow senders hold a read slot,
	// never a queue slot.
	MaxReads int
	// BodyTimeout bounds reading a translate body, from the request's
	// arrival (and within Timeout); past it the answer is 408 and the
	// connection is closed.
	BodyTimeout time.Duration
	// HeaderTimeout bounds reading a request's header (Serve: the
	// connection is closed past it).
	HeaderTimeout time.Duration
	// IdleTimeout is how long Serve keeps an idle keep-alive connection.
	IdleTimeout time.Duration
	// Grace is how long Serve keeps accepting and serving after its context
	// ends, with /healthz answering 503, before it stops accepting and
	// drains (negative: no grace).
	Grace time.Duration
	// MemoryBudget bounds, in bytes, the memory of the model runs in
	// flight: each admitted request is charged its image's pixels (as the
	// model sees them) x BytesPerPixel before it decodes and waits, in
	// arrival order, until that fits (504 past Timeout; 413 when one image
	// alone exceeds the budget). 0: half of the machine's memory (MemTotal
	// or the cgroup's memory.max); negative: no budget.
	MemoryBudget int64
	// BytesPerPixel is the memory a request holds per pixel during its
	// run (0: measured in New with one run of a 256x256 image, as the rise
	// of the peak RSS per pixel; at least 64).
	BytesPerPixel int64
	// Logger receives the access log and server errors (nil: discarded).
	Logger *slog.Logger
	// Registry is where the metrics are registered and what /metrics
	// serves (nil: a new registry; never the global default one).
	Registry *prometheus.Registry
}

// withDefaults returns c with zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxBatch, DefaultMaxBatch)
	def(&c.Queue, DefaultQueue)
	c.Queue = max(c.Queue, 0)
	def(&c.Workers, DefaultWorkers)
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	def(&c.MaxConns, DefaultMaxConns)
	def(&c.MaxReads, DefaultMaxReads)
	for _, d := range []struct {
		v *time.Duration
		d time.Duration
	}{{&c.BodyTimeout, DefaultBodyTimeout}, {&c.HeaderTimeout, DefaultHeaderTimeout},
		{&c.IdleTimeout, DefaultIdleTimeout}, {&c.Grace, DefaultGrace}} {
		if *d.v == 0 {
			*d.v = d.d
		}
	}
	c.Grace = max(c.Grace, 0)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c
}

// Server serves one Translator over HTTP (see the package documentation).
type Server struct {
	t       *runtime.Translator
	info    runtime.Info
	cfg     Config
	log     *slog.Logger
	m       *metrics
	b       *batcher
	admit   chan struct{} // a slot per admitted translate request
	reading chan struct{} // a slot per body being read
	mem     budget        // bytes of model runs in flight
	handler http.Handler

	unready atomic.Bool // /healthz answers 503
	stopped atomic.Bool // translate answers 503
	closing sync.Once
}

// New returns a Server for t and starts its batcher; Serve serves it on a
// listener, Handler gives its handler for use elsewhere. The caller calls
// Close (Serve does on return) and closes t after that.
func New(t *runtime.Translator, c Config) (*Server, error) {
	c = c.withDefaults()
	info := t.Info()
	if info.Batch > 0 {
		c.MaxBatch = info.Batch
	}
	switch {
	case c.MaxBatch < 1:
		return nil, fmt.Errorf("max batch %d: need 1 or more", c.MaxBatch)
	case c.Workers < 1:
		return nil, fmt.Errorf("workers %d: need 1 or more", c.Workers)
	case c.MaxBytes < 1:
		return nil, fmt.Errorf("max bytes %d: need 1 or more", c.MaxBytes)
	case c.Timeout < 0 || c.DrainTimeout < 0:
		return nil, fmt.Errorf("negative timeout %v or drain timeout %v", c.Timeout, c.DrainTimeout)
	case c.MaxConns < 1 || c.MaxReads < 1:
		return nil, fmt.Errorf("max conns %d, max reads %d: need 1 or more", c.MaxConns, c.MaxReads)
	case c.BodyTimeout < 0 || c.HeaderTimeout < 0 || c.IdleTimeout < 0:
		return nil, fmt.Errorf("negative body, header or idle timeout (%v, %v, %v)", c.BodyTimeout, c.HeaderTimeout, c.IdleTimeout)
	}
	if c.MemoryBudget == 0 {
		c.MemoryBudget = defaultBudget()
	}
	if c.MemoryBudget > 0 && c.BytesPerPixel <= 0 {
		bpp, err := measureBytesPerPixel(t)
		if err != nil {
			return nil, err
		}
		c.BytesPerPixel = bpp
	}
	m, err := newMetrics(c.Registry, c.MaxBatch)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	s := &Server{
		t:       t,
		info:    info,
		cfg:     c,
		log:     c.Logger,
		m:       m,
		admit:   make(chan struct{}, c.Queue+c.Workers*c.MaxBatch),
		reading: make(chan struct{}, c.MaxReads),
		mem:     budget{size: max(c.MemoryBudget, 0)},
	}
	s.b = s.newBatcher(t.TranslateBatch)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /translate", s.translate)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.Registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(c.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	s.handler = s.access(mux)
	return s, nil
}

// newBatcher starts a batcher of run that reports to the metrics.
func (s *Server) newBatcher(run runFunc) *batcher {
	m := s.m
	return newBatcher(run, s.cfg.MaxBatch, s.cfg.Workers, s.cfg.BatchWait, batcherStats{
		queued: func(d int) { m.queued.Add(float64(d)) },
		ran: func(n int, d time.Duration, err error) {
			m.batchSize.Observe(float64(n))
			m.batchTime.Observe(d.Seconds())
		},
	})
}

// Config returns the configuration in force (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Handler returns the server's HTTP handler: /translate, /healthz and
// /metrics, with access logging and request metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves on ln until ctx is cancelled or ln fails, then shuts down
// gracefully (see the package documentation) and closes the Server. It
// returns nil after a shutdown that ctx asked for and that drained in
// time. It does not close the Translator.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	l := newListener(ln, s.cfg.MaxConns)
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.HeaderTimeout,
		WriteTimeout:      s.cfg.Timeout + readSlack,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.m.conns.Inc()
			case http.StateClosed, http.StateHijacked:
				s.m.conns.Dec()
			}
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		s.Close()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	// Unready first, still serving: load balancers see /healthz fail and
	// stop sending while requests already on their way are answered.
	// Keep-alives end so that clients reconnect (to another replica).
	s.unready.Store(true)
	srv.SetKeepAlivesEnabled(false)
	s.log.Info("shutting down", "grace", s.cfg.Grace, "drain_timeout", s.cfg.DrainTimeout)
	select {
	case <-time.After(s.cfg.Grace):
	case err := <-served:
		s.Close()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	// Stop accepting: connections the kernel already accepted are served,
	// then the listener closes.
	l.stop()
	<-served // the listener's error: it stopped
	drain, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	err := srv.Shutdown(drain)
	if err != nil {
		err = fmt.Errorf("shutdown: requests still in flight after %v; closing their connections", s.cfg.DrainTimeout)
		s.log.Warn(err.Error())
		srv.Close()
	}
	s.Close()
	s.log.Info("stopped")
	return err
}

// Close stops the batcher: requests still waiting for a model run are
// answered 503, runs in progress finish, and later translate requests get
// 503. It does not close the Translator. Close may be called more than once.
func (s *Server) Close() error {
	s.closing.Do(func() {
		s.unready.Store(true)
		s.stopped.Store(true)
		s.b.close()
	})
	return nil
}

// healthz answers 200 with the model's description while serving, 503
// once shutdown has begun.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := struct {
		Status   string   `json:"status"`
		Model    string   `json:"model"`
		Network  string   `json:"network"`
		Device   string   `json:"device"`
		Labels   []string `json:"labels,omitempty"`
		MaxBatch int      `json:"max_batch"`
		Workers  int      `json:"workers"`
		Queue    int      `json:"queue"`
	}{"ok", s.info.Path, s.info.Spec.String(), s.info.Device, s.info.Domains, s.cfg.MaxBatch, s.cfg.Workers, s.cfg.Queue}
	code := http.StatusOK
	if s.unready.Load() {
		h.Status, code = "shutting down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// handlerName maps a path to the handler label of the metrics.
func handlerName(path string) string {
	switch path {
	case "/translate":
		return "translate"
	case "/healthz":
		return "healthz"
	case "/metrics":
		return "metrics"
	}
	return "other"
}

// logKey is the context key of a request's *accessRecord.
type logKey struct{}

// accessRecord collects what a handler adds to its request's log record.
type accessRecord struct {
	attrs []slog.Attr
	err   error
}

// note adds attributes to the request's log record (no-op outside access).
func note(ctx context.Context, attrs ...slog.Attr) {
	if rec, ok := ctx.Value(logKey{}).(*accessRecord); ok {
		rec.attrs = append(rec.attrs, attrs...)
	}
}

// access wraps h with request metrics and one log record per request.
func (s *Server) access(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &accessRecord{}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), logKey{}, rec)))
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		d := time.Since(start)
		s.m.observe(handlerName(r.URL.Path), sw.code, d)
		level := slog.LevelInfo
		switch {
		case sw.code >= 500:
			level = slog.LevelError
		case sw.code >= 400:
			level = slog.LevelWarn
		}
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		attrs := append([]slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("query", r.URL.RawQuery),
			slog.Int("status", sw.code),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", d),
			slog.String("remote", r.RemoteAddr),
		}, rec.attrs...)
		if rec.err != nil {
			attrs = append(attrs, slog.String("error", rec.err.Error()))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// statusWriter records the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (read and write
// deadlines, flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errBodyRead wraps failures to read a request body that are not its size.
var errBodyRead = errors.New("read request body")

// maxPrealloc is the most readBody allocates on a Content-Length's word
// alone: beyond it the buffer grows with the bytes that arrive, so a client
// that announces MaxBytes and sends slowly holds no more memory than it
// sent.
const maxPrealloc = 1 << 20

// readBody reads r's body into buf, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, buf []byte, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength {
		buf = make([]byte, 0, min(r.ContentLength, maxPrealloc))
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", errBodyRead, err)
		}
	}
}
