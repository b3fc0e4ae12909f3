package image

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrPlatform is wrapped when an image has nothing for the platform asked
// for.
var ErrPlatform = errors.New("no image for the platform")

var platformSyntax = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)

// ParsePlatform reads OS/ARCH[/VARIANT] ("linux/arm64/v8").
func ParsePlatform(s string) (*v1.Platform, error) {
	if !platformSyntax.MatchString(s) {
		return nil, errors.New("not OS/ARCH[/VARIANT] (such as linux/amd64 or linux/arm/v7)")
	}
	parts := strings.Split(s, "/")
	p := &v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// platformName is OS/ARCH[/VARIANT].
func platformName(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// checkPlatform refuses an image that is not for the platform the caller
// named; an image whose configuration names no platform cannot be
// judged and passes.
func (im *Image) checkPlatform(o Options) error {
	if o.Platform == nil || im.Config == nil || im.dir != "" || im.Config.OS == "" || im.Config.Architecture == "" {
		return nil
	}
	have := v1.Platform{OS: im.Config.OS, Architecture: im.Config.Architecture, Variant: im.Config.Variant}
	if !have.Satisfies(*o.Platform) {
		return fmt.Errorf("%w %s: the image is for %s", ErrPlatform, platformName(*o.Platform), platformName(have))
	}
	return nil
}

// noPlatform says which platforms an index has when none is want.
func noPlatform(ds []v1.Descriptor, want v1.Platform) error {
	var have []string
	for _, d := range ds {
		if d.Platform != nil && d.Platform.OS != "unknown" {
			have = append(have, platformName(*d.Platform))
		}
	}
	slices.Sort(have)
	if len(have) == 0 {
		return fmt.Errorf("%w %s: the index names no platform", ErrPlatform, platformName(want))
	}
	return fmt.Errorf("%w %s: the image has %s (choose one with --platform)", ErrPlatform, platformName(want), strings.Join(slices.Compact(have), ", "))
}

// registryImageError explains a failure to open a registry image: when
// ref names an index with nothing for the platform, which platforms it
// has (go-containerregistry prints its platform struct); otherwise err
// itself. Only that failure costs a second request.
func registryImageError(ctx context.Context, ref name.Reference, o Options, err error) error {
	if !strings.Contains(err.Error(), "no child with platform") {
		return err
	}
	idx, ierr := remote.Index(ref, o.RemoteOptions(ctx)...)
	if ierr != nil {
		return err
	}
	m, ierr := idx.IndexManifest()
	if ierr != nil {
		return err
	}
	if _, ok := pickPlatform(m.Manifests, o.platform()); ok {
		return err
	}
	return noPlatform(m.Manifests, o.platform())
}
