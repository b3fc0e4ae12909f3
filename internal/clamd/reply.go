package clamd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Errors callers may branch on (with errors.Is).
var (
	// ErrUnreachable: no connection to clamd could be made.
	ErrUnreachable = errors.New("clamd not reachable")
	// ErrProtocol: clamd's reply was malformed, too long or missing.
	ErrProtocol = errors.New("clamd protocol error")
	// ErrNotLoopback: a TCP target is not a loopback address and
	// Options.InsecureRemote is not set.
	ErrNotLoopback = errors.New("not a loopback address: clamd has no authentication and file contents would cross the network unencrypted (Options.InsecureRemote allows it)")
)

// ServerError is an "... ERROR" reply of clamd other than a size limit,
// e.g. a scan that failed inside clamd: there is no verdict.
type ServerError struct {
	Message string // clamd's text without the " ERROR" suffix
}

func (e *ServerError) Error() string { return "clamd error: " + e.Message }

// Status is the outcome of a scan.
type Status int

const (
	StatusUnknown  Status = iota // never returned with a nil error
	StatusClean                  // clamd found nothing
	StatusFound                  // clamd found Result.Signature
	StatusTooLarge               // not (fully) scanned: see Result.Reason
)

func (s Status) String() string {
	switch s {
	case StatusClean:
		return "clean"
	case StatusFound:
		return "found"
	case StatusTooLarge:
		return "too large"
	default:
		return "unknown"
	}
}

// Result is clamd's verdict on one file.
type Result struct {
	Name   string // the name passed to Scan
	Status Status
	// Signature is the matching signature when Status is StatusFound, as
	// clamd names it: signatures from databases other than ClamAV's
	// official ones carry the suffix ".UNOFFICIAL".
	Signature string
	// Bytes is how many bytes were sent to clamd.
	Bytes int64
	// Truncated: clamd did not see the whole file, either because it was
	// longer than Options.MaxBytes (clamd scanned the first Bytes; Status
	// is StatusFound if a signature matched there, else StatusTooLarge) or
	// because clamd refused a stream over its StreamMaxLength (StatusTooLarge,
	// nothing scanned), or because clamd stopped at one of its scan limits
	// and said so (AlertExceedsMax: StatusTooLarge).
	Truncated bool
	// Reason says why Status is StatusTooLarge.
	Reason string
}

// Version is clamd's answer to VERSION.
type Version struct {
	Raw    string // the whole reply, e.g. "ClamAV 1.4.6/27460/Tue Nov 26 09:40:12 2024"
	Engine string // "1.4.6"
	// Database is the official database's version; 0 when clamd has only
	// unofficial databases loaded (it then prints no database part).
	Database int
	// DatabaseTime is the database's build time as clamd prints it: in
	// the daemon's local time, without a zone; here read as UTC. Zero when
	// absent or unparsable.
	DatabaseTime time.Time
}

// limitsExceeded starts the name clamd reports, with AlertExceedsMax
// yes, for a file it stopped scanning at one of its limits
// ("Heuristics.Limits.Exceeded.MaxFileSize", ".MaxScanSize", ".MaxFiles",
// ".MaxRecursion"...). Without AlertExceedsMax clamd answers OK for such a
// file, and no client can tell it was not scanned in full.
const limitsExceeded = "Heuristics.Limits.Exceeded."

// parseScanReply interprets an INSTREAM reply (without its NUL). detail is
// the signature for StatusFound and clamd's message for StatusTooLarge.
func parseScanReply(reply string) (st Status, detail string, err error) {
	const prefix = "stream: "
	switch {
	case strings.HasSuffix(reply, " ERROR"):
		msg := strings.TrimPrefix(strings.TrimSuffix(reply, " ERROR"), prefix)
		if !printable(msg) {
			return StatusUnknown, "", fmt.Errorf("%w: unexpected reply %s", ErrProtocol, quote(reply))
		}
		if strings.Contains(msg, "size limit exceeded") {
			return StatusTooLarge, msg, nil
		}
		return StatusUnknown, "", &ServerError{Message: msg}
	case reply == prefix+"OK":
		return StatusClean, "", nil
	}
	// "stream: NAME FOUND"; prefix and suffix must not overlap.
	body, ok := strings.CutPrefix(reply, prefix)
	sig, found := strings.CutSuffix(body, " FOUND")
	if !ok || !found {
		return StatusUnknown, "", fmt.Errorf("%w: unexpected reply %s", ErrProtocol, quote(reply))
	}
	if sig == "" || !printable(sig) || strings.ContainsRune(sig, ' ') {
		return StatusUnknown, "", fmt.Errorf("%w: bad signature name in reply %s", ErrProtocol, quote(reply))
	}
	if limit, ok := strings.CutPrefix(sig, limitsExceeded); ok {
		// Not malware: clamd stopped scanning at one of its limits.
		return StatusTooLarge, "stopped at its " + limit + " limit (" + sig + ")", nil
	}
	return StatusFound, sig, nil
}

// parseVersion interprets "ClamAV ENGINE[/DBVERSION/DBDATE]".
func parseVersion(reply string) (Version, error) {
	v := Version{Raw: reply}
	rest, ok := strings.CutPrefix(reply, "ClamAV ")
	if !ok || !printable(reply) {
		return Version{}, fmt.Errorf("%w: unexpected reply %s", ErrProtocol, quote(reply))
	}
	parts := strings.SplitN(rest, "/", 3)
	v.Engine = parts[0]
	if v.Engine == "" || strings.ContainsRune(v.Engine, ' ') {
		return Version{}, fmt.Errorf("%w: no engine version in %s", ErrProtocol, quote(reply))
	}
	if len(parts) >= 2 {
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("%w: bad database version in %s", ErrProtocol, quote(reply))
		}
		v.Database = n
	}
	if len(parts) == 3 {
		if t, err := time.Parse(time.ANSIC, parts[2]); err == nil {
			v.DatabaseTime = t
		}
	}
	return v, nil
}

// parseTarget turns a Dial target into a network and address.
func parseTarget(target string, insecureRemote bool) (network, addr string, err error) {
	switch {
	case target == "":
		return "", "", errors.New("clamd: empty target")
	case strings.HasPrefix(target, "unix://"):
		path := strings.TrimPrefix(target, "unix://")
		if path == "" {
			return "", "", fmt.Errorf("clamd: target %q has no socket path", target)
		}
		return "unix", path, nil
	case strings.HasPrefix(target, "tcp://"):
		host, port, err := net.SplitHostPort(strings.TrimPrefix(target, "tcp://"))
		if err != nil {
			return "", "", fmt.Errorf("clamd: target %q: %w", target, err)
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			return "", "", fmt.Errorf("clamd: target %q: bad port %q", target, port)
		}
		if host == "" {
			return "", "", fmt.Errorf("clamd: target %q has no host", target)
		}
		if host == "localhost" {
			host = "127.0.0.1"
		}
		ip, err := netip.ParseAddr(host)
		switch {
		case err == nil && ip.Unmap().IsLoopback():
		case insecureRemote:
		default:
			return "", "", fmt.Errorf("clamd: target %q: %w", target, ErrNotLoopback)
		}
		return "tcp", net.JoinHostPort(host, port), nil
	case strings.Contains(target, "://"):
		return "", "", fmt.Errorf("clamd: target %q: want a unix socket path, unix://PATH or tcp://HOST:PORT", target)
	default:
		return "unix", target, nil
	}
}

// printable reports whether s is valid UTF-8 made of printable characters
// (no control or format characters, no space but ' '): clamd's text ends up
// in reports and on terminals.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// quote quotes s for an error message, cut to 200 bytes.
func quote(s string) string {
	if len(s) > 200 {
		return strconv.Quote(s[:200]) + "..."
	}
	return strconv.Quote(s)
}
