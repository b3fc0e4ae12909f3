package verify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/verify"
)

// TestLookasideRedirectKeepsTheRule: plain HTTP is allowed to a loopback
// store only, but the store's redirects were followed anywhere: a
// loopback (or https) store could send hull over plain HTTP to any host.
// A redirect must satisfy the same rule as the store's own address.
func TestLookasideRedirectKeepsTheRule(t *testing.T) {
	w := newWorld(t)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://192.0.2.1/sigs"+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	trust := w.policy("release.pub")
	trust.Lookaside = []policy.Lookaside{{Scope: w.reg, URL: srv.URL}}
	v, err := verify.New(trust, w.dir, image.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), w.imageA); err == nil || !strings.Contains(err.Error(), "refusing plain HTTP") {
		t.Errorf("a redirect to plain HTTP on another host: %v", err)
	}
}
