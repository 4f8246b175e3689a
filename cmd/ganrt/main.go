// Command ganrt trains CycleGAN and StarGAN, converts and exports their
// generators to ONNX, and runs them through ONNX Runtime. See `ganrt help`.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/ganrt/ganrt/cli"
)

func main() {
	signals := make(chan os.Signal, 3)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr, signals))
}
