package workload

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// Format is a deployment file format ReadFiles recognises.
type Format string

// The formats, and FormatUnknown for anything else.
const (
	FormatUnknown    Format = ""
	FormatCompose    Format = "Compose file"
	FormatKubernetes Format = "Kubernetes manifest"
	FormatOCI        Format = "OCI runtime config"
)

// DefaultMaxFileBytes bounds one file (or standard input) ReadFiles reads.
const DefaultMaxFileBytes = 32 << 20

// ReadOptions say where standard input comes from and how much to read.
type ReadOptions struct {
	// Stdin is read for the path "-"; nil reads nothing (an error).
	Stdin io.Reader
	// MaxFileBytes bounds one file; 0 is DefaultMaxFileBytes.
	MaxFileBytes int64
}

// Files are the workloads of a set of deployment files.
type Files struct {
	// Workloads are every container of every file read, in file order.
	Workloads []Workload
	// Read are the files read, in order ("-" for standard input).
	Read []string
	// Skipped name what was listed but not judged, each with why: the
	// files a directory held that are none of the formats (a chart's
	// values.yaml), the objects of a manifest that hold containers but
	// are no kind hull reads (a custom resource with a pod template), the
	// Compose services of profiles not active.
	Skipped []string
	// Errs hold one error per file that could not be read or parsed, or
	// named on the command line but of no known format; each names its
	// file. A caller must treat any as "could not decide".
	Errs []error
}

// Images are the image references the workloads name, each once, sorted.
func (f *Files) Images() []string {
	var out []string
	for _, w := range f.Workloads {
		if w.Image != "" && !slices.Contains(out, w.Image) {
			out = append(out, w.Image)
		}
	}
	slices.Sort(out)
	return out
}

// ReadFiles reads Compose files, Kubernetes manifests (YAML or JSON, one
// or many documents, List kinds) and OCI runtime configs into workloads.
// Each path is a file, a directory (every *.yaml, *.yml and *.json under
// it, recursively, hidden directories left out) or "-" for standard input
// (helm template, kustomize build). The format is sniffed per file: an
// ociVersion makes an OCI config, a document with apiVersion and kind a
// Kubernetes manifest, a services key a Compose file. A file that cannot
// be read or parsed is an error in Files.Errs, never skipped.
func ReadFiles(ctx context.Context, paths []string, o ReadOptions) *Files {
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	// The paths are listed first, in order, as jobs; the files are then
	// read and converted in parallel (a directory of a thousand manifests
	// is CPU-bound decoding), and their results put back in order.
	var jobs []func(f *Files)
	fail := func(err error) { jobs = append(jobs, func(f *Files) { f.Errs = append(f.Errs, err) }) }
	stdinRead := false
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			fail(err)
			break
		}
		if p == "-" {
			if stdinRead {
				fail(errors.New("standard input (-) is named twice"))
				continue
			}
			stdinRead = true
			if o.Stdin == nil {
				fail(errors.New("-: no standard input"))
				continue
			}
			data, err := readLimited(o.Stdin, o.MaxFileBytes)
			if err != nil {
				fail(fmt.Errorf("standard input: %w", err))
				continue
			}
			jobs = append(jobs, func(f *Files) { f.add(ctx, "-", data, true) })
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			fail(fmt.Errorf("read %s: %w", p, plainPathError(err)))
			continue
		}
		if !fi.IsDir() {
			jobs = append(jobs, func(f *Files) { f.readFile(ctx, p, o.MaxFileBytes, true) })
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				fail(fmt.Errorf("read %s: %w", path, plainPathError(err)))
				return nil
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				// Only a file of an override name can be an override: the
				// other files of a directory of manifests cost no stat.
				if slices.Contains(composeOverrideNames, d.Name()) {
					if winner, override := composeDefaults(filepath.Dir(path)); override == path {
						// Judged as part of the Compose file it overrides.
						jobs = append(jobs, func(f *Files) {
							f.Skipped = append(f.Skipped, path+": read with "+filepath.Base(winner)+", which it overrides")
						})
						return nil
					}
				}
				jobs = append(jobs, func(f *Files) { f.readFile(ctx, path, o.MaxFileBytes, false) })
			}
			return nil
		})
		if err != nil {
			fail(err)
		}
	}
	return runJobs(ctx, jobs)
}

// runJobs runs the jobs on as many goroutines as there are CPUs, each
// into its own Files, and joins their results in the jobs' order. Jobs not
// started when ctx ends are named by one error.
func runJobs(ctx context.Context, jobs []func(f *Files)) *Files {
	parts := make([]Files, len(jobs))
	ran := make([]bool, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() == nil {
					jobs[i](&parts[i])
					ran[i] = true
				}
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	out := &Files{}
	for _, p := range parts {
		out.Workloads = append(out.Workloads, p.Workloads...)
		out.Read = append(out.Read, p.Read...)
		out.Skipped = append(out.Skipped, p.Skipped...)
		out.Errs = append(out.Errs, p.Errs...)
	}
	if left := len(ran) - len(slices.DeleteFunc(ran, func(r bool) bool { return !r })); left > 0 {
		out.Errs = append(out.Errs, fmt.Errorf("%d files not read: %w", left, ctx.Err()))
	}
	return out
}

// readFile reads and converts one file; named says the user named it
// (rather than a directory holding it), which makes an unknown format an
// error instead of a skip.
func (f *Files) readFile(ctx context.Context, path string, max int64, named bool) {
	flag := os.O_RDONLY
	if !named {
		// A FIFO a directory holds would block the open: only regular
		// files are read there (a file named on the command line may be
		// a pipe, as <(helm template ...) is).
		flag |= syscall.O_NONBLOCK
	}
	file, err := os.OpenFile(path, flag, 0)
	if err != nil {
		f.Errs = append(f.Errs, fmt.Errorf("read %s: %w", path, plainPathError(err)))
		return
	}
	defer file.Close()
	if !named {
		if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Skipped = append(f.Skipped, path+": not a regular file; not read")
			return
		}
	}
	data, err := readLimited(file, max)
	if err != nil {
		f.Errs = append(f.Errs, fmt.Errorf("read %s: %w", path, err))
		return
	}
	f.add(ctx, path, data, named)
}

// add converts the content of one file.
func (f *Files) add(ctx context.Context, path string, data []byte, named bool) {
	format := Sniff(data)
	if format == FormatUnknown {
		why := "not a Compose file (no services), a Kubernetes manifest (no apiVersion and kind) or an OCI runtime config (no ociVersion)"
		if named {
			f.Errs = append(f.Errs, fmt.Errorf("%s: %s", path, why))
		} else {
			f.Skipped = append(f.Skipped, path+": "+why)
		}
		return
	}
	f.Read = append(f.Read, path)
	var ws []Workload
	var notJudged []string
	var err error
	switch format {
	case FormatOCI:
		var w Workload
		if w, err = ParseOCIConfig(data, path); err == nil {
			ws = []Workload{w}
		}
	case FormatKubernetes:
		ws, notJudged, err = parseKubernetes(data, path)
	case FormatCompose:
		ws, notJudged, err = parseCompose(ctx, path, data, ComposeOptions{})
	}
	if err != nil {
		// The converters name the file; say what it was taken for.
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		a := "a"
		if format == FormatOCI {
			a = "an"
		}
		f.Errs = append(f.Errs, fmt.Errorf("%w (read as %s %s)", err, a, format))
		return
	}
	f.Workloads = append(f.Workloads, ws...)
	f.Skipped = append(f.Skipped, notJudged...)
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return data, nil
}

// plainPathError drops the operation and path a *fs.PathError repeats
// ("open x: no such file or directory" becomes "no such file or
// directory"), as the caller names the file already.
func plainPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Sniff says which format data is in, from its top-level keys: an
// ociVersion is an OCI runtime config; apiVersion and kind in one
// document a Kubernetes manifest; services a Compose file. It reads only
// keys that start a line (YAML's block style, which every tool writes)
// or the top-level object of a JSON document.
func Sniff(data []byte) Format {
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		var top map[string]json.RawMessage
		if json.Unmarshal(t, &top) != nil {
			// Not one JSON object: perhaps a JSON stream or YAML flow
			// style, which the Kubernetes reader takes.
			return sniffLines(data)
		}
		has := func(k string) bool { _, ok := top[k]; return ok }
		return formatOf(has, has("apiVersion") && has("kind"))
	}
	return sniffLines(data)
}

// sniffLines looks at the keys at the start of lines, document by
// document (a Kubernetes stream may open with a document of comments),
// after a byte order mark, which YAML readers skip; when they show no
// format, at the top-level keys of the YAML documents.
func sniffLines(data []byte) Format {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), len(data)+1)
	anyDoc, doc := map[string]bool{}, map[string]bool{}
	k8s := false
	flush := func() {
		if doc["apiVersion"] && doc["kind"] {
			k8s = true
		}
		doc = map[string]bool{}
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") {
			flush()
			continue
		}
		if line == "" || line[0] == ' ' || line[0] == '\t' || line[0] == '#' || line[0] == '-' {
			continue
		}
		key, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.Trim(strings.TrimSpace(key), `"'`)
		doc[key], anyDoc[key] = true, true
	}
	flush()
	if f := formatOf(func(k string) bool { return anyDoc[k] }, k8s); f != FormatUnknown {
		return f
	}
	return sniffYAML(data)
}

// sniffYAML decides from the top-level keys of each YAML document, for
// what no line starts with: a document in flow style ("{services: {web:
// ...}}", which docker compose reads), keys written "? key". It stops at
// the first document that is not YAML.
func sniffYAML(data []byte) Format {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	anyDoc := map[string]bool{}
	k8s := false
	for {
		var n yaml.Node
		if dec.Decode(&n) != nil {
			break
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		m := n.Content[0]
		doc := map[string]bool{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			doc[m.Content[i].Value], anyDoc[m.Content[i].Value] = true, true
		}
		k8s = k8s || doc["apiVersion"] && doc["kind"]
	}
	return formatOf(func(k string) bool { return anyDoc[k] }, k8s)
}

// formatOf decides from the top-level keys (has) and whether one
// document holds apiVersion and kind together (k8s).
func formatOf(has func(string) bool, k8s bool) Format {
	switch {
	case has("ociVersion"):
		return FormatOCI
	case k8s:
		return FormatKubernetes
	case has("services"):
		return FormatCompose
	}
	return FormatUnknown
}
