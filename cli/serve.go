package cli

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ganrt/ganrt/runtime"
	"github.com/ganrt/ganrt/serve"
)

// Flags of serve.
var (
	serveAddrFlag = &cli.StringFlag{Name: "addr", Category: catRuntime, Value: "127.0.0.1:8080",
		Usage: "address to listen on (host:port; port 0 picks a free one)"}
	serveMaxBatchFlag = &cli.IntFlag{Name: "max-batch", Category: catRuntime, Value: serve.DefaultMaxBatch,
		Usage: "most concurrent requests (same image size and target) grouped into one model run"}
	serveBatchWaitFlag = &cli.DurationFlag{Name: "batch-wait", Category: catRuntime, Value: serve.DefaultBatchWait,
		Usage: "how long a request waits for others to batch with while the model is idle (0: no wait)"}
	serveQueueFlag = &cli.IntFlag{Name: "queue", Category: catRuntime, Value: serve.DefaultQueue,
		Usage: "requests that may wait beyond the workers x max-batch being run; more get 503 with Retry-After"}
	serveWorkersFlag = &cli.IntFlag{Name: "workers", Category: catRuntime, Value: serve.DefaultWorkers,
		Usage: "model runs at once (1 suits a CPU: one run already uses every core)"}
	serveMaxBytesFlag = &cli.Int64Flag{Name: "max-bytes", Category: catRuntime, Value: serve.DefaultMaxBytes,
		Usage: "largest request body in bytes (413 above it)"}
	serveTimeoutFlag = &cli.DurationFlag{Name: "timeout", Category: catRuntime, Value: serve.DefaultTimeout,
		Usage: "per-request limit from arrival to answer, reading the body included (504 past it)"}
	serveDrainFlag = &cli.DurationFlag{Name: "drain-timeout", Category: catRuntime, Value: serve.DefaultDrainTimeout,
		Usage: "on SIGINT/SIGTERM, how long requests in flight may take to finish before their connections are closed"}
	serveMaxConnsFlag = &cli.IntFlag{Name: "max-conns", Category: catRuntime, Value: serve.DefaultMaxConns,
		Usage: "most connections open at once; past it new connections wait in the kernel's backlog"}
	serveMaxReadsFlag = &cli.IntFlag{Name: "max-reads", Category: catRuntime, Value: serve.DefaultMaxReads,
		Usage: "most request bodies read at once (before admission to the queue); more get 503 with Retry-After"}
	serveBodyTimeoutFlag = &cli.DurationFlag{Name: "body-timeout", Category: catRuntime, Value: serve.DefaultBodyTimeout,
		Usage: "limit on reading a request body, from its arrival (within --timeout); past it 408 and the connection closes"}
	serveHeaderTimeoutFlag = &cli.DurationFlag{Name: "header-timeout", Category: catRuntime, Value: serve.DefaultHeaderTimeout,
		Usage: "limit on reading a request header; past it the connection closes"}
	serveIdleTimeoutFlag = &cli.DurationFlag{Name: "idle-timeout", Category: catRuntime, Value: serve.DefaultIdleTimeout,
		Usage: "how long an idle keep-alive connection stays open"}
	serveGraceFlag = &cli.DurationFlag{Name: "shutdown-grace", Category: catRuntime, Value: serve.DefaultGrace,
		Usage: "on SIGINT/SIGTERM, how long /healthz answers 503 while requests are still accepted and served, before accepting stops and requests drain"}
	serveMemBudgetFlag = &cli.Int64Flag{Name: "memory-budget", Category: catRuntime,
		Usage: "MiB that model runs in flight may hold (pixels x bytes per pixel); requests wait for it in order (0: half of the machine's memory or cgroup limit; -1: none)"}
	serveBytesPerPixelFlag = &cli.Int64Flag{Name: "bytes-per-pixel", Category: catRuntime,
		Usage: "memory one pixel of a request holds during its run (0: measured at start with one 256x256 run)"}
	serveSizeFlag = &cli.IntFlag{Name: "size", Category: catRuntime,
		Usage: "resize images to SIZE x SIZE first (0: full resolution, output size = input size)"}
	serveLogJSONFlag = &cli.BoolFlag{Name: "log-json", Category: catOutput,
		Usage: "write the access log and messages to stderr as JSON lines (default: logfmt-style text)"}
)

var serveCommand = &cli.Command{
	Name:  "serve",
	Usage: "serve an exported generator over HTTP with dynamic batching and Prometheus metrics",
	Description: `Serves a CycleGAN or StarGAN generator exported to ONNX:

   POST /translate   body: an image (png, jpeg, gif, bmp, tiff, webp, ppm/pgm);
                     answer: the translated image, PNG unless ?format=jpeg
                     (&quality=N); StarGAN: ?target=Blond_Hair or
                     ?target=Male=0,Young=1, and &source=Male=1
   GET  /healthz     200 and the model as JSON; 503 while shutting down
   GET  /metrics     Prometheus metrics (latency and batch-size histograms,
                     in-flight and queued gauges, requests by status, errors)

Concurrent requests with the same image size and target are grouped into one
model run of up to --max-batch; a request waits at most --batch-wait for
others while the model is idle. Bodies over --max-bytes and images over
--max-pixels (read from the image header, before decoding) get 413, requests
over --timeout 504, and requests beyond the queue 503 with Retry-After.
A body is read before the request joins the queue, within --body-timeout
(408 and the connection closed past it) and --max-reads bodies at once, so
slow or silent senders hold no queue slot; --max-conns bounds connections,
--header-timeout and --idle-timeout close silent ones. Model runs in flight
hold at most --memory-budget: each request is charged its pixels x
--bytes-per-pixel (measured at start) and waits, in order, until it fits.
SIGINT or SIGTERM turns /healthz 503 and keeps serving for --shutdown-grace
(load balancers stop sending), then stops accepting (connections the kernel
already took are served), lets requests in flight finish within
--drain-timeout, and closes the model. Access logs go to stderr.

Examples:
   ganrt serve -m horse2zebra.onnx --addr 127.0.0.1:8080
   curl --data-binary @horse.jpg 'http://127.0.0.1:8080/translate?format=jpeg' -o zebra.jpg
   ganrt serve -m stargan.onnx --max-batch 16 --workers 2 --device cuda
   curl --data-binary @face.png 'http://127.0.0.1:8080/translate?target=Blond_Hair' -o blond.png`,
	Flags: append(append([]cli.Flag{}, runtimeFlags...),
		serveAddrFlag, serveMaxBatchFlag, serveBatchWaitFlag, serveQueueFlag, serveWorkersFlag,
		serveMaxBytesFlag, serveTimeoutFlag, serveDrainFlag, serveMaxConnsFlag, serveMaxReadsFlag, serveBodyTimeoutFlag,
		serveHeaderTimeoutFlag, serveIdleTimeoutFlag, serveGraceFlag, serveMemBudgetFlag, serveBytesPerPixelFlag, serveSizeFlag, serveLogJSONFlag),
	Action: serveAction,
}

func serveAction(c *cli.Context) error {
	if c.NArg() != 0 {
		return fmt.Errorf("serve takes no arguments, got %q", c.Args().Slice())
	}
	var logger *slog.Logger
	if c.Bool(serveLogJSONFlag.Name) {
		logger = slog.New(slog.NewJSONHandler(c.App.ErrWriter, nil))
	} else {
		logger = slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
	}
	o, err := runtimeOptions(c)
	if err != nil {
		return err
	}
	o.Logger = logger
	o.Size = c.Int(serveSizeFlag.Name)
	o.BatchSize = c.Int(serveMaxBatchFlag.Name)
	cfg := serve.Config{
		MaxBatch:      c.Int(serveMaxBatchFlag.Name),
		BatchWait:     c.Duration(serveBatchWaitFlag.Name),
		Queue:         c.Int(serveQueueFlag.Name),
		Workers:       c.Int(serveWorkersFlag.Name),
		MaxBytes:      c.Int64(serveMaxBytesFlag.Name),
		Timeout:       c.Duration(serveTimeoutFlag.Name),
		DrainTimeout:  c.Duration(serveDrainFlag.Name),
		MaxConns:      c.Int(serveMaxConnsFlag.Name),
		MaxReads:      c.Int(serveMaxReadsFlag.Name),
		BodyTimeout:   c.Duration(serveBodyTimeoutFlag.Name),
		HeaderTimeout: c.Duration(serveHeaderTimeoutFlag.Name),
		IdleTimeout:   c.Duration(serveIdleTimeoutFlag.Name),
		Grace:         c.Duration(serveGraceFlag.Name),
		BytesPerPixel: c.Int64(serveBytesPerPixelFlag.Name),
		Logger:        logger,
	}
	// The flags' zeros mean what they say; Config's zeros mean defaults.
	if cfg.BatchWait == 0 {
		cfg.BatchWait = -1
	}
	switch {
	case cfg.MaxBatch < 1:
		return fmt.Errorf("--max-batch %d: need 1 or more", cfg.MaxBatch)
	case cfg.Workers < 1:
		return fmt.Errorf("--workers %d: need 1 or more", cfg.Workers)
	case cfg.Queue < 0:
		return fmt.Errorf("--queue %d: need 0 or more", cfg.Queue)
	case cfg.MaxBytes < 1:
		return fmt.Errorf("--max-bytes %d: need 1 or more", cfg.MaxBytes)
	case cfg.Timeout <= 0 || cfg.DrainTimeout <= 0:
		return fmt.Errorf("--timeout %v and --drain-timeout %v must be positive", cfg.Timeout, cfg.DrainTimeout)
	case cfg.MaxConns < 1 || cfg.MaxReads < 1:
		return fmt.Errorf("--max-conns %d and --max-reads %d: need 1 or more", cfg.MaxConns, cfg.MaxReads)
	case cfg.BodyTimeout <= 0 || cfg.HeaderTimeout <= 0 || cfg.IdleTimeout <= 0:
		return fmt.Errorf("--body-timeout %v, --header-timeout %v and --idle-timeout %v must be positive", cfg.BodyTimeout, cfg.HeaderTimeout, cfg.IdleTimeout)
	case cfg.Grace < 0:
		return fmt.Errorf("--shutdown-grace %v: need 0 or more", cfg.Grace)
	case cfg.BatchWait < -1:
		return fmt.Errorf("--batch-wait %v: need 0 or more", c.Duration(serveBatchWaitFlag.Name))
	}
	if cfg.Queue == 0 {
		cfg.Queue = -1 // no waiting room: Config's 0 is the default
	}
	if cfg.Grace == 0 {
		cfg.Grace = -1 // no grace: Config's 0 is the default
	}
	switch mb := c.Int64(serveMemBudgetFlag.Name); {
	case mb < -1:
		return fmt.Errorf("--memory-budget %d: MiB, 0 (default) or -1 (none)", mb)
	case mb == -1:
		cfg.MemoryBudget = -1
	case mb > 0:
		cfg.MemoryBudget = mb << 20
	}
	if cfg.BytesPerPixel < 0 {
		return fmt.Errorf("--bytes-per-pixel %d: need 0 (measure) or more", cfg.BytesPerPixel)
	}

	t, err := runtime.Open(c.String(rtModelFlag.Name), o)
	if err != nil {
		return err
	}
	defer t.Close()
	s, err := serve.New(t, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", c.String(serveAddrFlag.Name))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal stops the process at once
	}()
	info, sc := t.Info(), s.Config()
	logger.Info("serving", "url", "http://"+ln.Addr().String(), "model", info.Path, "network", info.Spec.String(),
		"device", info.Device, "memory_budget_mib", sc.MemoryBudget>>20, "bytes_per_pixel", sc.BytesPerPixel, "max_batch", sc.MaxBatch, "batch_wait", c.Duration(serveBatchWaitFlag.Name), "workers", sc.Workers, "queue", sc.Queue)
	fmt.Fprintf(c.App.Writer, "listening on http://%s\n", ln.Addr())
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	return t.Close()
}
