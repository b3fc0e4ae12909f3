package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"

	"github.com/spf13/pflag"
)

var imageRefHelp = image.RefSyntax

// imageFlags are the flags every command that opens an image shares.
type imageFlags struct {
	insecure []string
	platform string
	maxLayer int64
	timeout  time.Duration
	fs       *pflag.FlagSet
}

// imageUse says what a verb does beyond naming an image, so that it
// offers only the flags that change something for it.
type imageUse struct {
	policy bool // it reads a policy file, whose registry.timeout --timeout overrides
	opens  bool // it opens the image, which --platform picks and --max-layer-bytes bounds; sign and verify only resolve its digest
}

// register adds the flags to fs.
func (f *imageFlags) register(fs *pflag.FlagSet, use imageUse) {
	f.fs = fs
	f.maxLayer = image.DefaultLimits.MaxLayerBytes
	timeoutHelp := "longest wait for any one registry or engine operation, or for a layer's next bytes, as a `DURATION` (30s, 2m)"
	if use.policy {
		timeoutHelp += "; overrides the policy's registry.timeout"
	}
	fs.DurationVar(&f.timeout, "timeout", image.DefaultTimeout, timeoutHelp)
	fs.StringSliceVar(&f.insecure, "insecure-registry", nil, "registry `HOST[:PORT]` to speak plain HTTP to, without trying TLS first (loopback registries try TLS, then plain HTTP)")
	if use.opens {
		fs.StringVar(&f.platform, "platform", "", "`OS/ARCH[/VARIANT]` to pick from a multi-platform image (default linux/<this machine>)")
		fs.Int64Var(&f.maxLayer, "max-layer-bytes", image.DefaultLimits.MaxLayerBytes, "refuse a layer or archive whose uncompressed size exceeds `N` bytes")
	}
}

// usePolicy takes the policy's registry timeout unless --timeout was
// given; a nil policy (none found) changes nothing.
func (f *imageFlags) usePolicy(p *policy.Policy) {
	if p == nil {
		return
	}
	if d := p.Registry.TimeoutDuration(); d > 0 && !f.fs.Changed("timeout") {
		f.timeout = d
	}
}

func (f *imageFlags) options() (image.Options, error) {
	o := image.Options{InsecureRegistries: f.insecure, Limits: image.Limits{MaxLayerBytes: f.maxLayer}, Timeout: f.timeout}
	if f.timeout <= 0 {
		return o, fmt.Errorf("--timeout %s: must be positive", f.timeout)
	}
	if f.platform != "" {
		p, err := image.ParsePlatform(f.platform)
		if err != nil {
			return o, fmt.Errorf("--platform %q: %w", f.platform, err)
		}
		o.Platform = p
	}
	return o, nil
}

// layerProgress draws a bar of the layers read so far on a terminal, and
// nothing otherwise: "app:1  [######------]  3/5 layers".
func layerProgress(w io.Writer, what string) (onLayer func(done, n int), done func()) {
	if !isTerminal(w) {
		return nil, func() {}
	}
	const width = 24
	line := 0
	return func(k, n int) {
			fill := width * k / max(n, 1)
			s := fmt.Sprintf("\r%s  [%s%s]  %d/%d layers", what, strings.Repeat("#", fill), strings.Repeat("-", width-fill), k, n)
			line = max(line, len(s))
			fmt.Fprint(w, s)
		}, func() {
			if line > 0 {
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", line))
			}
		}
}

// open opens the image ref with the flags' options. The caller closes it.
func (f *imageFlags) open(ctx context.Context, ref string) (*image.Image, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	return image.Open(ctx, ref, opts)
}
