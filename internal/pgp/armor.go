package pgp

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// Armor block types.
const (
	armorPrivateKey = "PGP PRIVATE KEY BLOCK"
	armorMessage    = "PGP MESSAGE"
)

// isArmored reports whether data starts (after white space) with an
// ASCII armor header line.
func isArmored(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN PGP "))
}

// dearmor decodes every armored block in data, in order, checking each
// CRC-24 checksum that is present, and returns the joined binary.
func dearmor(data []byte) ([]byte, error) {
	var out []byte
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	blocks := 0
	for i := 0; i < len(lines); i++ {
		begin := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(begin, "-----BEGIN PGP ") || !strings.HasSuffix(begin, "-----") {
			continue
		}
		kind := strings.TrimSuffix(strings.TrimPrefix(begin, "-----BEGIN "), "-----")
		end := "-----END " + kind + "-----"
		i++
		// Armor headers ("Key: value") end at a blank line; tolerate
		// their absence when the first line is already base64.
		for j := i; j < len(lines); j++ {
			l := strings.TrimSpace(lines[j])
			if l == "" {
				i = j + 1
				break
			}
			if !strings.Contains(l, ": ") {
				break
			}
		}
		var b64 strings.Builder
		var sum string
		closed := false
		for ; i < len(lines); i++ {
			l := strings.TrimSpace(lines[i])
			if l == end {
				closed = true
				break
			}
			if strings.HasPrefix(l, "=") && len(l) == 5 {
				sum = l[1:]
				continue
			}
			b64.WriteString(l)
		}
		if !closed {
			return nil, invalid("armor block %q has no end line", kind)
		}
		bin, err := base64.StdEncoding.DecodeString(b64.String())
		if err != nil {
			return nil, invalid("armor block %q: %v", kind, err)
		}
		if sum != "" {
			want, err := base64.StdEncoding.DecodeString(sum)
			if err != nil || len(want) != 3 {
				return nil, invalid("armor block %q: bad checksum line", kind)
			}
			c := crc24(bin)
			if want[0] != byte(c>>16) || want[1] != byte(c>>8) || want[2] != byte(c) {
				return nil, invalid("armor block %q: checksum mismatch", kind)
			}
		}
		out = append(out, bin...)
		blocks++
	}
	if blocks == 0 {
		return nil, invalid("no armored block")
	}
	return out, nil
}

// armor encodes bin as one block of the given type, with its checksum.
func armor(kind string, bin []byte) []byte {
	var b bytes.Buffer
	b.WriteString("-----BEGIN " + kind + "-----\n\n")
	enc := base64.StdEncoding.EncodeToString(bin)
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n")
	c := crc24(bin)
	b.WriteString("=" + base64.StdEncoding.EncodeToString([]byte{byte(c >> 16), byte(c >> 8), byte(c)}) + "\n")
	b.WriteString("-----END " + kind + "-----\n")
	return b.Bytes()
}

// crc24 is RFC 4880's armor checksum.
func crc24(b []byte) uint32 {
	crc := uint32(0xb704ce)
	for _, c := range b {
		crc ^= uint32(c) << 16
		for range 8 {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= 0x1864cfb
			}
		}
	}
	return crc & 0xffffff
}
