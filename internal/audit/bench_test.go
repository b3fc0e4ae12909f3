package audit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/testenv"
)

// BenchmarkAudit20Containers audits a real dockerd running 20 containers
// (bench/audit.sh runs it; bench/README.md has the figures): "api" is
// discovery plus every check in-process, "cli" the whole `hull audit`
// (all four groups) as a user runs it, process start included. The bar is
// under a second of wall time.
func BenchmarkAudit20Containers(b *testing.B) {
	d := testenv.StartDockerd(b, "--userland-proxy=false")
	d.BusyboxImage(b, "hull-bench/busybox:1")
	for i := range 20 {
		d.Docker(b, "run", "-d", "--name", fmt.Sprintf("c%02d", i), "--network", "none", "--memory", "32m",
			"--pids-limit", "32", "hull-bench/busybox:1", "sleep", "3600")
	}
	o := ClientOptions{Getenv: env(map[string]string{"DOCKER_HOST": "unix://" + d.Socket})}
	b.Run("api", func(b *testing.B) {
		for b.Loop() {
			disc := Discover(context.Background(), ownedBy(d.Socket), o)
			if n := len(disc.Engines[len(disc.Engines)-1].Containers); n != 20 {
				b.Fatalf("%d containers", n)
			}
			checks := append(append(HostChecks(), EngineChecks(disc)...), ContainerChecks(disc)...)
			Run(ownedBy(d.Socket), "bench", checks)
		}
	})
	b.Run("cli", func(b *testing.B) {
		bin := os.Getenv("HULL_BENCH_BIN")
		if bin == "" {
			bin = filepath.Join(b.TempDir(), "hull")
			build := exec.Command("go", "build", "-o", bin, "github.com/hull-sec/hull/cmd/hull")
			if out, err := build.CombinedOutput(); err != nil {
				b.Fatalf("go build: %v\n%s", err, out)
			}
		}
		var worst time.Duration
		for b.Loop() {
			cmd := exec.Command(bin, "audit", "-f", "json")
			cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Socket)
			start := time.Now()
			out, err := cmd.Output()
			if el := time.Since(start); el > worst {
				worst = el
			}
			// Exit 1 means a check failed, which this host's audit does.
			if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
				b.Fatalf("hull audit: %v\n%s", err, out)
			}
		}
		b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
	})
}
