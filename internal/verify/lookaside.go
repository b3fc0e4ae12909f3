package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/policy"
	"github.com/hull-sec/hull/internal/simplesign"
)

// fetched is one stored signature, or why it could not be read (too
// large, not a file): a bad entry in the store is an invalid signature, not a reason
// to ignore the valid ones beside it.
type fetched struct {
	location string
	data     []byte
	err      error
}

// simpleSignatures reads signature-1, signature-2, ... for the image's
// digest from the lookaside store covering its repository, up to the
// first missing one.
func (v *Verifier) simpleSignatures(ctx context.Context, res image.Resolved) ([]fetched, error) {
	store := v.trust.LookasideFor(res.Repository)
	if store == nil {
		return nil, nil
	}
	get, base, done, err := v.storeReader(store)
	if err != nil {
		return nil, err
	}
	defer done()
	var out []fetched
	for n := 1; n <= simplesign.MaxSignatures; n++ {
		rel, err := simplesign.SignaturePath(res.Repository, res.Digest.String(), n)
		if err != nil {
			return nil, err
		}
		data, err := get(ctx, rel)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if errors.Is(err, errOversize) || errors.Is(err, errNotFile) {
			out = append(out, fetched{location: base + "/" + rel, err: err})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read signature %s: %w", base+"/"+rel, err)
		}
		out = append(out, fetched{location: base + "/" + rel, data: data})
	}
	return out, nil
}

// storeLocation says where a lookaside store is read: a directory (dir,
// absolute) or an http(s) URL.
func (v *Verifier) storeLocation(store *policy.Lookaside) (dir, rawURL string) {
	if store.URL == "" {
		return v.path(store.Path), ""
	}
	if u, err := url.Parse(store.URL); err == nil && u.Scheme == "file" {
		return v.path(u.Path), ""
	}
	return "", store.URL
}

// storeReader returns a function reading a path below the store, and
// one to call when done. A store directory that does not exist yet holds
// no signatures.
func (v *Verifier) storeReader(store *policy.Lookaside) (get func(context.Context, string) ([]byte, error), base string, done func(), err error) {
	dir, raw := v.storeLocation(store)
	if raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, "", nil, err
		}
		return httpReader(u, v.image.RequestTimeout()), raw, func() {}, nil
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return func(context.Context, string) ([]byte, error) { return nil, fs.ErrNotExist }, dir, func() {}, nil
	}
	if err != nil {
		return nil, "", nil, err
	}
	return func(_ context.Context, rel string) ([]byte, error) {
		// Without O_NONBLOCK, opening a FIFO put where a signature goes
		// would block for ever.
		f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil {
			return nil, err
		} else if !fi.Mode().IsRegular() {
			return nil, errNotFile
		}
		return readSignature(f)
	}, dir, func() { root.Close() }, nil
}

var (
	errOversize = fmt.Errorf("signature is more than %d bytes", simplesign.MaxSignatureBytes)
	errNotFile  = errors.New("signature is not a regular file")
)

func readSignature(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, simplesign.MaxSignatureBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > simplesign.MaxSignatureBytes {
		return nil, errOversize
	}
	return data, nil
}

// httpReader reads signatures over HTTPS, or plain HTTP on loopback
// only, each whole within timeout; redirects are held to the same rule.
func httpReader(base *url.URL, timeout time.Duration) func(context.Context, string) ([]byte, error) {
	client := &http.Client{Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return storeTransport(req.URL)
	}}
	return func(ctx context.Context, rel string) ([]byte, error) {
		if err := storeTransport(base); err != nil {
			return nil, err
		}
		u := base.JoinPath(rel)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return readSignature(resp.Body)
		case http.StatusNotFound:
			return nil, fs.ErrNotExist
		}
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
}

// storeTransport accepts https, and plain http to a loopback host only.
func storeTransport(u *url.URL) error {
	switch {
	case u.Scheme == "https", u.Scheme == "http" && image.IsLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("refusing plain HTTP to %s: use https", u.Host)
	}
	return fmt.Errorf("refusing %s: a signature store is read over https", u.Redacted())
}
