// Command ganrt trains CycleGAN and StarGAN, converts and exports their
// generators to ONNX, and runs them through ONNX Runtime. See `ganrt help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ganrt/ganrt/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.Run(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "ganrt:", err)
		stop()
		os.Exit(1)
	}
}
