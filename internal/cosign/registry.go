package cosign

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/hull-sec/hull/internal/image"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Stored is one signature found under an image's .sig tag, or why it
// could not be read.
type Stored struct {
	Location  string
	Payload   []byte
	Signature string
	// Keyless signatures carry their Fulcio certificate (PEM) and Rekor
	// bundle (signed entry timestamp and entry) in annotations.
	Certificate string
	RekorBundle string
	Err         error
}

// Fetch reads the signatures stored for digest in repo. No .sig tag
// means no signatures; a .sig manifest that is too large, not an image
// manifest, or holds too many layers yields one Stored with the reason.
func Fetch(ctx context.Context, repo name.Repository, digest v1.Hash, opts []remote.Option) ([]Stored, error) {
	opts = append(opts, remote.WithContext(ctx))
	tag := repo.Tag(SignatureTag(digest))
	loc := tag.String()
	head, err := remote.Head(tag, opts...)
	if image.NotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", loc, err)
	}
	switch {
	case head.Size > MaxManifestBytes:
		return []Stored{{Location: loc, Err: fmt.Errorf("%w: signature manifest is %d bytes", ErrInvalid, head.Size)}}, nil
	case !head.MediaType.IsImage():
		return []Stored{{Location: loc, Err: fmt.Errorf("%w: signature tag names a %s, not an image manifest", ErrInvalid, head.MediaType)}}, nil
	}
	desc, err := remote.Get(tag, opts...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", loc, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return []Stored{{Location: loc, Err: fmt.Errorf("%w: signature manifest: %v", ErrInvalid, err)}}, nil
	}
	if len(m.Layers) > MaxSignatures {
		return []Stored{{Location: loc, Err: fmt.Errorf("%w: %d signature layers, more than %d", ErrInvalid, len(m.Layers), MaxSignatures)}}, nil
	}
	var out []Stored
	for i, l := range m.Layers {
		s := Stored{Location: fmt.Sprintf("%s layer %d", loc, i), Signature: l.Annotations[SignatureAnnotation],
			Certificate: l.Annotations[CertificateAnnotation], RekorBundle: l.Annotations[RekorBundleAnnotation]}
		switch {
		case l.MediaType != PayloadMediaType:
			s.Err = fmt.Errorf("%w: layer media type %s", ErrInvalid, l.MediaType)
		case s.Signature == "":
			s.Err = fmt.Errorf("%w: layer has no %s annotation", ErrInvalid, SignatureAnnotation)
		default:
			s.Payload, s.Err = image.ReadBlob(ctx, repo, l, MaxPayloadBytes, opts)
			if s.Err != nil && !errors.Is(s.Err, image.ErrBadBlob) {
				return nil, fmt.Errorf("read %s: %w", s.Location, s.Err)
			}
			if s.Err != nil {
				s.Err = fmt.Errorf("%w: payload blob: %v", ErrInvalid, s.Err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Attach adds a signature layer to the image's .sig manifest, creating
// it if needed, as cosign sign does.
func Attach(ctx context.Context, repo name.Repository, digest v1.Hash, payload, sig []byte, opts []remote.Option) (name.Tag, error) {
	opts = append(opts, remote.WithContext(ctx))
	tag := repo.Tag(SignatureTag(digest))
	base, err := remote.Image(tag, opts...)
	if image.NotFound(err) {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	} else if err != nil {
		return tag, fmt.Errorf("read %s: %w", tag, err)
	} else if err := checkSignatureImage(base); err != nil {
		return tag, fmt.Errorf("read %s: %w", tag, err)
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(payload, PayloadMediaType),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return tag, err
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return tag, fmt.Errorf("push %s: %w", tag, err)
	}
	return tag, nil
}

// checkSignatureImage refuses an existing .sig image whose config
// descriptor a reader would follow without bound (a negative size reads
// to the end of whatever the registry sends) or beyond what metadata is.
func checkSignatureImage(img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	if m.Config.Size < 0 || m.Config.Size > MaxManifestBytes {
		return fmt.Errorf("%w: its config is said to be %d bytes", ErrInvalid, m.Config.Size)
	}
	return nil
}
