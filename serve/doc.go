// Package serve is ganrt's HTTP inference server: it answers image
// translation requests with one [runtime.Translator], grouping concurrent
// requests into batched model runs.
//
// # Endpoints
//
//   - POST /translate: the body is an image in any format runtime.Decode
//     reads (png, jpeg, gif, bmp, tiff, webp, ppm/pgm); the answer is the
//     translated image, PNG unless ?format=jpeg (or jpg, bmp, tiff, ppm;
//     ?quality=1..100 for JPEG). A StarGAN model needs ?target=Blond_Hair
//     or ?target=Male=0,Young=1, and takes ?source=Male=1 (the input's
//     attributes that a multi-label target starts from), as `ganrt
//     translate --target/--source` do. The answer carries X-Ganrt-Batch,
//     the number of requests in the model run that served it.
//   - GET /healthz: 200 and a JSON description of the model while serving,
//     503 once shutdown has begun.
//   - GET /metrics: Prometheus text exposition of the server's own registry
//     (see Metrics below); never the global default registry.
//
// Errors are plain text, one line that says what was wrong:
//
//	400  bad query (format, quality, target, source), empty body, corrupt
//	     image; an unknown target lists the model's valid label names
//	408  the body did not arrive within Config.BodyTimeout (the connection
//	     is closed)
//	405  wrong method (Allow says which)
//	413  body over Config.MaxBytes, or an image whose header claims more
//	     pixels than the Translator's limit (refused before any pixel is
//	     decoded), or one that alone needs more than Config.MemoryBudget
//	415  not an image in a supported format
//	500  the model run or the encoding failed
//	503  every body-read slot or the queue is full (with Retry-After), or the
//	     server has stopped
//	504  the request took longer than Config.Timeout
//	499  (in the log and metrics only) the client went away first
//
// # Connections, body reads, admission
//
// Serve holds at most Config.MaxConns connections (more wait in the
// kernel's backlog). A connection that sends no complete header within
// HeaderTimeout, or stays idle between requests past IdleTimeout, is
// closed; WriteTimeout is Timeout + 5 s.
//
// A translate request reads its body first, before it may join the queue,
// in one of Config.MaxReads read slots (none free: 503 with Retry-After at
// once), within BodyTimeout from its arrival (and within Timeout) and
// MaxBytes. A body that does not arrive in time is answered 408 and its
// connection closed; every answer given before the body is in closes the
// connection, so no unread body is drained at the client's pace. Once the
// body is in, the connection's read deadline stays set, 5 s past the
// request's deadline. Slow or silent senders thus hold a read slot for at
// most BodyTimeout and never a queue slot; the memory they hold is what
// they sent (at most 1 MiB is allocated on a Content-Length's word), at
// most MaxReads x MaxBytes in all.
//
// A request with its body is admitted only while fewer than Queue + Workers
// x MaxBatch translate requests are admitted; any other is answered 503
// with Retry-After at once. That bound is also the bound on memory: at most
// that many bodies of up to MaxBytes, and their decoded images, are held at
// once.
//
// Memory: an admitted request, once decoded, is charged its image's pixels
// as the model sees them (OutputSize, padded to the model's multiple) x
// Config.BytesPerPixel against Config.MemoryBudget (default: half of the
// machine's memory or cgroup limit) and waits, first come first served,
// until that fits (504 past Timeout; 413 when it alone exceeds the
// budget). BytesPerPixel is measured in New with one 256x256 run as the
// rise of the process's peak RSS per pixel. It can under-state large runs:
// on the ngf8 CycleGAN test model it measured 241 in a fresh process (208
// in one that had run the model before), while a 4096x4096 run rose 253
// per pixel; set BytesPerPixel where the margin matters. The budget bounds runs, not the
// decoded images (those are bounded by the queue and the pixel limit).
//
// An admitted request decodes its body and fits it to the model
// (resize when the Translator has a Size) in its own goroutine, then joins
// the batcher. The batcher keeps one open group per key (image size after
// Fit and StarGAN label) and hands whole groups to Workers goroutines, each
// of which runs one Translator.TranslateBatch at a time. A group is ready
// when it holds MaxBatch requests or when BatchWait has passed since its
// first request; ready groups go to free workers oldest first. While every
// worker is busy, groups keep filling, so batches grow with the load and a
// lone request on an idle server waits at most BatchWait. Each request gets
// its own output image back and encodes it in its own goroutine, so decoding
// and encoding run in parallel with the model.
//
// A request whose deadline passes while it waits is answered 504 and
// dropped from its group before the group runs; the Timeout covers reading
// the body too.
//
// # Shutdown
//
// [Server.Serve] serves until its context is cancelled (the CLI cancels it
// on SIGINT or SIGTERM), then: /healthz turns 503 at once while requests
// are still accepted and served for Config.Grace (keep-alives end, so
// clients reconnect, and load balancers that watch /healthz stop sending).
// Then accepting stops: the connections in the kernel's accept queue are
// accepted and served for 20 ms more, and the listener closes (a
// connection the kernel completes in the instant before the close is
// reset by the kernel). Requests in flight run to completion
// within Config.DrainTimeout; past that, connections are closed and
// requests still waiting are answered 503. The batcher then stops. Serve
// does not close the Translator: its caller does, after Serve returns
// (Translator.Close also waits for runs in flight). A keep-alive connection
// that is idle when the grace begins is closed then; a request a client
// sends on it at that instant meets the close (HTTP/1.1's own race; clients
// retry such requests on a new connection).
//
// # Metrics
//
// All series have the prefix ganrt_serve_:
//
//	requests_total{handler,code}                  counter
//	request_duration_seconds{handler,code}        histogram, arrival to answer
//	errors_total{reason}                          counter, refused or failed translate requests
//	in_flight_requests                            gauge, translate requests in the server
//	reading_requests                              gauge, translate bodies being read
//	open_connections                              gauge, connections open in Serve
//	queued_requests                               gauge, waiting for a model run
//	batch_size                                    histogram, requests per model run
//	batch_duration_seconds                        histogram, one TranslateBatch call
//
// with the Go runtime and process collectors beside them.
//
// # Logs
//
// One structured log record per request (log/slog, message "request"):
// method, path, status, bytes written, duration, remote address, and for
// translate the image size, the batch size and the error, if any. 5xx
// answers log at level Error, 4xx at Warn, the rest at Info.
//
// A Server is safe for concurrent use.
package serve
