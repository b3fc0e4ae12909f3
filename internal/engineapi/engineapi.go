// Package engineapi is how hull reaches a Docker-compatible engine API
// (dockerd, a Podman service): the default sockets, an HTTP client over a
// unix socket, and the docker CLI's mutual-TLS set-up for
// DOCKER_TLS_VERIFY, and the API's types hull reads (types.go: a
// container's inspection and create request; system.go: /version and
// /info). image (reading images from an engine),
// audit (judging engines) and workload (judging containers) use it.
package engineapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
)

// DefaultSockets lists where Docker (podman false) or Podman listens by
// default, in the order a client tries them: rootful first, then this
// user's rootless one under XDG_RUNTIME_DIR.
func DefaultSockets(podman bool, getenv func(string) string) []string {
	run := getenv("XDG_RUNTIME_DIR")
	if podman {
		var s []string
		if run != "" {
			s = append(s, filepath.Join(run, "podman", "podman.sock"))
		}
		return append(s, "/run/podman/podman.sock")
	}
	s := []string{"/var/run/docker.sock"}
	if run != "" {
		s = append(s, filepath.Join(run, "docker.sock"))
	}
	return s
}

// UnixClient is an HTTP client whose every connection goes to the unix
// socket at path (URLs then name any host, conventionally "engine").
func UnixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConnsPerHost: 8,
	}}
}

// ClientTLS is the docker CLI's TLS for DOCKER_TLS_VERIFY, from the PEM
// contents of DOCKER_CERT_PATH's ca.pem, cert.pem and key.pem: the server
// verified against the CA, the client certificate presented.
func ClientTLS(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("ca.pem holds no certificate")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}
