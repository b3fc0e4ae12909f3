package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// A process a test starts and forgets carries the run's marker and is
// found, named and killed; one started without it is not the run's.
func TestLeftoversFound(t *testing.T) {
	marker := RunMarkerEnv + "=" + os.Getenv(RunMarkerEnv)
	if os.Getenv(RunMarkerEnv) == "" {
		t.Fatal("Main did not set the run marker")
	}
	forgotten := exec.Command("sleep", "60")
	forgotten.Env = filteredEnviron()
	other := exec.Command("sleep", "60")
	other.Env = []string{"PATH=/usr/bin:/bin"}
	exited := make(chan struct{})
	for _, c := range []*exec.Cmd{forgotten, other} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	go func() { _ = forgotten.Wait(); close(exited) }()
	go func() { _ = other.Wait() }()
	t.Cleanup(func() { _ = other.Process.Kill() })
	left := leftovers(marker, 200*time.Millisecond)
	if len(left) != 1 || !strings.Contains(left[0], "sleep 60") {
		t.Fatalf("leftovers %q, want the one forgotten sleep", left)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Error("the leftover was not killed")
	}
}
