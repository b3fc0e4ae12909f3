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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if filepath.Base(os.Args[0]) == cli.ImageVerifierName {
		code := cli.RunImageVerifier(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Getenv)
		stop()
		os.Exit(code)
	}
	err := cli.NewRoot(cli.BuildInfo{Version: version, Commit: commit}).ExecuteContext(ctx)
	stop()
	var ee *cli.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Err == nil) {
		fmt.Fprintln(os.Stderr, "hull:", err)
	}
	os.Exit(cli.Code(err))
}
