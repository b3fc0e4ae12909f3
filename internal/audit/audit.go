// Package audit judges the machine containers run on: the host's kernel
// security features and rootless readiness (host), how clients reach the
// engines (client), the Docker and Podman engines found through their API
// sockets with their flags and files (engine), and every running
// container (containers), each check mapped to the CIS Docker Benchmark
// v1.6.0 where it has a recommendation (docs/audit-cis.md).
//
// Data flow: Discover asks each engine socket for /version, /info and its
// containers and reads the engine's process and files through a Probe;
// every check then reads the host through the Probe and the engines
// through the Discovery, so its logic is tested with a fake host and
// inspect JSON as well as real engines. Run calls each check, turns what
// it decided into a CheckStatus (pass, warn, fail or skipped with the
// reason) and, for warn and fail, a Finding with the evidence and the
// remediation. Checks run as an ordinary user and say "skipped" with the
// reason when they cannot see.
//
// The container checks are internal/workload's container rules, which the
// gate, the launcher and `hull config` share: ContainerChecks converts
// each inspected container (workload.FromInspect, plus the processes and
// the kernel's view read here as Observed) and judges it with its
// engine's workload.Env; the audit keeps only the gathering of verdicts
// over engines and containers and what it alone can tell (unanswered
// engines, containers it could not describe, engines without an LSM).
// The Docker API types it decodes live in internal/engineapi.
package audit

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/safefile"
	"github.com/hull-sec/hull/internal/secrets"
)

// Probe is how checks see the host.
type Probe interface {
	ReadFile(path string) ([]byte, error)
	ReadDir(path string) ([]fs.DirEntry, error)
	Stat(path string) (fs.FileInfo, error)
	// Readlink returns a symbolic link's target; an error when path is
	// not a link.
	Readlink(path string) (string, error)
	// Getxattr returns an extended attribute of path; fs.ErrNotExist
	// when the file has no such attribute.
	Getxattr(path, name string) ([]byte, error)
	// User is the account the audit is for (rootless engines run as it).
	User() (name string, uid int)
	// Processes lists the running programs this user can see.
	Processes() ([]Process, error)
}

// Host is the real machine.
type Host struct{}

// maxHostFile bounds any host file the audit reads (dpkg's status is the
// largest it needs): paths come from other processes' flags and
// environment, which any local user may set.
const maxHostFile = 64 << 20

// ReadFile reads a host file: a regular file (not a device or FIFO, which
// could block or never end) of at most maxHostFile bytes.
func (Host) ReadFile(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	return safefile.ReadLimited(p, maxHostFile)
}

// ReadDir lists a host directory.
func (Host) ReadDir(p string) ([]fs.DirEntry, error) { return os.ReadDir(p) }

// Stat stats a host file.
func (Host) Stat(p string) (fs.FileInfo, error) { return os.Stat(p) }

// Readlink reads a symbolic link.
func (Host) Readlink(p string) (string, error) { return os.Readlink(p) }

// Getxattr reads an extended attribute.
func (Host) Getxattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(p, name, buf)
	if errors.Is(err, unix.ENODATA) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// Processes reads /proc/PID/cmdline of every process.
func (Host) Processes() ([]Process, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(data) == 0 {
			continue
		}
		uid, ok := procUID(e.Name())
		if !ok {
			continue
		}
		out = append(out, Process{PID: pid, UID: uid, Cmdline: strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")})
	}
	return out, nil
}

// procUID is a process's effective UID, from the Uid line of its status
// (not the owner of /proc/PID, which a process can turn into root by
// making itself non-dumpable).
func procUID(pid string) (int, bool) {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) >= 2 {
				uid, err := strconv.Atoi(f[1])
				return uid, err == nil
			}
		}
	}
	return 0, false
}

// User is the user running hull, or SUDO_USER's account when run by sudo.
func (Host) User() (string, int) {
	if name := os.Getenv("SUDO_USER"); name != "" && os.Getuid() == 0 {
		if uid, ok := lookupUID(name); ok {
			return name, uid
		}
	}
	uid := os.Getuid()
	if name, ok := lookupName(uid); ok {
		return name, uid
	}
	return "", uid
}

func lookupUID(name string) (int, bool) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, false
	}
	uid, err := strconv.Atoi(u.Uid)
	return uid, err == nil
}

func lookupName(uid int) (string, bool) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "", false
	}
	return u.Username, true
}

// Check is one audit check.
type Check struct {
	finding.Rule
	// Problem titles a failure or warning of the check: the problem
	// found, where the rule's Title states the requirement.
	Problem string
	// CIS names the CIS Docker Benchmark v1.6 recommendation it maps to,
	// "" when the benchmark is silent.
	CIS string
	Run func(p Probe) Outcome
}

// cisRef is how findings cite the benchmark.
func cisRef(ids string) []string {
	if ids == "" {
		return nil
	}
	return []string{"CIS Docker Benchmark v1.6.0 " + ids}
}

// check builds a Check, titled for a failure from problems; its references cite the CIS items it maps to.
func check(id, cis string, sev finding.Severity, title, doc, fix string, run func(Probe) Outcome) Check {
	return Check{Rule: finding.Rule{ID: id, Title: title, Severity: sev, Doc: doc, Remediation: fix, References: cisRef(cis)},
		Problem: problems[id], CIS: cis, Run: run}
}

// Outcome is what a check decided.
type Outcome struct {
	State    finding.State
	Reason   string
	Evidence string
	// Fix is the remediation for what was found, naming the real file,
	// socket or binary; the check's generic remediation when empty.
	Fix string
	// Partial says what the check could not judge beside what it found
	// wrong (another engine, a container): the finding is reported and
	// the check is still an error, so the run exits 2 whatever else
	// failed.
	Partial string
}

func pass(reason string) Outcome { return Outcome{State: finding.StatePass, Reason: reason} }
func skip(reason string) Outcome { return Outcome{State: finding.StateSkip, Reason: reason} }

// undecided is the outcome of a check that applies but could not run.
func undecided(reason string) Outcome { return Outcome{State: finding.StateError, Reason: reason} }
func fail(reason, evidence string) Outcome {
	return Outcome{State: finding.StateFail, Reason: reason, Evidence: evidence}
}
func warn(reason, evidence string) Outcome {
	return Outcome{State: finding.StateWarn, Reason: reason, Evidence: evidence}
}

// Run runs the checks against the host the probe shows, each ID once
// (the engine and container groups share engine-query). A check that
// panics is an error of that check, not of the audit.
func Run(p Probe, target string, checks []Check) ([]finding.CheckStatus, []finding.Finding) {
	var sts []finding.CheckStatus
	var fs []finding.Finding
	seen := map[string]bool{}
	for _, c := range checks {
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		o := runOne(c, p)
		// Evidence quotes command lines, addresses and settings of the
		// host: mask them once, before any output sees them.
		o.Reason, o.Evidence, o.Fix = secrets.Mask(o.Reason).Text, secrets.Mask(o.Evidence).Text, secrets.Mask(o.Fix).Text
		st := finding.CheckStatus{ID: c.ID, State: o.State, Reason: o.Reason}
		if o.Partial != "" && (o.State == finding.StateFail || o.State == finding.StateWarn) {
			st.State, st.Reason = finding.StateError, o.Reason+"; could not judge: "+secrets.Mask(o.Partial).Text
		}
		sts = append(sts, st)
		if o.State == finding.StateFail || o.State == finding.StateWarn {
			f := finding.Finding{ID: c.ID, Title: cmp.Or(c.Problem, c.Title), Severity: c.Severity, Target: target,
				Evidence: o.Evidence, Remediation: cmp.Or(o.Fix, c.Remediation), References: c.References}
			if f.Evidence == "" {
				f.Evidence = o.Reason
			}
			if o.State == finding.StateWarn && f.Severity > finding.SeverityLow {
				f.Severity = finding.SeverityLow
			}
			fs = append(fs, f)
		}
	}
	finding.Sort(fs)
	return sts, fs
}

func runOne(c Check, p Probe) (o Outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = Outcome{State: finding.StateError, Reason: "the check failed: a bug in hull"}
		}
	}()
	return c.Run(p)
}
