package tsp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/tspclient-go"

	"github.com/hull-sec/hull/internal/testenv"
)

// TestOpenSSLTokens checks tokens made by openssl ts -reply (another
// implementation): they verify over their data with the TSA's root,
// the time agrees with tspclient-go's reading, and other data, another
// root or any byte changed is refused.
func TestOpenSSLTokens(t *testing.T) {
	tsa := testenv.OpenSSLTSA(t)
	data := []byte("the signature's bytes")
	before := time.Now().Add(-2 * time.Second)
	der := tsa.Stamp(data)
	tok, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	tm, chain, err := tok.Verify(data, []*x509.Certificate{tsa.Root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || chain[0].Subject.CommonName != "hull test TSA" || !chain[1].Equal(tsa.Root) {
		t.Errorf("chain %v", chain)
	}
	if tm.Earliest.Before(before.Add(-2*time.Second)) || tm.Latest.After(time.Now().Add(4*time.Second)) || tm.Latest.Sub(tm.Earliest) != 3*time.Second {
		t.Errorf("stamped %v - %v (accuracy 1.5 s)", tm.Earliest, tm.Latest)
	}
	oracle, err := tspclient.ParseSignedToken(der)
	if err != nil {
		t.Fatal(err)
	}
	info, err := oracle.Info()
	if err != nil {
		t.Fatal(err)
	}
	if !info.GenTime.Equal(tok.info.GenTime) {
		t.Errorf("genTime %v, tspclient-go reads %v", tok.info.GenTime, info.GenTime)
	}

	if _, _, err := tok.Verify([]byte("other"), []*x509.Certificate{tsa.Root}, nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "other data") {
		t.Errorf("other data: %v", err)
	}
	other := testenv.OpenSSLTSA(t)
	if _, _, err := tok.Verify(data, []*x509.Certificate{other.Root}, nil); err == nil {
		t.Error("another TSA's root accepted the token")
	}
	accepted := 0
	for i := range der {
		bad := bytes.Clone(der)
		bad[i] ^= 0x01
		tk, err := Parse(bad)
		if err != nil {
			continue
		}
		if tm2, _, err := tk.Verify(data, []*x509.Certificate{tsa.Root}, nil); err == nil {
			if tm2 != tm {
				t.Fatalf("byte %d flipped: accepted with time %v", i, tm2)
			}
			accepted++
		}
	}
	// Only unsigned metadata may change harmlessly: the digest algorithm
	// list, a version, a signature algorithm naming another hash.
	if accepted > 24 {
		t.Errorf("%d single-bit changes still verify", accepted)
	}
}

func FuzzParseVerify(f *testing.F) {
	tsa := testenv.OpenSSLTSA(f)
	f.Add(tsa.Stamp([]byte("x")))
	roots := []*x509.Certificate{tsa.Root}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := Parse(b)
		if err != nil {
			return
		}
		tok.Time()
		tok.Verify([]byte("x"), roots, nil)
	})
}

// TestSigstoreTimestamp reads a TimeStampResp made by another
// implementation (digitorus/timestamp, through sigstore-go's virtual
// TSA), as a sigstore bundle carries it, and checks it with the chain of
// the trusted root that lists the authority.
func TestSigstoreTimestamp(t *testing.T) {
	var b struct {
		VerificationMaterial struct {
			TimestampVerificationData struct {
				RFC3161Timestamps []struct {
					SignedTimestamp []byte `json:"signedTimestamp"`
				} `json:"rfc3161Timestamps"`
			} `json:"timestampVerificationData"`
		} `json:"verificationMaterial"`
		MessageSignature struct {
			Signature []byte `json:"signature"`
		} `json:"messageSignature"`
	}
	var root struct {
		TimestampAuthorities []struct {
			CertChain struct {
				Certificates []struct {
					RawBytes []byte `json:"rawBytes"`
				} `json:"certificates"`
			} `json:"certChain"`
		} `json:"timestampAuthorities"`
	}
	for f, v := range map[string]any{"testdata/public-key-validity.sigstore.json": &b, "testdata/public-key-validity.json": &root} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	var chain []*x509.Certificate
	for _, c := range root.TimestampAuthorities[0].CertChain.Certificates {
		cert, err := x509.ParseCertificate(c.RawBytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, cert)
	}
	tok, err := Parse(b.VerificationMaterial.TimestampVerificationData.RFC3161Timestamps[0].SignedTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	tm, _, err := tok.Verify(b.MessageSignature.Signature, chain[len(chain)-1:], chain[:len(chain)-1])
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 6, 4, 17, 43, 29, 0, time.UTC); !tm.At.Equal(want) {
		t.Errorf("stamped at %v, want %v", tm.At, want)
	}
	if _, _, err := tok.Verify(append([]byte{0}, b.MessageSignature.Signature...), chain[len(chain)-1:], chain[:len(chain)-1]); err == nil {
		t.Error("the token verified over other data")
	}
}

// TestClient asks openssl's TSA over HTTP, as notation sign
// --timestamp-url does, and checks the answer.
func TestClient(t *testing.T) {
	tsa := testenv.OpenSSLTSA(t)
	data := []byte("a signature")
	c := &Client{URL: tsa.URL, Roots: []*x509.Certificate{tsa.Root}}
	der, tm, err := c.Stamp(t.Context(), data, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(tm.At); d < -5*time.Second || d > 5*time.Second {
		t.Errorf("stamped at %v", tm.At)
	}
	tok, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tok.Verify(data, []*x509.Certificate{tsa.Root}, nil); err != nil {
		t.Errorf("the returned token: %v", err)
	}
	if _, err := tspclient.ParseSignedToken(der); err != nil {
		t.Errorf("tspclient-go cannot read the returned token: %v", err)
	}
	other := testenv.OpenSSLTSA(t)
	if _, _, err := (&Client{URL: tsa.URL, Roots: []*x509.Certificate{other.Root}}).Stamp(t.Context(), data, crypto.SHA256); err == nil {
		t.Error("a token from a TSA outside Roots was accepted")
	}
	if _, _, err := (&Client{URL: "http://127.0.0.1:1/", Roots: c.Roots}).Stamp(t.Context(), data, crypto.SHA256); err == nil {
		t.Error("an unreachable TSA was not reported")
	}
}
