package image

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// parseRegistryRef parses a registry reference, marking it insecure
// (plain HTTP allowed) only when its registry is listed.
func parseRegistryRef(s string, o Options) (name.Reference, error) {
	if r, err := ParseRef(s); err == nil && r.Kind != KindRegistry {
		return nil, fmt.Errorf("%w: a %s image is not in a registry; signing and verifying need one in a registry (HOST/REPOSITORY:TAG)", ErrBadRef, r.Kind)
	}
	s = strings.TrimPrefix(s, "docker://")
	var nopts []name.Option
	reg, _, _ := strings.Cut(s, "/")
	if slices.Contains(o.InsecureRegistries, reg) {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(s, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRef, err)
	}
	return ref, nil
}

// RemoteOptions are the go-containerregistry options every registry
// call of hull uses: credentials from the keychain, the platform, and
// the plain-HTTP guard. Engines that talk to registries themselves
// (signature stores) use them too.
func (o Options) RemoteOptions(ctx context.Context) []remote.Option {
	if o.puller != nil {
		return []remote.Option{remote.WithContext(ctx), remote.Reuse(o.puller)}
	}
	return o.baseRemoteOptions(ctx)
}

// Shared returns options whose registry calls share one transport and
// one token per repository, for callers that make many calls (verify
// makes four or five per image); each call otherwise pings the registry
// and authenticates again.
func (o Options) Shared() (Options, error) {
	p, err := remote.NewPuller(o.baseRemoteOptions(context.Background())...)
	if err != nil {
		return o, err
	}
	o.puller = p
	return o, nil
}

func (o Options) baseRemoteOptions(ctx context.Context) []remote.Option {
	base := o.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithPlatform(o.platform()),
		remote.WithTransport(&plainHTTPGuard{allowed: o.InsecureRegistries, base: &deadlineTransport{
			base: base, timeout: o.RequestTimeout(), peer: registryPeer, streamed: isBlobGet, maxBody: maxMetadataBytes}}),
	}
}

// RequestTimeout is the timeout each registry and engine operation gets.
func (o Options) RequestTimeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// Resolved is a registry reference pinned to the manifest it names now.
type Resolved struct {
	// Name is the parsed repository, for further registry calls.
	Name name.Repository
	// Repository is "host/path" as containers tools write it
	// ("docker.io/library/alpine", not "index.docker.io/...").
	Repository string
	// Reference is Repository with the tag or digest the caller gave.
	Reference string
	// Tag is the tag the caller gave, "" for a digest reference.
	Tag string
	// Digest is the manifest (or index) digest the reference names.
	Digest v1.Hash
	// Descriptor describes that manifest (media type, size), when the
	// registry was asked.
	Descriptor v1.Descriptor
}

// Resolve asks the registry once which manifest ref names. Signatures
// are then looked up and checked for that digest only, so a tag moved
// in between cannot swap the image under a verdict.
func Resolve(ctx context.Context, ref string, o Options) (Resolved, error) {
	r, err := parseRegistryRef(ref, o)
	if err != nil {
		return Resolved{}, err
	}
	desc, err := remote.Head(r, o.RemoteOptions(ctx)...)
	if err != nil {
		return Resolved{}, fmt.Errorf("resolve %s: %w", ref, err)
	}
	res := Resolved{Name: r.Context(), Repository: CanonicalRepository(r.Context()), Digest: desc.Digest, Descriptor: *desc}
	switch t := r.(type) {
	case name.Tag:
		res.Tag = t.TagStr()
		res.Reference = res.Repository + ":" + res.Tag
	case name.Digest:
		if t.DigestStr() != desc.Digest.String() {
			return Resolved{}, fmt.Errorf("resolve %s: registry returned digest %s", ref, desc.Digest)
		}
		res.Reference = res.Repository + "@" + t.DigestStr()
	}
	return res, nil
}

// CanonicalRepository names a repository the way containers tools and
// their policies do: Docker Hub is "docker.io".
func CanonicalRepository(r name.Repository) string {
	host := r.RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io"
	}
	return host + "/" + r.RepositoryStr()
}
