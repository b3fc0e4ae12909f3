// Package image opens container images from every place they live and gives
// one view of their contents.
//
// Data flow: Open parses a reference (ParseRef), builds a go-containerregistry
// v1.Image for its source, and returns an *Image. Walk streams the merged
// filesystem of that image top layer first, applying whiteouts and opaque
// directories, reading each layer once in bounded memory; Index builds an
// fs.FS from the same walk. Every tar stream hull reads, layers and archives
// alike, passes through the checks in safetar.go.
package image

import (
	"errors"
	"fmt"
	"strings"
)

// Kind names an image source.
type Kind string

// The sources hull reads.
const (
	KindRegistry      Kind = "registry"
	KindDockerArchive Kind = "docker-archive"
	KindOCIArchive    Kind = "oci-archive"
	KindOCILayout     Kind = "oci"
	KindDockerDaemon  Kind = "docker-daemon"
	KindPodman        Kind = "podman"
	KindDir           Kind = "dir"
)

// Ref is a parsed image reference.
type Ref struct {
	Kind Kind
	// Path is the archive, layout or directory path for file sources.
	Path string
	// Name is the registry reference, the daemon image name, or the tag
	// inside an OCI layout or archive (may be empty).
	Name string
}

func (r Ref) String() string {
	switch r.Kind {
	case KindRegistry:
		return r.Name
	case KindDockerDaemon, KindPodman:
		return string(r.Kind) + ":" + r.Name
	}
	if r.Name != "" {
		return string(r.Kind) + ":" + r.Path + ":" + r.Name
	}
	return string(r.Kind) + ":" + r.Path
}

// ErrBadRef is wrapped by every reference parse error.
var ErrBadRef = errors.New("bad image reference")

// RefSyntax documents the accepted references; the CLI prints it in --help.
const RefSyntax = `  registry.example.com/repo:tag      an image in a registry (also @sha256:...; docker:// prefix optional)
  docker-archive:PATH                a tarball from 'docker save' or 'podman save'
  oci-archive:PATH[:TAG]             a tarball of an OCI image layout
  oci:DIR[:TAG]                      an OCI image layout directory
  docker-daemon:NAME                 an image in Docker, through its API socket (DOCKER_HOST)
  podman:NAME                        an image in Podman, through its API socket (CONTAINER_HOST)
  dir:PATH                           a root filesystem on disk`

// ParseRef reads a reference in hull's one syntax (see RefSyntax).
func ParseRef(s string) (Ref, error) {
	if strings.TrimSpace(s) == "" {
		return Ref{}, fmt.Errorf("%w: empty", ErrBadRef)
	}
	kind, rest, ok := strings.Cut(s, ":")
	if ok {
		switch Kind(kind) {
		case KindDockerArchive, KindDir:
			if rest == "" {
				return Ref{}, fmt.Errorf("%w %q: missing path", ErrBadRef, s)
			}
			return Ref{Kind: Kind(kind), Path: rest}, nil
		case KindOCIArchive, KindOCILayout:
			path, tag := splitTag(rest)
			if path == "" {
				return Ref{}, fmt.Errorf("%w %q: missing path", ErrBadRef, s)
			}
			return Ref{Kind: Kind(kind), Path: path, Name: tag}, nil
		case KindDockerDaemon, KindPodman:
			if rest == "" {
				return Ref{}, fmt.Errorf("%w %q: missing image name", ErrBadRef, s)
			}
			return Ref{Kind: Kind(kind), Name: rest}, nil
		case "docker":
			return Ref{Kind: KindRegistry, Name: strings.TrimPrefix(rest, "//")}, nil
		}
	}
	if strings.Contains(s, "://") {
		return Ref{}, fmt.Errorf("%w %q: unknown transport (want a registry reference or one of docker-archive:, oci-archive:, oci:, docker-daemon:, podman:, dir:)", ErrBadRef, s)
	}
	return Ref{Kind: KindRegistry, Name: s}, nil
}

// splitTag splits "path:tag" where the tag holds no slash, as skopeo does.
func splitTag(s string) (path, tag string) {
	i := strings.LastIndex(s, ":")
	if i < 0 || strings.Contains(s[i+1:], "/") {
		return s, ""
	}
	return s[:i], s[i+1:]
}
