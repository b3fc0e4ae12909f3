package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hull-sec/hull/internal/mountinfo"
)

// stopProcessesUsing waits until no process mentions dir on its command line
// or in its environment (conmon and the `podman container cleanup` it spawns
// when a container exits outlive `podman rm` by a moment and still write
// under the storage directories; rootless podman's pause process, `catatonit
// -P`, names the setup only in its XDG_RUNTIME_DIR and lives on forever),
// and SIGKILLs, by pid, those still there after a grace period. dir is
// unique to one test, so only that test's processes match.
func stopProcessesUsing(t testing.TB, dir string, grace time.Duration) {
	deadline := time.Now().Add(grace)
	killed := false
	for {
		pids := processesUsing(dir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			if killed {
				t.Logf("testenv: processes %v still use %s", pids, dir)
				return
			}
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			killed = true
			deadline = time.Now().Add(2 * time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesUsing returns the live (non-zombie) processes other than this one
// whose command line or environment contains dir.
func processesUsing(dir string) []int {
	return processesMatching([]byte(dir + "/"))
}

// processesMatching returns the live (non-zombie) processes other than
// this one whose command line or environment contains needle.
func processesMatching(needle []byte) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if !bytes.Contains(cmdline, needle) {
			environ, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
			if err != nil || !bytes.Contains(environ, needle) {
				continue
			}
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The state follows the parenthesised command name.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// unmountUnder detaches every mount point at or below dir (e.g. a container's
// shm left by an interrupted podman), deepest first, so that the temporary
// directory can be removed.
func unmountUnder(t testing.TB, dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, mp := range mountinfo.MountPoints(data) {
		if mountinfo.Within(mp, dir) {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, mp := range points {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil {
			t.Logf("testenv: unmount %s: %v", mp, err)
		}
	}
}

// leftovers waits up to grace for the processes whose environment holds
// needle to exit, then SIGKILLs, by pid, those still alive and describes
// them ("PID: command line").
func leftovers(needle string, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		pids := processesMatching([]byte(needle))
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var out []string
			for _, pid := range pids {
				cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
				out = append(out, strconv.Itoa(pid)+": "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// becomeSubreaper makes this process the parent of the processes its
// children orphan (a daemonized gpg-agent, podman's pause process,
// conmon): on this machine PID 1 does not reap them, so they would stay
// as zombies after the tests.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// reapOrphans collects the exit status of every child that has exited;
// called once the tests are done, when no exec.Cmd waits any more.
func reapOrphans() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
