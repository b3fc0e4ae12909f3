package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// bodyKind is what an operation's request body may be.
type bodyKind int

const (
	// bodyNone: no body at all.
	bodyNone bodyKind = iota
	// bodyJSON: bounded, unambiguous JSON (CheckJSON), read before the
	// operation's check and forwarded as read.
	bodyJSON
	// bodyStream: an archive (build context, image tarball, docker cp)
	// the rules do not read: forwarded as it comes, with Content-Length
	// or chunked. net/http parses the framing and the proxy frames the
	// engine's request anew, so framing tricks do not reach the engine.
	bodyStream
)

// op is one allowed operation: a method and a path pattern whose
// segments are literal, "{}" for exactly one segment, or "{...}" (last
// but for literals after it) for one or more segments, as image names
// carry slashes.
type op struct {
	name    string
	method  string
	pattern string
	body    bodyKind
	// check, when set, judges the request further: its query, its body
	// (d.body, already read and checked), what the engine says about what
	// it names. It returns d, possibly with a refusal or another body to
	// forward.
	check check
}

// check judges one request of an operation (op.check).
type check func(g *Gate, r *http.Request, d decision) decision

// ops is the allowlist, made of groups of operations.
var ops = slices.Concat(coreOps, imageOps, serviceOps, containerOps, buildOps, volumeOps, libpodOps)

// coreOps: what docker ps, run, create, start, stop, rm, logs, inspect,
// version, info, images, pull, attach, wait and exec call.
var coreOps = []op{
	{"ping", "GET", "/_ping", bodyNone, nil},
	{"ping", "HEAD", "/_ping", bodyNone, nil},
	{"version", "GET", "/version", bodyNone, nil},
	{"info", "GET", "/info", bodyNone, nil},
	{"container list", "GET", "/containers/json", bodyNone, nil},
	{"container create", "POST", "/containers/create", bodyJSON, (*Gate).checkCreate},
	{"container inspect", "GET", "/containers/{}/json", bodyNone, nil},
	{"container start", "POST", "/containers/{}/start", bodyNone, (*Gate).checkStart},
	{"container stop", "POST", "/containers/{}/stop", bodyNone, nil},
	{"container kill", "POST", "/containers/{}/kill", bodyNone, nil},
	{"container wait", "POST", "/containers/{}/wait", bodyNone, nil},
	{"container attach", "POST", "/containers/{}/attach", bodyNone, (*Gate).checkContainer},
	{"container resize", "POST", "/containers/{}/resize", bodyNone, nil},
	{"container logs", "GET", "/containers/{}/logs", bodyNone, nil},
	{"container remove", "DELETE", "/containers/{}", bodyNone, nil},
	{"exec create", "POST", "/containers/{}/exec", bodyJSON, (*Gate).checkExecCreate},
	{"exec start", "POST", "/exec/{}/start", bodyJSON, (*Gate).checkExecStart},
	{"exec resize", "POST", "/exec/{}/resize", bodyNone, nil},
	{"exec inspect", "GET", "/exec/{}/json", bodyNone, nil},
	{"image list", "GET", "/images/json", bodyNone, nil},
	{"image inspect", "GET", "/images/{...}/json", bodyNone, nil},
}

// hijacks names the operations whose Upgrade request is forwarded: the
// engine then hands the connection over to a raw stream (stdin, stdout).
var hijacks = map[string]bool{"container attach": true, "exec start": true,
	"libpod container attach": true, "libpod exec start": true}

// opSegs holds the segments of each ops pattern, split once rather than
// on every request.
var opSegs = func() [][]string {
	s := make([][]string, len(ops))
	for i, o := range ops {
		s[i] = strings.Split(o.pattern[1:], "/")
	}
	return s
}()

// lookup finds the operation of method and a normalised path.
func lookup(method, path string) (op, bool) {
	segs := strings.Split(path[1:], "/")
	for i, o := range ops {
		if o.method == method && match(opSegs[i], segs) {
			return o, true
		}
	}
	return op{}, false
}

func match(pat, segs []string) bool {
	for i, p := range pat {
		if p == "{...}" {
			rest := len(pat) - i - 1
			if len(segs)-i-rest < 1 {
				return false
			}
			return match(pat[i+1:], segs[len(segs)-rest:])
		}
		if i >= len(segs) || (p != "{}" && p != segs[i]) {
			return false
		}
	}
	return len(pat) == len(segs)
}

// minAPIMinor is the oldest API version (1.24) the gate lets a client
// ask for: older ones took a host config on container start, which the
// gate does not judge.
const minAPIMinor = 24

// minLibpodMajor is the oldest libpod API version (4.0.0) the gate lets
// a client ask for: Podman 4's own minimum, and the create spec shape
// the workload converter reads.
const minLibpodMajor = 4

// Normalise returns the path of a request target as the engine routes
// it, without its one optional version prefix, or an error for a target
// the gate refuses to interpret: not origin-form, percent escapes,
// empty, "." or ".." segments, a second version prefix, a version
// older than the gate allows, or a prefix of the other API's form.
//
// Two prefixes are read: Docker's /vN.NN (dockerd's and Podman's
// Docker-compatible API, 1.24 or later), and Podman's /vN.N.N before
// its libpod tree only (/v4.3.1/libpod/containers/create, 4.0.0 or
// later), which Normalise returns as /libpod/containers/create. Podman
// routes any /v{digit...}/ prefix to either tree and checks no version,
// so every other mix (/v1.41/libpod/..., /v4.3.1/containers/...,
// /libpod/v4.3.1/...) is refused rather than guessed at.
func Normalise(target string) (string, error) {
	path, _, _ := strings.Cut(target, "?")
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("the request target %q is not a plain path", target)
	}
	if strings.ContainsAny(path, "%\\#") {
		return "", fmt.Errorf("the path %q holds escaped or special characters", path)
	}
	for _, c := range path {
		if c <= ' ' || c >= 0x7f {
			return "", fmt.Errorf("the path %q holds control, space or non-ASCII characters", path)
		}
	}
	segs := strings.Split(path[1:], "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("the path %q has an empty, \".\" or \"..\" segment", path)
		}
	}
	if isVersion(segs[0]) {
		libpod := len(segs) > 1 && segs[1] == "libpod"
		switch {
		case libpod && libpodVersion(segs[0]), !libpod && dockerVersion(segs[0]):
		case libpod:
			return "", fmt.Errorf("the libpod API version in %q is not one the gate allows (vN.N.N, %d.0.0 or later)", path, minLibpodMajor)
		default:
			return "", fmt.Errorf("the API version in %q is not one the gate allows (vN.NN, 1.%d or later)", path, minAPIMinor)
		}
		segs = segs[1:]
	}
	if len(segs) == 0 || (len(segs) == 1 && segs[0] == "libpod") {
		return "", fmt.Errorf("the path %q names no operation", path)
	}
	if isVersion(segs[0]) || (segs[0] == "libpod" && (isVersion(segs[1]) || segs[1] == "libpod")) {
		return "", fmt.Errorf("the path %q has more than one version prefix", path)
	}
	return "/" + strings.Join(segs, "/"), nil
}

// isVersion reports whether s is a segment an engine may read as a
// version prefix: dockerd's router takes v then digits and dots,
// Podman's v, a digit, then letters, digits, "." and "-".
func isVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || strings.IndexByte("0123456789.", s[1]) < 0 {
		return false
	}
	return strings.Trim(s[2:], "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-") == ""
}

// dockerVersion reports whether s is an allowed Docker API version
// prefix: vN.NN, at least 1.24.
func dockerVersion(s string) bool {
	n, ok := versionNumbers(s, 2)
	return ok && (n[0] > 1 || (n[0] == 1 && n[1] >= minAPIMinor))
}

// libpodVersion reports whether s is an allowed libpod API version
// prefix: vN.N.N, at least 4.0.0.
func libpodVersion(s string) bool {
	n, ok := versionNumbers(s, 3)
	return ok && n[0] >= minLibpodMajor
}

// versionNumbers reads s as v and parts decimal numbers of one to three
// digits joined by dots.
func versionNumbers(s string, parts int) ([]int, bool) {
	f := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(s) < 2 || s[0] != 'v' || len(f) != parts {
		return nil, false
	}
	n := make([]int, parts)
	for i, p := range f {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return nil, false
		}
		n[i], _ = strconv.Atoi(p)
	}
	return n, true
}

// maxKeys bounds the keys of one JSON body.
const maxKeys = 10000

// maxDepth bounds the nesting of arrays and objects in one JSON body, as
// Go's own decoder does (10000): CheckJSON walks it recursively, and a
// body of a million '[' would otherwise overflow the gate's stack.
const maxDepth = 10000

// CheckJSON returns an error unless data is one JSON value with nothing
// after it and no object holding two keys Go's decoder (and so dockerd)
// would read as the same field: equal, or equal but for case.
func CheckJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	keys := 0
	var walk func(depth int) error
	walk = func(depth int) error {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("the body is not valid JSON: %w", err)
		}
		d, ok := t.(json.Delim)
		if !ok {
			return nil
		}
		if depth++; depth > maxDepth {
			return fmt.Errorf("the body nests arrays and objects more than %d deep", maxDepth)
		}
		switch d {
		case '[':
			for dec.More() {
				if err := walk(depth); err != nil {
					return err
				}
			}
		case '{':
			seen := map[string]string{}
			for dec.More() {
				t, err := dec.Token()
				if err != nil {
					return fmt.Errorf("the body is not valid JSON: %w", err)
				}
				k := t.(string)
				if keys++; keys > maxKeys {
					return fmt.Errorf("the body has more than %d keys", maxKeys)
				}
				f := foldKey(k)
				if s, ok := seen[f]; ok {
					return fmt.Errorf("the body has the key %q twice (or in two cases: %q)", k, s)
				}
				seen[f] = k
				if err := walk(depth); err != nil {
					return err
				}
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("the body is not valid JSON: %w", err)
		}
		return nil
	}
	if err := walk(0); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body has data after its JSON value")
	}
	return nil
}

// foldKey maps every rune of k to the least rune of its simple case
// folding orbit, so two keys are strings.EqualFold exactly when their
// foldKeys are equal: CheckJSON finds a repeated key in one map look-up
// instead of comparing it with every earlier key of its object.
func foldKey(k string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, k)
}
