// Command hull is one tool for container security: it lints, and later
// scans, verifies and runs, container images, and audits hosts.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/hull-sec/hull/internal/cli"
)

// Stamped with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

func main() {
	// hull is short-lived and its heap small: collect less often.
	debug.SetGCPercent(400)
	ctx, stop := cancelOnSignal()
	if filepath.Base(os.Args[0]) == cli.ImageVerifierName {
		code := cli.RunImageVerifier(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Getenv)
		stop()
		os.Exit(code)
	}
	err := cli.NewRoot(cli.BuildInfo{Version: version, Commit: commit}, os.Args[1:]).ExecuteContext(ctx)
	stop()
	var ee *cli.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Err == nil) {
		fmt.Fprintln(os.Stderr, "hull:", cli.Message(err))
	}
	os.Exit(cli.Code(err))
}

// cancelOnSignal returns a context cancelled by SIGINT or SIGTERM, so that
// commands stop and clean up. The handler is installed from a goroutine:
// signal.Notify on the main goroutine costs about a millisecond of wall
// time (measured: bench/README.md), a few per cent of a cold 'hull verify';
// a signal before it is in place ends hull the default way, as it would
// have before main.
func cancelOnSignal() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
