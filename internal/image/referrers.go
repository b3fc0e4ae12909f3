package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Bounds on referrer artifacts a hostile registry can make hull read.
const (
	MaxReferrers         = 64
	MaxReferrerManifest  = 4 << 20
	MaxReferrerBlobBytes = 1 << 20
)

// Referrer is one artifact that refers to an image and has the wanted
// type: its one layer's media type and bytes, or why they could not be read.
type Referrer struct {
	Location    string
	Annotations map[string]string
	MediaType   string
	Blob        []byte
	Err         error
}

// NotFound reports whether a registry error is a 404.
func NotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// Referrers lists the artifacts of artifactType that refer to digest in
// repo, through the OCI 1.1 referrers API or, on registries without it,
// the sha256-<hex> tag fallback; each must have one layer of one of
// layerMediaTypes, which is read with bounds. Other referrers are skipped.
func Referrers(ctx context.Context, repo name.Repository, digest v1.Hash, artifactType string, layerMediaTypes []string, opts []remote.Option) ([]Referrer, error) {
	opts = append(opts, remote.WithContext(ctx))
	idx, err := remote.Referrers(repo.Digest(digest.String()), opts...)
	if NotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", digest, err)
	}
	var out []Referrer
	for i, d := range im.Manifests {
		if i >= MaxReferrers {
			out = append(out, Referrer{Location: repo.String(), Err: fmt.Errorf("more than %d referrers", MaxReferrers)})
			break
		}
		if d.Size > MaxReferrerManifest || !d.MediaType.IsImage() {
			continue
		}
		ref := repo.Digest(d.Digest.String())
		desc, err := remote.Get(ref, opts...)
		if err != nil {
			return nil, fmt.Errorf("read referrer %s: %w", ref, err)
		}
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			out = append(out, Referrer{Location: ref.String(), Err: fmt.Errorf("referrer manifest: %v", err)})
			continue
		}
		if m.ArtifactType != artifactType && m.Config.MediaType != types.MediaType(artifactType) &&
			(len(m.Layers) != 1 || !slices.Contains(layerMediaTypes, string(m.Layers[0].MediaType))) {
			continue
		}
		r := Referrer{Location: ref.String(), Annotations: m.Annotations}
		switch {
		case len(m.Layers) != 1:
			r.Err = fmt.Errorf("artifact has %d layers, want 1", len(m.Layers))
		case !slices.Contains(layerMediaTypes, string(m.Layers[0].MediaType)):
			r.Err = fmt.Errorf("artifact layer is %s, want one of %s", m.Layers[0].MediaType, strings.Join(layerMediaTypes, ", "))
		default:
			r.MediaType = string(m.Layers[0].MediaType)
			r.Blob, r.Err = ReadBlob(ctx, repo, m.Layers[0], MaxReferrerBlobBytes, opts)
			if r.Err != nil && !errors.Is(r.Err, ErrBadBlob) {
				return nil, fmt.Errorf("read referrer %s: %w", ref, r.Err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// ErrBadBlob is wrapped when a blob is not what its descriptor says:
// another size, another digest, absent, or beyond the limit. Other
// errors of ReadBlob (a registry that fails or does not answer in time)
// leave the blob undecided.
var ErrBadBlob = errors.New("blob does not match its descriptor")

// ReadBlob reads the blob d describes in repo: metadata of at most
// limit bytes, which must arrive whole within the timeout, be exactly
// d.Size bytes and hash to d.Digest.
func ReadBlob(ctx context.Context, repo name.Repository, d v1.Descriptor, limit int64, opts []remote.Option) ([]byte, error) {
	if d.Size < 0 || d.Size > limit {
		return nil, fmt.Errorf("%w: blob %s is said to be %d bytes (at most %d)", ErrBadBlob, d.Digest, d.Size, limit)
	}
	opts = append(opts, remote.WithContext(asMetadata(ctx)))
	l, err := remote.Layer(repo.Digest(d.Digest.String()), opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if NotFound(err) {
		return nil, fmt.Errorf("%w: %v", ErrBadBlob, err)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// Reading one byte more than d.Size reaches the end of an honest
	// blob, where go-containerregistry checks the digest.
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	switch {
	case errors.Is(err, ErrTimeout):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrBadBlob, err)
	case int64(len(b)) != d.Size:
		return nil, fmt.Errorf("%w: blob %s is not the %d bytes its descriptor says", ErrBadBlob, d.Digest, d.Size)
	}
	return b, nil
}

// rawManifest is a manifest pushed as it is.
type rawManifest struct {
	body []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.body, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// PushReferrer pushes an artifact that refers to subject: an OCI image
// manifest of artifactType with an empty config and blob as its one
// layer. go-containerregistry also updates the sha256-<hex> fallback tag
// when the registry does not take the subject itself.
func PushReferrer(ctx context.Context, repo name.Repository, subject v1.Descriptor, artifactType, layerMediaType string, blob []byte, annotations map[string]string, opts []remote.Option) (name.Digest, error) {
	opts = append(opts, remote.WithContext(ctx))
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	layer := static.NewLayer(blob, types.MediaType(layerMediaType))
	desc := func(l v1.Layer) (v1.Descriptor, error) {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return v1.Descriptor{}, fmt.Errorf("push blob: %w", err)
		}
		d, _ := l.Digest()
		n, _ := l.Size()
		mt, _ := l.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: d, Size: n}, nil
	}
	cd, err := desc(cfg)
	if err != nil {
		return name.Digest{}, err
	}
	ld, err := desc(layer)
	if err != nil {
		return name.Digest{}, err
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
		Config: cd, Layers: []v1.Descriptor{ld}, Subject: &subject, Annotations: annotations}
	body, err := json.Marshal(m)
	if err != nil {
		return name.Digest{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(body))
	if err != nil {
		return name.Digest{}, err
	}
	ref := repo.Digest(h.String())
	if err := remote.Put(ref, rawManifest{body: body, mt: types.OCIManifestSchema1}, opts...); err != nil {
		return ref, fmt.Errorf("push artifact manifest: %w", err)
	}
	return ref, nil
}
