package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// RunMarkerEnv is set by Main in the test binary's environment; every
// process a test starts inherits it (filteredEnviron keeps it), which is
// how Main finds the ones left behind.
const RunMarkerEnv = "HULL_TESTENV_RUN"

// Main runs the package's tests and then fails the run if a process they
// started is still alive (a rootless podman's pause process, a
// gpg-agent, a daemon whose cleanup did not run): it names each one on
// standard error and kills it. The test binary adopts the processes its
// children orphan and reaps them at the end, so none stays a zombie.
// Use it as the package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Main(m *testing.M) int {
	marker := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	if err := os.Setenv(RunMarkerEnv, marker); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	if err := becomeSubreaper(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: adopt orphaned processes: %v\n", err)
		return 1
	}
	code := m.Run()
	if left := leftovers(RunMarkerEnv+"="+marker, 10*time.Second); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "testenv: the tests left %d processes running (killed now):\n  %s\n", len(left), strings.Join(left, "\n  "))
		if code == 0 {
			code = 1
		}
		time.Sleep(100 * time.Millisecond) // let the killed ones exit
	}
	reapOrphans()
	return code
}
