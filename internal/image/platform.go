package image

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrPlatform is wrapped when an image has nothing for the platform asked
// for.
var ErrPlatform = errors.New("no image for the platform")

var platformSyntax = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`) })

// ParsePlatform reads OS/ARCH[/VARIANT] ("linux/arm64/v8").
func ParsePlatform(s string) (*v1.Platform, error) {
	if !platformSyntax().MatchString(s) {
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
// judged and passes, and a variant counts only where the configuration
// names one.
func (im *Image) checkPlatform(o Options) error {
	if o.Platform == nil || im.Config == nil || im.dir != "" || im.Config.OS == "" || im.Config.Architecture == "" {
		return nil
	}
	have := v1.Platform{OS: im.Config.OS, Architecture: im.Config.Architecture, Variant: im.Config.Variant}
	want := *o.Platform
	if have.Variant == "" {
		// Configs seldom name a variant; the index that chose this
		// image by its variant has said it already.
		want.Variant = ""
	}
	if !have.Satisfies(want) {
		return fmt.Errorf("%w %s: the image is for %s", ErrPlatform, platformName(*o.Platform), platformName(have))
	}
	return nil
}

// choosePlatform is pickPlatform, refusing an entry whose size no
// honest manifest or index has before anything of it is read.
func choosePlatform(ds []v1.Descriptor, want v1.Platform) (v1.Descriptor, error) {
	d, err := pickPlatform(ds, want)
	if err == nil && (d.Size < 0 || d.Size > maxMetadataBytes) {
		err = fmt.Errorf("%w: the index says the manifest for %s is %d bytes (at most %d)", ErrTooLarge, platformName(*d.Platform), d.Size, maxMetadataBytes)
	}
	return d, err
}

// pickPlatform picks out of an index the image an engine would take
// for want: the one whose platform is want exactly, variant included
// (podman prefers it), else the only one that satisfies want. Several
// that satisfy it and none exactly (linux/amd64/v2 and linux/amd64/v3 for
// linux/amd64) leave the choice to each engine's idea of the CPU, so hull
// refuses to guess. The error says which platforms the index offers.
func pickPlatform(ds []v1.Descriptor, want v1.Platform) (v1.Descriptor, error) {
	var fits []v1.Descriptor
	var offered []string
	for _, d := range ds {
		if d.Platform == nil {
			continue
		}
		if d.Platform.OS != "unknown" { // attestation manifests
			offered = append(offered, platformName(*d.Platform))
		}
		if !d.Platform.Satisfies(want) {
			continue
		}
		if defaultVariant(d.Platform.Architecture, d.Platform.Variant) == defaultVariant(want.Architecture, want.Variant) {
			return d, nil
		}
		fits = append(fits, d)
	}
	switch len(fits) {
	case 0:
		slices.Sort(offered)
		if len(offered) == 0 {
			return v1.Descriptor{}, fmt.Errorf("%w %s: the index names no platform", ErrPlatform, platformName(want))
		}
		return v1.Descriptor{}, fmt.Errorf("%w %s: the image has %s (choose one with --platform)", ErrPlatform, platformName(want), strings.Join(slices.Compact(offered), ", "))
	case 1:
		return fits[0], nil
	}
	var names []string
	for _, d := range fits {
		names = append(names, platformName(*d.Platform))
	}
	return v1.Descriptor{}, fmt.Errorf("the index offers %d images for platform %s (%s) and none without a variant; name one with --platform", len(fits), platformName(want), strings.Join(names, ", "))
}

// defaultVariant maps the variants that mean "the baseline" to "", as
// containerd normalises them.
func defaultVariant(arch, variant string) string {
	if arch == "amd64" && variant == "v1" || arch == "arm64" && variant == "v8" {
		return ""
	}
	return variant
}
