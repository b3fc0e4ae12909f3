package sign

import (
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
)

func TestReadCosignKeyRefusesCostlyKDF(t *testing.T) {
	salt := base64.StdEncoding.EncodeToString(make([]byte, 32))
	nonce := base64.StdEncoding.EncodeToString(make([]byte, 24))
	body := `{"kdf":{"name":"scrypt","params":{"N":1048576,"r":32,"p":1},"salt":"` + salt + `"},"cipher":{"name":"nacl/secretbox","nonce":"` + nonce + `"},"ciphertext":"AAAA"}`
	key := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: []byte(body)})
	if _, err := ReadCosignKey(key, ""); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("a key demanding 4 GiB of scrypt memory: %v", err)
	}
}
