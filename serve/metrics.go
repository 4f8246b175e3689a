package serve

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// latencyBuckets are the request and batch duration buckets, in seconds.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// errorReasons are the reason labels of errors_total.
var errorReasons = []string{"bad_request", "read_body", "body_timeout", "readers_full", "body_too_large", "pixel_limit", "memory_budget", "unsupported_format", "bad_image",
	"queue_full", "shutting_down", "timeout", "canceled", "inference", "encode"}

// metrics are the server's Prometheus series (see the package
// documentation).
type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	inFlight  prometheus.Gauge
	reading   prometheus.Gauge
	conns     prometheus.Gauge
	queued    prometheus.Gauge
	batchSize prometheus.Histogram
	batchTime prometheus.Histogram
}

// newMetrics registers the series in reg; maxBatch sets the batch-size
// buckets.
func newMetrics(reg prometheus.Registerer, maxBatch int) (*metrics, error) {
	const ns, sub = "ganrt", "serve"
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "requests_total", Help: "HTTP requests answered, by handler and status code."},
			[]string{"handler", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "request_duration_seconds", Help: "Time from a request's arrival to its answer, by handler and status code.",
			Buckets: latencyBuckets}, []string{"handler", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "errors_total", Help: "Translate requests refused or failed, by reason."},
			[]string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "in_flight_requests", Help: "Translate requests in the server (admitted or not yet refused)."}),
		reading: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "reading_requests", Help: "Translate requests whose bodies are being read (bounded by Config.MaxReads)."}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "open_connections", Help: "Connections open in Serve (bounded by Config.MaxConns)."}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "queued_requests", Help: "Translate requests waiting for a model run."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "batch_size", Help: "Requests per model run.", Buckets: batchBuckets(maxBatch)}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "batch_duration_seconds", Help: "Duration of one model run (TranslateBatch: normalize, run, denormalize).",
			Buckets: latencyBuckets}),
	}
	// Every reason is exported from the start, at 0, so that rate() and
	// alerts see the series before the first error.
	for _, r := range errorReasons {
		m.errors.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.errors, m.inFlight, m.reading, m.conns, m.queued, m.batchSize, m.batchTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// batchBuckets are 1, 2, ... maxBatch when that is at most 16, else powers
// of two up to it and maxBatch itself.
func batchBuckets(maxBatch int) []float64 {
	if maxBatch <= 16 {
		return prometheus.LinearBuckets(1, 1, max(maxBatch, 1))
	}
	var b []float64
	for v := 1; v < maxBatch; v *= 2 {
		b = append(b, float64(v))
	}
	return append(b, float64(maxBatch))
}

// observe records one answered request.
func (m *metrics) observe(handler string, code int, d time.Duration) {
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(handler, c).Inc()
	m.latency.WithLabelValues(handler, c).Observe(d.Seconds())
}
