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
	DefaultMaxBatch     = 8
	DefaultBatchWait    = 2 * time.Millisecond
	DefaultQueue        = 64
	DefaultWorkers      = 1
	DefaultMaxBytes     = 32 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultDrainTimeout = 30 * time.Second
)

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
	handler http.Handler

	draining atomic.Bool
	closing  sync.Once
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
	}
	m, err := newMetrics(c.Registry, c.MaxBatch)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	s := &Server{
		t:     t,
		info:  info,
		cfg:   c,
		log:   c.Logger,
		m:     m,
		admit: make(chan struct{}, c.Queue+c.Workers*c.MaxBatch),
	}
	s.b = newBatcher(t.TranslateBatch, c.MaxBatch, c.Workers, c.BatchWait, batcherStats{
		queued: func(d int) { m.queued.Add(float64(d)) },
		ran: func(n int, d time.Duration, err error) {
			m.batchSize.Observe(float64(n))
			m.batchTime.Observe(d.Seconds())
		},
	})
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
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      s.cfg.Timeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		s.Close()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down", "drain_timeout", s.cfg.DrainTimeout)
	drain, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	err := srv.Shutdown(drain)
	if err != nil {
		err = fmt.Errorf("shutdown: requests still in flight after %v; closing their connections", s.cfg.DrainTimeout)
		s.log.Warn(err.Error())
		srv.Close()
	}
	s.Close()
	<-served // http.ErrServerClosed
	s.log.Info("stopped")
	return err
}

// Close stops the batcher: requests still waiting for a model run are
// answered 503, runs in progress finish, and later translate requests get
// 503. It does not close the Translator. Close may be called more than once.
func (s *Server) Close() error {
	s.closing.Do(func() {
		s.draining.Store(true)
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
	if s.draining.Load() {
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

// readBody reads r's body into buf, at most max bytes.
func readBody(w http.ResponseWriter, r *http.Request, buf []byte, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength {
		buf = make([]byte, 0, r.ContentLength)
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
