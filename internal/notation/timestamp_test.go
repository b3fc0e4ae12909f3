package notation

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-core-go/signature/cose"
	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/tspclient-go"

	"github.com/hull-sec/hull/internal/testenv"
)

// TestTimestampCountersignature: notation-core-go (the Notary Project's
// library, as notation sign --timestamp-url uses it) signs with a
// timestamp from a real RFC 3161 TSA (openssl ts); with that TSA's root
// the signature verifies after its certificates expired, as notation
// verify does with a "tsa" trust store; without a timestamp, with another
// TSA's root or with the token changed it does not.
func TestTimestampCountersignature(t *testing.T) {
	tsa := testenv.OpenSSLTSA(t)
	otherTSA := testenv.OpenSSLTSA(t)
	key, chain := testChain(t)
	tsaPool := x509.NewCertPool()
	tsaPool.AddCert(tsa.Root)
	stamper, err := tspclient.NewHTTPTimestamper(nil, tsa.URL)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"targetArtifact": target})
	for _, mediaType := range []string{jws.MediaTypeEnvelope, cose.MediaTypeEnvelope} {
		t.Run(mediaType, func(t *testing.T) {
			verify := VerifyJWS
			if mediaType == cose.MediaTypeEnvelope {
				verify = VerifyCOSE
			}
			sign := func(stamp bool) []byte {
				signer, err := signature.NewLocalSigner(chain, key)
				if err != nil {
					t.Fatal(err)
				}
				env, err := signature.NewEnvelope(mediaType)
				if err != nil {
					t.Fatal(err)
				}
				req := &signature.SignRequest{
					Payload: signature.Payload{ContentType: PayloadContentType, Content: payload},
					Signer:  signer, SigningTime: time.Now(), SigningScheme: signature.SigningSchemeX509,
				}
				if stamp {
					req.Timestamper, req.TSARootCAs = stamper, tsaPool
				}
				b, err := env.Sign(req)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			stamped, plain := sign(true), sign(false)
			now, later := time.Now(), chain[0].NotAfter.Add(time.Hour)
			withTSA := Trust{Roots: chain[1:], TSARoots: []*x509.Certificate{tsa.Root}}

			v, err := verify(stamped, withTSA, now)
			if err != nil || v.Timestamp == nil || v.Timestamp.At.Before(now.Add(-time.Minute)) {
				t.Fatalf("timestamped signature now: %v %+v", err, v.Timestamp)
			}
			if _, err := verify(stamped, withTSA, later); err != nil {
				t.Errorf("timestamped signature after the certificates expired: %v", err)
			}
			if _, err := verify(stamped, Trust{Roots: chain[1:]}, later); err == nil || !strings.Contains(err.Error(), "expired") {
				t.Errorf("without a TSA trust store, after expiry: %v", err)
			}
			if v, err := verify(stamped, Trust{Roots: chain[1:]}, now); err != nil || v.Timestamp != nil {
				t.Errorf("without a TSA trust store the timestamp is not checked: %v", err)
			}
			if _, err := verify(plain, withTSA, now); err == nil || !strings.Contains(err.Error(), "no timestamp") {
				t.Errorf("no countersignature under a TSA trust store: %v", err)
			}
			if _, err := verify(stamped, Trust{Roots: chain[1:], TSARoots: []*x509.Certificate{otherTSA.Root}}, now); err == nil {
				t.Error("another TSA's root accepted the timestamp")
			}
			afterExpiry := withTSA
			afterExpiry.TimestampAfterExpiry = true
			if _, err := verify(plain, afterExpiry, now); err != nil {
				t.Errorf("verifyTimestamp afterCertExpiry, unexpired, no timestamp: %v", err)
			}
			if _, err := verify(plain, afterExpiry, later); err == nil {
				t.Error("verifyTimestamp afterCertExpiry, expired, no timestamp: accepted")
			}
			if _, err := verify(stamped, afterExpiry, later); err != nil {
				t.Errorf("verifyTimestamp afterCertExpiry, expired, timestamped: %v", err)
			}
			// The timestamp of one signature does not vouch for another.
			if mediaType == jws.MediaTypeEnvelope {
				var a, b map[string]any
				json.Unmarshal(stamped, &a)
				json.Unmarshal(plain, &b)
				b["header"].(map[string]any)["io.cncf.notary.timestampSignature"] = a["header"].(map[string]any)["io.cncf.notary.timestampSignature"]
				moved, _ := json.Marshal(b)
				if _, err := verify(moved, withTSA, now); err == nil || !strings.Contains(err.Error(), "other data") {
					t.Errorf("a timestamp moved to another signature: %v", err)
				}
			}
			// Any byte of the token changed: refused (or, for unsigned
			// metadata, the same time).
			var env struct {
				Header struct {
					TS []byte `json:"io.cncf.notary.timestampSignature"`
				} `json:"header"`
			}
			if mediaType == jws.MediaTypeEnvelope {
				if err := json.Unmarshal(stamped, &env); err != nil || len(env.Header.TS) == 0 {
					t.Fatalf("no timestamp in notation-core-go's envelope: %v", err)
				}
				for i := 0; i < len(env.Header.TS); i += 7 {
					bad := bytes.Replace(stamped, []byte(b64std(env.Header.TS)), []byte(b64std(flip(env.Header.TS, i))), 1)
					if got, err := verify(bad, withTSA, later); err == nil && !got.Timestamp.At.Equal(v.Timestamp.At) {
						t.Fatalf("token byte %d changed: accepted at %v", i, got.Timestamp.At)
					}
				}
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x04
	return c
}

func b64std(b []byte) string {
	s, _ := json.Marshal(b)
	return strings.Trim(string(s), `"`)
}
