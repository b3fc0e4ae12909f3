package cosign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/image"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestAttachRefusesAnUnboundedSignatureImage: signing reads the existing
// .sig image of a registry that may lie; a config of size -1 over an
// endless body was read to the end (item 10 of issue 11).
func TestAttachRefusesAnUnboundedSignatureImage(t *testing.T) {
	subject := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	cfg := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}
	sig, err := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfg, Size: -1}})
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/hull/app/manifests/" + SignatureTag(subject):
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			w.Header().Set("Content-Length", fmt.Sprint(len(sig)))
			_, _ = w.Write(sig)
		case "/v2/hull/app/blobs/" + cfg.String():
			buf := make([]byte, 32<<10)
			for n := 0; n < 256<<20; n += len(buf) {
				m, err := w.Write(buf)
				sent.Add(int64(m))
				if err != nil {
					return
				}
			}
		default:
			inner.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/hull/app")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := image.Options{Timeout: time.Second}
	_, err = Attach(ctx, repo, subject, []byte("{}"), []byte("sig"), o.RemoteOptions(ctx))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "its config is said to be -1 bytes") {
		t.Fatalf("got %v, want a refusal of the config size", err)
	}
	if n := sent.Load(); n > 0 {
		t.Errorf("the registry got %d bytes of config written", n)
	}
}
