package sigstore

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// oidSCTList is the X.509 extension that embeds signed certificate
// timestamps (RFC 6962, 3.3).
var oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// verifySCT checks that the certificate embeds a signed certificate
// timestamp from a CT log of the root: the log's signature over the
// precertificate (the certificate without its SCT list) and the issuer's
// key hash, made while the log's key was valid.
func (tr *TrustedRoot) verifySCT(leaf, issuer *x509.Certificate) error {
	var list []byte
	for _, e := range leaf.Extensions {
		if e.Id.Equal(oidSCTList) {
			if rest, err := asn1.Unmarshal(e.Value, &list); err != nil || len(rest) > 0 {
				return fmt.Errorf("%w: the certificate's SCT list is malformed", ErrInvalid)
			}
		}
	}
	if list == nil {
		return fmt.Errorf("%w: the certificate embeds no signed certificate timestamp, and the trusted root lists CT logs", ErrInvalid)
	}
	tbs, err := precertTBS(leaf.RawTBSCertificate)
	if err != nil {
		return fmt.Errorf("%w: certificate: %v", ErrInvalid, err)
	}
	keyHash := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	s := cryptobyte.String(list)
	var scts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&scts) || !s.Empty() {
		return fmt.Errorf("%w: the certificate's SCT list is malformed", ErrInvalid)
	}
	why := "no SCT is from a CT log the trusted root lists"
	for !scts.Empty() {
		var sct, exts, sig cryptobyte.String
		var version, hashAlg, sigAlg uint8
		var logID []byte
		var ts uint64
		if !scts.ReadUint16LengthPrefixed(&sct) || !sct.ReadUint8(&version) || !sct.ReadBytes(&logID, 32) ||
			!sct.ReadUint64(&ts) || !sct.ReadUint16LengthPrefixed(&exts) || !sct.ReadUint8(&hashAlg) ||
			!sct.ReadUint8(&sigAlg) || !sct.ReadUint16LengthPrefixed(&sig) || !sct.Empty() {
			return fmt.Errorf("%w: the certificate's SCT list is malformed", ErrInvalid)
		}
		log := tr.CTLogs[hex.EncodeToString(logID)]
		if version != 0 || log == nil {
			continue
		}
		var msg bytes.Buffer
		msg.Write([]byte{0, 0}) // v1, certificate_timestamp
		msg.Write(binary.BigEndian.AppendUint64(nil, ts))
		msg.Write([]byte{0, 1}) // precert_entry
		msg.Write(keyHash[:])
		msg.Write([]byte{byte(len(tbs) >> 16), byte(len(tbs) >> 8), byte(len(tbs))})
		msg.Write(tbs)
		msg.Write(binary.BigEndian.AppendUint16(nil, uint16(len(exts))))
		msg.Write(exts)
		if hashAlg != 4 || !SignatureValid(log.Key, msg.Bytes(), sig) { // 4: SHA-256
			why = "the SCT from " + log.BaseURL + " does not verify"
			continue
		}
		if at := time.UnixMilli(int64(ts)); !log.Valid.Contains(at) {
			why = "the SCT from " + log.BaseURL + " was made outside its key's validity"
			continue
		}
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, why)
}

// precertTBS returns the TBSCertificate with the SCT list extension
// removed: what the CT log signed.
func precertTBS(raw []byte) ([]byte, error) {
	in := cryptobyte.String(raw)
	var tbs cryptobyte.String
	if !in.ReadASN1(&tbs, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("malformed TBSCertificate")
	}
	var b cryptobyte.Builder
	var failed error
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for !tbs.Empty() {
			var elem cryptobyte.String
			var tag cbasn1.Tag
			if !tbs.ReadAnyASN1Element(&elem, &tag) {
				failed = fmt.Errorf("malformed TBSCertificate")
				return
			}
			if tag != cbasn1.Tag(3).Constructed().ContextSpecific() {
				b.AddBytes(elem)
				continue
			}
			var outer, exts cryptobyte.String
			if !elem.ReadASN1(&outer, tag) || !outer.ReadASN1(&exts, cbasn1.SEQUENCE) {
				failed = fmt.Errorf("malformed extensions")
				return
			}
			b.AddASN1(tag, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for !exts.Empty() {
						var ext, whole, body cryptobyte.String
						var oid asn1.ObjectIdentifier
						if !exts.ReadASN1Element(&ext, cbasn1.SEQUENCE) {
							failed = fmt.Errorf("malformed extension")
							return
						}
						whole = ext
						if !whole.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1ObjectIdentifier(&oid) {
							failed = fmt.Errorf("malformed extension")
							return
						}
						if !oid.Equal(oidSCTList) {
							b.AddBytes(ext)
						}
					}
				})
			})
		}
	})
	if failed != nil {
		return nil, failed
	}
	return b.Bytes()
}
