package sigstore

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestRekorV2Ed25519Checkpoint: a Rekor v2 log with an Ed25519 key names
// itself (entries' log IDs, checkpoint key hints) by the signed-note key
// hash of its origin and key. A checkpoint signed with
// golang.org/x/mod/sumdb/note (the reference signed-note code) by a key
// the root lists under the log's base URL verifies, found under that ID;
// another key's does not.
func TestRekorV2Ed25519Checkpoint(t *testing.T) {
	const origin = "log2025-1.rekor.example"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	enc := strings.SplitN(vkey, "+", 3)[2] // name+hash+key
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) != 33 || raw[0] != 1 {
		t.Fatalf("verifier key %q", vkey)
	}
	pub := ed25519.PublicKey(raw[1:])
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	rootJSON, _ := json.Marshal(map[string]any{
		"mediaType": TrustedRootMediaType,
		"tlogs": []any{map[string]any{"baseUrl": "https://" + origin, "hashAlgorithm": "SHA2_256",
			"publicKey": map[string]any{"rawBytes": der, "keyDetails": "PKIX_ED25519", "validFor": map[string]any{"start": "2025-01-01T00:00:00Z"}},
			"logId":     map[string]any{"keyId": []byte("ignored")}}},
	})
	tr, err := ParseTrustedRoot(rootJSON)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(append([]byte(origin+"\n\x01"), pub...))
	lg := tr.Tlogs[hex.EncodeToString(h[:])]
	if lg == nil {
		t.Fatalf("the log is not found under its signed-note ID %x", h)
	}
	rootHash := sha256.Sum256([]byte("tree"))
	text := origin + "\n7\n" + base64.StdEncoding.EncodeToString(rootHash[:]) + "\n"
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyCheckpoint(lg, string(signed), rootHash[:]); err != nil {
		t.Fatalf("checkpoint signed by the log's key: %v", err)
	}
	otherKey, _, _ := note.GenerateKey(rand.Reader, origin)
	otherSigner, _ := note.NewSigner(otherKey)
	forged, _ := note.Sign(&note.Note{Text: text}, otherSigner)
	if err := verifyCheckpoint(lg, string(forged), rootHash[:]); err == nil {
		t.Error("a checkpoint signed by another key verified")
	}
}
