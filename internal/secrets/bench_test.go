package secrets

import (
	"fmt"
	"strings"
	"testing"
)

// benchText is 1 MiB of source code as the packages of an image hold it:
// secret words in identifiers and comments everywhere, and a few
// credentials.
func benchText() []byte {
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "function getToken%d(options, key) {\n", i)
		b.WriteString("  // Reads the password and the secret from the keychain, else the API key.\n")
		b.WriteString("  const value = options.headers[key] || process.env.API_KEY_FILE;\n")
		b.WriteString("  if (!value) { throw new TypeError('no token: ' + key); }\n  return value;\n}\n")
		if i%500 == 0 {
			fmt.Fprintf(&b, "const client_secret = \"Zq8vK2mN5pL0wR7tYb3x%d\";\n", i)
		}
	}
	return []byte(b.String())
}

func BenchmarkScan(b *testing.B) {
	text := benchText()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if len(Scan(text)) == 0 {
			b.Fatal("no credential found")
		}
	}
}

func BenchmarkStream(b *testing.B) {
	text := benchText()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		var s Stream
		for i := 0; i < len(text); i += 32 << 10 {
			s.Write(text[i:min(len(text), i+32<<10)])
		}
		if len(s.Hits()) == 0 {
			b.Fatal("no credential found")
		}
	}
}

func BenchmarkMask(b *testing.B) {
	text := string(benchText())
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if len(Mask(text).Found) == 0 {
			b.Fatal("no credential found")
		}
	}
}
