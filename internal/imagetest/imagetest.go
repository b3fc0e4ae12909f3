// Package imagetest builds small, deterministic container images for
// tests: tar layers from a list of entries, and images from layers and a
// config, with go-containerregistry. It is imported by tests only.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the modification time of every entry and the image creation time.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Entry is one tar entry. Type defaults to a regular file, or a
// directory when Name ends in "/".
type Entry struct {
	Name     string
	Type     byte
	Mode     int64
	Body     string
	Link     string
	UID, GID int
	PAX      map[string]string
	Major    int64
	Minor    int64
}

// File, Dir, Symlink and Whiteout are shorthands for common entries.
func File(name, body string, mode int64) Entry { return Entry{Name: name, Body: body, Mode: mode} }

// Dir is a directory entry.
func Dir(name string, mode int64) Entry { return Entry{Name: name, Type: tar.TypeDir, Mode: mode} }

// Symlink is a symbolic link entry.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Link: target, Mode: 0o777}
}

// Tar returns the tar stream of entries, in order.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Link, Uid: e.UID, Gid: e.GID,
			ModTime: Epoch, PAXRecords: e.PAX, Devmajor: e.Major, Devminor: e.Minor}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			if len(e.Name) > 0 && e.Name[len(e.Name)-1] == '/' {
				h.Typeflag = tar.TypeDir
			}
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if len(e.PAX) > 0 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %s: %v", e.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layer makes a gzip layer of entries.
func Layer(t testing.TB, entries ...Entry) v1.Layer {
	t.Helper()
	return RawLayer(t, Tar(t, entries...))
}

// RawLayer makes a gzip layer of an arbitrary (perhaps hostile) tar stream.
func RawLayer(t testing.TB, data []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Image builds an OCI image from a config and layers; history entries,
// if given, match the layers (one per layer) and extra ones are recorded
// as empty-layer steps. OCI media types let skopeo and podman copy it
// without re-encoding its config, so every copy keeps its image ID.
func Image(t testing.TB, cfg v1.Config, history []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: "amd64", OS: "linux", Created: v1.Time{Time: Epoch}, Config: cfg,
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		t.Fatal(err)
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: Epoch}}}
		if i < len(history) {
			adds[i].History.CreatedBy = history[i]
		}
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		t.Fatal(err)
	}
	// Extra history lines beyond the layers are empty-layer steps.
	if len(history) > len(layers) {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		for _, h := range history[len(layers):] {
			cf.History = append(cf.History, v1.History{Created: v1.Time{Time: Epoch}, CreatedBy: h, EmptyLayer: true})
		}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// WriteDockerArchive writes img as a 'docker save' tarball tagged tag.
func WriteDockerArchive(t testing.TB, path, tag string, img v1.Image) {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		t.Fatal(err)
	}
}
