package tsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"
)

// Client asks a time-stamping authority for tokens over HTTP (RFC 3161
// section 3.4) and accepts only tokens that verify against Roots.
type Client struct {
	URL   string
	Roots []*x509.Certificate
	// HTTP is the client to use; nil: one with a 30 s timeout.
	HTTP *http.Client
}

type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	Nonce          *big.Int
	CertReq        bool
}

var oidOfHash = map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA256: oidSHA256, crypto.SHA384: oidSHA384, crypto.SHA512: oidSHA512}

// Stamp asks the TSA to stamp data hashed with h, checks the token it
// answers (its nonce, its imprint, its signature and chain to Roots) and
// returns it (ContentInfo, DER) with the stamped time.
func (c *Client) Stamp(ctx context.Context, data []byte, h crypto.Hash) ([]byte, Time, error) {
	oid, ok := oidOfHash[h]
	if !ok {
		return nil, Time{}, fmt.Errorf("timestamp: hash %v is not SHA-256, SHA-384 or SHA-512", h)
	}
	if len(c.Roots) == 0 {
		return nil, Time{}, fmt.Errorf("timestamp: no TSA root certificate to check the answer with")
	}
	w := h.New()
	w.Write(data)
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, Time{}, err
	}
	req, err := asn1.Marshal(timeStampReq{Version: 1, Nonce: nonce, CertReq: true,
		MessageImprint: messageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.NullRawValue}, HashedMessage: w.Sum(nil)}})
	if err != nil {
		return nil, Time{}, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(req))
	if err != nil {
		return nil, Time{}, fmt.Errorf("timestamp: %w", err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(hr)
	if err != nil {
		return nil, Time{}, fmt.Errorf("timestamp: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenBytes+1))
	if err != nil {
		return nil, Time{}, fmt.Errorf("timestamp: %s: %w", c.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, Time{}, fmt.Errorf("timestamp: %s answered %s", c.URL, resp.Status)
	}
	tok, err := Parse(body)
	if err != nil {
		return nil, Time{}, fmt.Errorf("timestamp from %s: %w", c.URL, err)
	}
	if tok.info.Nonce == nil || tok.info.Nonce.Cmp(nonce) != 0 {
		return nil, Time{}, fmt.Errorf("timestamp from %s: %w", c.URL, invalid("the token does not carry the request's nonce"))
	}
	tm, _, err := tok.Verify(data, c.Roots, nil)
	if err != nil {
		return nil, Time{}, fmt.Errorf("timestamp from %s: %w", c.URL, err)
	}
	return tok.Raw(), tm, nil
}
