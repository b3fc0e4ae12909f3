package inventory

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/adler32"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/testenv"
)

// ---- writers: small databases built from scratch, for unit tests,
// broken variants and fuzz seeds ----

type rpmHdrTag struct {
	tag, typ, count uint32
	data            []byte
}

func rpmStrTag(tag uint32, s string) rpmHdrTag {
	return rpmHdrTag{tag: tag, typ: rpmTypeString, count: 1, data: append([]byte(s), 0)}
}

func rpmEpochTag(e uint32) rpmHdrTag {
	return rpmHdrTag{tag: rpmTagEpoch, typ: rpmTypeInt32, count: 1, data: binary.BigEndian.AppendUint32(nil, e)}
}

// buildRpmHeader lays out a header blob as rpm exports one: with region,
// an immutable region tag first and its trailer after the region's data.
func buildRpmHeader(region bool, tags ...rpmHdrTag) []byte {
	if !region {
		return buildRpmHeaderRegion(-1, tags...)
	}
	return buildRpmHeaderRegion(len(tags), tags...)
}

// buildRpmHeaderRegion makes a header whose region holds the first
// inRegion tags (none if negative); the others come after the region, as
// the tags rpm adds at install.
func buildRpmHeaderRegion(inRegion int, tags ...rpmHdrTag) []byte {
	var index, data []byte
	n := uint32(len(tags))
	if inRegion >= 0 {
		n++
	}
	trailer := -1
	for i, t := range tags {
		if i == inRegion {
			trailer = len(data)
			for _, v := range []uint32{rpmTagHeaderImmutable, rpmTypeBin, uint32(-int32((inRegion + 1) * 16)), 16} {
				data = binary.BigEndian.AppendUint32(data, v)
			}
		}
		for uint32(len(data))%rpmTypeAlign[t.typ] != 0 {
			data = append(data, 0)
		}
		index = binary.BigEndian.AppendUint32(index, t.tag)
		index = binary.BigEndian.AppendUint32(index, t.typ)
		index = binary.BigEndian.AppendUint32(index, uint32(len(data)))
		index = binary.BigEndian.AppendUint32(index, t.count)
		data = append(data, t.data...)
	}
	if inRegion >= len(tags) {
		trailer = len(data)
		for _, v := range []uint32{rpmTagHeaderImmutable, rpmTypeBin, uint32(-int32((inRegion + 1) * 16)), 16} {
			data = binary.BigEndian.AppendUint32(data, v)
		}
	}
	if trailer >= 0 {
		var r []byte
		for _, v := range []uint32{rpmTagHeaderImmutable, rpmTypeBin, uint32(trailer), 16} {
			r = binary.BigEndian.AppendUint32(r, v)
		}
		index = append(r, index...)
	}
	b := binary.BigEndian.AppendUint32(nil, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	return append(append(b, index...), data...)
}

// rpmTestHeader is the header of an installed package; pad makes it larger
// (a long description) so that it spills onto overflow pages.
func rpmTestHeader(name string, epoch int, version, release, arch, srpm, license string, pad int) []byte {
	tags := []rpmHdrTag{rpmStrTag(rpmTagName, name), rpmStrTag(rpmTagVersion, version), rpmStrTag(rpmTagRelease, release)}
	if epoch >= 0 {
		tags = append(tags, rpmEpochTag(uint32(epoch)))
	}
	if pad > 0 {
		tags = append(tags, rpmStrTag(1005, strings.Repeat("d", pad))) // DESCRIPTION
	}
	if license != "" {
		tags = append(tags, rpmStrTag(rpmTagLicense, license))
	}
	if arch != "" {
		tags = append(tags, rpmStrTag(rpmTagArch, arch))
	}
	if srpm != "" {
		tags = append(tags, rpmStrTag(rpmTagSourceRPM, srpm))
	}
	return buildRpmHeader(true, tags...)
}

// rpmTestHeaders are three packages (one with an epoch, one from a source of
// another name, one large) and a gpg-pubkey.
func rpmTestHeaders() [][]byte {
	return [][]byte{
		rpmTestHeader("openssl-libs", 1, "3.0.7", "6.el9", "x86_64", "openssl-3.0.7-6.el9.src.rpm", "ASL 2.0", 0),
		rpmTestHeader("bash", -1, "5.1.8", "9.el9", "x86_64", "bash-5.1.8-9.el9.src.rpm", "GPLv3+", 0),
		rpmTestHeader("gpg-pubkey", -1, "fd431d51", "4ae0493b", "", "", "pubkey", 0),
		rpmTestHeader("tzdata", 0, "2024a", "1.el9", "noarch", "tzdata-2024a-1.el9.src.rpm", "Public Domain", 9000),
	}
}

var rpmTestHeaderPackages = []finding.Package{
	{Type: "rpm", Name: "openssl-libs", Version: "1:3.0.7-6.el9", Arch: "x86_64", Source: "openssl", SourceVersion: "1:3.0.7-6.el9", Licenses: []string{"ASL 2.0"}},
	{Type: "rpm", Name: "bash", Version: "5.1.8-9.el9", Arch: "x86_64", Source: "bash", SourceVersion: "5.1.8-9.el9", Licenses: []string{"GPLv3+"}},
	{Type: "rpm", Name: "tzdata", Version: "2024a-1.el9", Arch: "noarch", Source: "tzdata", SourceVersion: "2024a-1.el9", Licenses: []string{"Public Domain"}},
}

// buildBDB writes a Berkeley DB hash database as rpm's Packages: two
// buckets (pages 1 and 2), key 0 holding the next header number, each
// record's key its 4-byte number, small values on the page and larger
// ones in overflow chains; a full bucket page continues on a new one.
func buildBDB(ps int, bo binary.ByteOrder, blobs [][]byte) []byte {
	pages := [][]byte{make([]byte, ps), newBDBPage(ps, bo, 1, bdbPageHash), newBDBPage(ps, bo, 2, bdbPageHash)}
	tail := []int{1, 2} // last page of each bucket
	addItem := func(bucket int, key, val []byte) {
		p := pages[tail[bucket]]
		n := int(bo.Uint16(p[20:]))
		top := int(bo.Uint16(p[22:]))
		if top-len(key)-len(val) < bdbPageHeader+2*(n+2) {
			np := newBDBPage(ps, bo, len(pages), bdbPageHash)
			bo.PutUint32(p[16:], uint32(len(pages)))
			bo.PutUint32(np[12:], uint32(tail[bucket]))
			tail[bucket] = len(pages)
			pages = append(pages, np)
			p, n, top = np, 0, ps
		}
		copy(p[top-len(key):], key)
		copy(p[top-len(key)-len(val):], val)
		bo.PutUint16(p[bdbPageHeader+2*n:], uint16(top-len(key)))
		bo.PutUint16(p[bdbPageHeader+2*n+2:], uint16(top-len(key)-len(val)))
		bo.PutUint16(p[20:], uint16(n+2))
		bo.PutUint16(p[22:], uint16(top-len(key)-len(val)))
	}
	keyData := func(b []byte) []byte { return append([]byte{bdbItemKeyData}, b...) }
	u32 := func(n uint32) []byte { b := make([]byte, 4); bo.PutUint32(b, n); return b }
	key := func(n uint32) []byte { return keyData(u32(n)) }
	addItem(0, key(0), keyData(u32(uint32(len(blobs)+1))))
	for i, b := range blobs {
		if len(b) < ps/4 {
			addItem((i+1)%2, key(uint32(i+1)), keyData(b))
			continue
		}
		off := make([]byte, bdbOffPageLength)
		off[0] = bdbItemOffPage
		bo.PutUint32(off[4:], uint32(len(pages)))
		bo.PutUint32(off[8:], uint32(len(b)))
		for len(b) > 0 {
			p := newBDBPage(ps, bo, len(pages), bdbPageOverflow)
			k := copy(p[bdbPageHeader:], b)
			b = b[k:]
			bo.PutUint16(p[22:], uint16(k))
			if len(b) > 0 {
				bo.PutUint32(p[16:], uint32(len(pages)+1))
			}
			pages = append(pages, p)
		}
		addItem((i+1)%2, key(uint32(i+1)), off)
	}
	m := pages[0]
	bo.PutUint32(m[12:], bdbHashMagic)
	bo.PutUint32(m[16:], 9)
	bo.PutUint32(m[20:], uint32(ps))
	m[25] = bdbPageHashMeta
	bo.PutUint32(m[32:], uint32(len(pages)-1))
	bo.PutUint32(m[72:], 1) // max bucket
	bo.PutUint32(m[76:], 1) // high mask
	bo.PutUint32(m[80:], 0) // low mask
	bo.PutUint32(m[96:], 1) // bucket 0 is page 0+1
	bo.PutUint32(m[100:], 1)
	return bytes.Join(pages, nil)
}

func newBDBPage(ps int, bo binary.ByteOrder, n int, typ byte) []byte {
	p := make([]byte, ps)
	bo.PutUint32(p[8:], uint32(n))
	bo.PutUint16(p[22:], uint16(ps%65536))
	p[25] = typ
	return p
}

// buildNDB writes an ndb Packages.db: header, one slot page, then each
// blob in its blocks, package indexes from 1.
func buildNDB(blobs [][]byte) []byte {
	le := binary.LittleEndian
	f := make([]byte, ndbPage)
	le.PutUint32(f, ndbMagic)
	le.PutUint32(f[12:], 1)
	le.PutUint32(f[16:], uint32(len(blobs)+1))
	for o := ndbHeaderSize; o < ndbPage; o += ndbBlock {
		le.PutUint32(f[o:], ndbSlotMagic)
	}
	for i, b := range blobs {
		blk := make([]byte, (ndbBlobHead+len(b)+ndbBlobTail+ndbBlock-1)/ndbBlock*ndbBlock)
		le.PutUint32(blk, ndbBlobMagic)
		le.PutUint32(blk[4:], uint32(i+1))
		le.PutUint32(blk[8:], 1700000000)
		le.PutUint32(blk[12:], uint32(len(b)))
		copy(blk[ndbBlobHead:], b)
		t := blk[len(blk)-ndbBlobTail:]
		le.PutUint32(t, adler32.Checksum(blk[:len(blk)-ndbBlobTail]))
		le.PutUint32(t[4:], uint32(len(b)))
		le.PutUint32(t[8:], ndbTailMagic)
		s := f[ndbHeaderSize+ndbBlock*i:]
		le.PutUint32(s[4:], uint32(i+1))
		le.PutUint32(s[8:], uint32(len(f)/ndbBlock))
		le.PutUint32(s[12:], uint32(len(blk)/ndbBlock))
		f = append(f, blk...)
	}
	return f
}

func sqlitePutVarint(b []byte, v uint64) []byte {
	if v > 0x00ffffffffffffff {
		panic("varint too large for this writer")
	}
	var g []byte
	for {
		g = append([]byte{byte(v & 0x7f)}, g...)
		v >>= 7
		if v == 0 {
			break
		}
	}
	for i := range len(g) - 1 {
		g[i] |= 0x80
	}
	return append(b, g...)
}

// sqliteTestRecord encodes a record of text (string), integer (int) and blob
// ([]byte) values, nil being NULL.
func sqliteTestRecord(vals ...any) []byte {
	var hdr, body []byte
	for _, v := range vals {
		switch v := v.(type) {
		case nil:
			hdr = sqlitePutVarint(hdr, 0)
		case string:
			hdr = sqlitePutVarint(hdr, uint64(13+2*len(v)))
			body = append(body, v...)
		case []byte:
			hdr = sqlitePutVarint(hdr, uint64(12+2*len(v)))
			body = append(body, v...)
		case int:
			hdr = sqlitePutVarint(hdr, 4)
			body = binary.BigEndian.AppendUint32(body, uint32(v))
		}
	}
	// The header size counts itself: one byte for the small headers here.
	return append(append([]byte{byte(len(hdr) + 1)}, hdr...), body...)
}

// buildSQLite writes a database as rpm's sqlite backend does in the parts
// the reader uses: sqlite_schema on page 1 with the Packages table at
// page 2, one row per blob (rowid from 1). With interior, page 2 is an
// interior page and each row has a leaf page of its own; payloads too
// large for a page continue on overflow pages.
func buildSQLite(ps int, interior bool, blobs [][]byte) []byte {
	pages := [][]byte{make([]byte, ps), make([]byte, ps)}
	newPage := func() int { pages = append(pages, make([]byte, ps)); return len(pages) }
	// leafCell makes a table leaf cell, spilling to overflow pages.
	leafCell := func(rowid int, payload []byte) []byte {
		u := uint64(ps)
		size := uint64(len(payload))
		local := size
		if x := u - 35; size > x {
			m := (u-12)*32/255 - 23
			local = m + (size-m)%(u-4)
			if local > x {
				local = m
			}
		}
		c := sqlitePutVarint(sqlitePutVarint(nil, size), uint64(rowid))
		c = append(c, payload[:local]...)
		if local == size {
			return c
		}
		rest := payload[local:]
		first := newPage()
		c = binary.BigEndian.AppendUint32(c, uint32(first))
		pg := first
		for {
			k := copy(pages[pg-1][4:], rest)
			rest = rest[k:]
			if len(rest) == 0 {
				break
			}
			next := newPage()
			binary.BigEndian.PutUint32(pages[pg-1], uint32(next))
			pg = next
		}
		return c
	}
	// writePage fills page n with cells from the end of the page down.
	writePage := func(n int, typ byte, cells [][]byte, right int) {
		p := pages[n-1]
		h := 0
		if n == 1 {
			h = sqliteHeader
		}
		hl := 8
		if typ == sqliteTableInner {
			hl = 12
			binary.BigEndian.PutUint32(p[h+8:], uint32(right))
		}
		p[h] = typ
		binary.BigEndian.PutUint16(p[h+3:], uint16(len(cells)))
		top := ps
		for i, c := range cells {
			top -= len(c)
			if top < h+hl+2*len(cells) {
				panic("page full")
			}
			copy(p[top:], c)
			binary.BigEndian.PutUint16(p[h+hl+2*i:], uint16(top))
		}
		binary.BigEndian.PutUint16(p[h+5:], uint16(top))
	}
	writePage(1, sqliteTableLeaf, [][]byte{leafCell(1, sqliteTestRecord("table", "Packages", "Packages", 2,
		"CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)"))}, 0)
	var rows [][]byte
	for i, b := range blobs {
		rows = append(rows, leafCell(i+1, sqliteTestRecord(nil, b)))
	}
	if !interior {
		writePage(2, sqliteTableLeaf, rows, 0)
	} else {
		var cells [][]byte
		right := 0
		for i, r := range rows {
			leaf := newPage()
			writePage(leaf, sqliteTableLeaf, [][]byte{r}, 0)
			if i == len(rows)-1 {
				right = leaf
				break
			}
			cells = append(cells, sqlitePutVarint(binary.BigEndian.AppendUint32(nil, uint32(leaf)), uint64(i+1)))
		}
		writePage(2, sqliteTableInner, cells, right)
	}
	h := pages[0]
	copy(h, sqliteMagic)
	binary.BigEndian.PutUint16(h[16:], uint16(ps%65536))
	if ps == 65536 {
		binary.BigEndian.PutUint16(h[16:], 1)
	}
	h[18], h[19], h[21], h[22], h[23] = 1, 1, 64, 32, 32
	binary.BigEndian.PutUint32(h[24:], 7)
	binary.BigEndian.PutUint32(h[28:], uint32(len(pages)))
	binary.BigEndian.PutUint32(h[44:], 4)
	binary.BigEndian.PutUint32(h[56:], 1)
	binary.BigEndian.PutUint32(h[92:], 7)
	binary.BigEndian.PutUint32(h[96:], 3040001)
	return bytes.Join(pages, nil)
}

func parseRpmBytes(data []byte) ([]finding.Package, error) {
	return parseRpm("/var/lib/rpm/x", data)
}

// ---- unit tests ----

func TestMatchRpm(t *testing.T) {
	for p, want := range map[string]bool{
		"/var/lib/rpm/rpmdb.sqlite":           true,
		"/var/lib/rpm/Packages":               true,
		"/var/lib/rpm/Packages.db":            true,
		"/usr/lib/sysimage/rpm/rpmdb.sqlite":  true,
		"/usr/lib/sysimage/rpm/Packages.db":   true,
		"/usr/lib/sysimage/rpm/Packages":      true,
		"/var/lib/rpm/rpmdb.sqlite-wal":       false,
		"/var/lib/rpm/Name":                   false,
		"/var/lib/rpm/sub/Packages":           false,
		"/var/lib/dpkg/status":                false,
		"/opt/var/lib/rpm/Packages":           false,
		"/usr/lib/sysimage/rpm/Index.db":      false,
		"/usr/lib/sysimage/rpm/rpmdb.sqlite2": false,
	} {
		if got := matchRpm(p, nil); got != want {
			t.Errorf("matchRpm(%q) = %v", p, got)
		}
	}
}

func TestRpmFormats(t *testing.T) {
	blobs := rpmTestHeaders()
	for name, data := range map[string][]byte{
		"sqlite 4096":          buildSQLite(4096, false, blobs),
		"sqlite 512 interior":  buildSQLite(512, true, blobs),
		"sqlite 65536":         buildSQLite(65536, false, blobs),
		"bdb 4096 le":          buildBDB(4096, binary.LittleEndian, blobs),
		"bdb 512 be":           buildBDB(512, binary.BigEndian, blobs),
		"bdb 1024 le, chained": buildBDB(1024, binary.LittleEndian, append(blobs, slices.Repeat(blobs[:2], 8)...)),
		"ndb":                  buildNDB(blobs),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseRpmBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			want := rpmTestHeaderPackages
			if strings.Contains(name, "chained") {
				want = append(slices.Clone(want), slices.Repeat(rpmTestHeaderPackages[:2], 8)...)
			}
			sortPkgs := func(p []finding.Package) []string {
				var s []string
				for _, x := range p {
					s = append(s, fmt.Sprintf("%+v", x))
				}
				slices.Sort(s)
				return s
			}
			if g, w := sortPkgs(got), sortPkgs(want); !slices.Equal(g, w) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		})
	}
	if got, err := parseRpmBytes(nil); got != nil || err != nil {
		t.Errorf("empty file: %v, %v", got, err)
	}
	if _, err := parseRpmBytes([]byte("not a database at all, but long enough")); err == nil {
		t.Error("no error for a text file")
	}
}

func TestSplitSourceRPM(t *testing.T) {
	for s, want := range map[string][2]string{
		"openssl-3.0.7-6.el9.src.rpm":         {"openssl", "3.0.7-6.el9"},
		"python3.9-3.9.16-1.el9_2.1.src.rpm":  {"python3.9", "3.9.16-1.el9_2.1"},
		"kernel-rt-5.14.0-1.el9.nosrc.rpm":    {"kernel-rt", "5.14.0-1.el9"},
		"a-b-c-1-2.src.rpm":                   {"a-b-c", "1-2"},
		"openssl-3.0.7.src.rpm":               {},
		"openssl-3.0.7-6.el9":                 {},
		"-1-2.src.rpm":                        {},
		"x--2.src.rpm":                        {},
		"x-1-.src.rpm":                        {},
		"":                                    {},
		"noarch.rpm":                          {},
		"glibc-2.34-60.el9.src.rpm.extra.rpm": {},
		"glibc-2.34-60.el9.x86_64.rpm":        {},
		"glibc-2.34-60.el9.src.rpm ":          {},
	} {
		n, v, ok := splitSourceRPM(s)
		if ok != (want != [2]string{}) || n != want[0] || v != want[1] {
			t.Errorf("splitSourceRPM(%q) = %q, %q, %v", s, n, v, ok)
		}
	}
}

func TestRpmHeaderStrict(t *testing.T) {
	good := rpmTestHeaders()[0]
	if _, err := parseRpmHeader(good); err != nil {
		t.Fatal(err)
	}
	// Without a region (rpm before 4.0 wrote such headers) the header
	// still reads.
	if h, err := parseRpmHeader(buildRpmHeader(false, rpmStrTag(rpmTagName, "a"), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "1"))); err != nil {
		t.Fatal(err)
	} else if p, ok, err := h.pkg(); err != nil || !ok || p.Version != "1-1" {
		t.Errorf("legacy header: %+v %v %v", p, ok, err)
	}
	// A tag added after the region replaces the one in it.
	if h, err := parseRpmHeader(buildRpmHeaderRegion(3, rpmStrTag(rpmTagName, "a"), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "1"),
		rpmStrTag(rpmTagArch, "x86_64"), rpmStrTag(rpmTagName, "b"))); err != nil {
		t.Fatal(err)
	} else if p, ok, err := h.pkg(); err != nil || !ok || p.Name != "b" || p.Arch != "x86_64" {
		t.Errorf("header with tags after the region: %+v %v %v", p, ok, err)
	}
	set32 := func(b []byte, off int, v uint32) []byte {
		b = slices.Clone(b)
		binary.BigEndian.PutUint32(b[off:], v)
		return b
	}
	entry := func(i, field int) int { return 8 + 16*i + 4*field } // field: 0 tag, 1 type, 2 offset, 3 count
	il := int(binary.BigEndian.Uint32(good))
	// A CHAR, then an INT32 the test moves to offset 1.
	misaligned := buildRpmHeader(false, rpmHdrTag{tag: 1100, typ: 1, count: 1, data: []byte{1}}, rpmHdrTag{tag: 1101, typ: rpmTypeInt32, count: 1, data: make([]byte, 4)})
	dataStart := 8 + 16*il
	bad := map[string][]byte{
		"short":              good[:7],
		"no entries":         set32(good, 0, 0),
		"too many entries":   set32(good, 0, 0x10000),
		"data too large":     set32(good, 4, 0x10000000),
		"trailing byte":      append(slices.Clone(good), 0),
		"truncated":          good[:len(good)-1],
		"region type":        set32(good, entry(0, 1), rpmTypeString),
		"region count":       set32(good, entry(0, 3), 15),
		"region offset":      set32(good, entry(0, 2), 0xffffff00),
		"region past data":   set32(good, entry(0, 2), uint32(len(good)-dataStart-8)),
		"trailer tag":        set32(good, len(good)-16, rpmTagHeaderImage),
		"trailer count":      set32(good, len(good)-16+12, 17),
		"trailer offset":     set32(good, len(good)-16+8, uint32(-int32(16*(il+1)))),
		"trailer unaligned":  set32(good, len(good)-16+8, uint32(-int32(16*il-1))),
		"trailer positive":   set32(good, len(good)-16+8, 16),
		"tag below 100":      set32(good, entry(1, 0), 99),
		"type 10":            set32(good, entry(1, 1), 10),
		"null type":          set32(good, entry(1, 1), 0),
		"count 0":            set32(good, entry(1, 3), 0),
		"count > dl":         set32(good, entry(1, 3), 0xffffff),
		"string count 2":     set32(good, entry(1, 3), 2),
		"negative offset":    set32(good, entry(1, 2), 0xfffffff0),
		"offset past data":   set32(good, entry(1, 2), 0x7fffff00),
		"overlap":            set32(good, entry(2, 2), 0),
		"string count 3":     set32(good, entry(il-1, 3), 3),
		"string without NUL": buildRpmHeader(false, rpmHdrTag{tag: rpmTagName, typ: rpmTypeString, count: 1, data: []byte("abc")}),
		"array without NUL":  buildRpmHeader(false, rpmHdrTag{tag: 1047, typ: rpmTypeStringArray, count: 3, data: []byte("a\x00b\x00c")}),
		"into trailer":       set32(set32(good, entry(il-1, 1), rpmTypeStringArray), entry(il-1, 3), 2),
		"misaligned int32":   set32(misaligned, entry(1, 2), 1),
		"int32 past data":    set32(good, entry(4, 3), 30), // EPOCH with 30 elements
	}
	for name, b := range bad {
		if _, err := parseRpmHeader(b); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// Fields of the wrong type, and missing ones, fail the package.
	for name, b := range map[string][]byte{
		"epoch as string": buildRpmHeader(true, rpmStrTag(rpmTagName, "a"), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "1"), rpmStrTag(rpmTagEpoch, "1")),
		"name as int":     buildRpmHeader(true, rpmEpochTag(1), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "1"), rpmHdrTag{tag: rpmTagName, typ: rpmTypeInt32, count: 1, data: []byte{0, 0, 0, 1}}),
		"no release":      buildRpmHeader(true, rpmStrTag(rpmTagName, "a"), rpmStrTag(rpmTagVersion, "1")),
		"empty name":      buildRpmHeader(true, rpmStrTag(rpmTagName, ""), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "1")),
	} {
		h, err := parseRpmHeader(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, _, err := h.pkg(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// An I18N string LICENSE reads as its first string.
	h, err := parseRpmHeader(buildRpmHeader(true, rpmStrTag(rpmTagName, "a"), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "1"),
		rpmHdrTag{tag: rpmTagLicense, typ: rpmTypeI18NString, count: 2, data: []byte("MIT\x00GPL\x00")}))
	if err != nil {
		t.Fatal(err)
	}
	if p, _, err := h.pkg(); err != nil || !slices.Equal(p.Licenses, []string{"MIT"}) {
		t.Errorf("i18n license: %+v %v", p, err)
	}
}

// Each container format refuses what breaks its rules, and none loops
// on a cycle: a page reached twice is an error.
func TestRpmDatabasesStrict(t *testing.T) {
	blobs := rpmTestHeaders()
	le, be := binary.LittleEndian, binary.BigEndian
	mod := func(b []byte, f func([]byte)) []byte { b = slices.Clone(b); f(b); return b }

	sq := buildSQLite(512, true, blobs)
	sqPage := func(n int) int { return (n - 1) * 512 }
	sqlite := map[string][]byte{
		"page size 100":     mod(sq, func(b []byte) { be.PutUint16(b[16:], 100) }),
		"read version 3":    mod(sq, func(b []byte) { b[19] = 3 }),
		"reserved too much": mod(sq, func(b []byte) { b[20] = 100 }),
		"fractions":         mod(sq, func(b []byte) { b[21] = 65 }),
		"utf-16":            mod(sq, func(b []byte) { be.PutUint32(b[56:], 2) }),
		"size past file":    mod(sq, func(b []byte) { be.PutUint32(b[28:], 1000) }),
		"partial page":      sq[:len(sq)-1],
		"child is itself":   mod(sq, func(b []byte) { be.PutUint32(b[sqPage(2)+8:], 2) }),
		"child is page 1":   mod(sq, func(b []byte) { be.PutUint32(b[sqPage(2)+8:], 1) }),
		"child past end":    mod(sq, func(b []byte) { be.PutUint32(b[sqPage(2)+8:], 5000) }),
		"index page":        mod(sq, func(b []byte) { b[sqPage(2)] = 2 }),
		"too many cells":    mod(sq, func(b []byte) { be.PutUint16(b[sqPage(2)+3:], 300) }),
		"cell in header":    mod(sq, func(b []byte) { be.PutUint16(b[sqPage(2)+12:], 3) }),
		"cell past page":    mod(sq, func(b []byte) { be.PutUint16(b[sqPage(2)+12:], 600) }),
		"no Packages":       mod(sq, func(b []byte) { i := bytes.Index(b, []byte("Packages")); b[i] = 'p' }),
		"Packages at 0":     mod(sq, func(b []byte) { i := bytes.Index(b, []byte("PackagesPackages")); be.PutUint32(b[i+16:], 0) }),
	}
	// An overflow chain that loops: find the first overflow page of the
	// big row and point it at itself.
	bigLeaf := 0
	for n := 3; n*512 <= len(sq); n++ {
		if sq[sqPage(n)] == sqliteTableLeaf {
			o := int(be.Uint16(sq[sqPage(n)+8:]))
			if size, _ := sqliteVarint(sq[sqPage(n)+o:]); size > 5000 {
				bigLeaf = n
			}
		}
	}
	if bigLeaf == 0 {
		t.Fatal("no overflowing row in the test database")
	}
	sqlite["huge payload"] = mod(sq, func(b []byte) {
		o := int(be.Uint16(b[sqPage(bigLeaf)+8:]))
		copy(b[sqPage(bigLeaf)+o:], []byte{0xff, 0xff, 0xff, 0x7f})
	})
	sqlite["overflow loop"] = mod(sq, func(b []byte) {
		p := b[sqPage(bigLeaf):]
		o := int(be.Uint16(p[8:]))
		size, k := sqliteVarint(p[o:])
		_, k2 := sqliteVarint(p[o+k:])
		u := uint64(512)
		m := (u-12)*32/255 - 23
		local := m + (size-m)%(u-4)
		if local > u-35 {
			local = m
		}
		first := be.Uint32(p[o+k+k2+int(local):])
		be.PutUint32(b[sqPage(int(first)):], first)
	})
	sqlite["overflow past end"] = mod(sq, func(b []byte) {
		p := b[sqPage(bigLeaf):]
		o := int(be.Uint16(p[8:]))
		size, k := sqliteVarint(p[o:])
		_, k2 := sqliteVarint(p[o+k:])
		m := uint64((512-12)*32/255 - 23)
		local := m + (size-m)%(512-4)
		if local > 512-35 {
			local = m
		}
		be.PutUint32(p[o+k+k2+int(local):], 1<<20)
	})
	// Every cell pointer of a leaf at the same row: linear in the pointers,
	// but each would be another package, beyond what the file can hold.
	one := buildSQLite(65536, false, blobs[:1])
	sqlite["aliased cells"] = mod(one, func(b []byte) {
		p := b[65536 : 2*65536] // page 2, the Packages leaf
		off := be.Uint16(p[8:])
		n := (int(off) - 8) / 2
		be.PutUint16(p[3:], uint16(n))
		for i := range n {
			be.PutUint16(p[8+2*i:], off)
		}
	})
	if pk, err := parseRpmBytes(one); err != nil || len(pk) != 1 {
		t.Fatalf("the one-row database: %v, %d packages", err, len(pk))
	}
	for name, b := range sqlite {
		if _, err := parseRpmBytes(b); err == nil {
			t.Errorf("sqlite %s: no error", name)
		} else {
			t.Logf("sqlite %s: %v", name, err)
		}
	}

	for _, bo := range []binary.ByteOrder{le, be} {
		db := buildBDB(512, bo, blobs)
		pg := func(n int) int { return n * 512 }
		// ov is an overflow page in the middle of the large record's chain.
		ov := 0
		for n := 3; pg(n) < len(db); n++ {
			if db[pg(n)+25] == bdbPageOverflow && bo.Uint32(db[pg(n)+16:]) != 0 {
				ov = n
				break
			}
		}
		if ov == 0 {
			t.Fatal("no overflow chain in the test database")
		}
		bdb := map[string][]byte{
			"btree":              mod(db, func(b []byte) { bo.PutUint32(b[12:], bdbBtreeMagic) }),
			"version 7":          mod(db, func(b []byte) { bo.PutUint32(b[16:], 7) }),
			"page size 1000":     mod(db, func(b []byte) { bo.PutUint32(b[20:], 1000) }),
			"encrypted":          mod(db, func(b []byte) { b[24] = 1 }),
			"meta type":          mod(db, func(b []byte) { b[25] = 9 }),
			"last page past end": mod(db, func(b []byte) { bo.PutUint32(b[32:], uint32(len(db)/512)) }),
			"buckets > pages":    mod(db, func(b []byte) { bo.PutUint32(b[72:], uint32(len(db)/512)) }),
			"bucket page 0":      mod(db, func(b []byte) { bo.PutUint32(b[96:], 0) }),
			"bucket past end":    mod(db, func(b []byte) { bo.PutUint32(b[100:], 1<<30) }),
			"page number":        mod(db, func(b []byte) { bo.PutUint32(b[pg(1)+8:], 7) }),
			"bucket type":        mod(db, func(b []byte) { b[pg(1)+25] = bdbPageOverflow }),
			"odd items":          mod(db, func(b []byte) { bo.PutUint16(b[pg(1)+20:], 3) }),
			"items overflow":     mod(db, func(b []byte) { bo.PutUint16(b[pg(1)+20:], 300) }),
			"bucket loop":        mod(db, func(b []byte) { bo.PutUint32(b[pg(1)+16:], 1) }),
			"buckets share":      mod(db, func(b []byte) { bo.PutUint32(b[pg(1)+16:], 2) }),
			"key offset":         mod(db, func(b []byte) { bo.PutUint16(b[pg(1)+26:], 10) }),
			"value after key":    mod(db, func(b []byte) { bo.PutUint16(b[pg(1)+28:], 511) }),
			"key type":           mod(db, func(b []byte) { b[pg(1)+int(bo.Uint16(b[pg(1)+26:]))] = bdbItemOffPage }),
			"overflow loop":      mod(db, func(b []byte) { bo.PutUint32(b[pg(ov)+16:], uint32(ov)) }),
			"overflow empty":     mod(db, func(b []byte) { bo.PutUint16(b[pg(ov)+22:], 0) }),
			"overflow too full":  mod(db, func(b []byte) { bo.PutUint16(b[pg(ov)+22:], 500) }),
			"overflow type":      mod(db, func(b []byte) { b[pg(ov)+25] = bdbPageHash }),
			"overflow short":     mod(db, func(b []byte) { bo.PutUint32(b[pg(ov)+16:], 0) }),
		}
		for name, b := range bdb {
			if _, err := parseRpmBytes(b); err == nil {
				t.Errorf("bdb %v %s: no error", bo, name)
			} else {
				t.Logf("bdb %v %s: %v", bo, name, err)
			}
		}
	}

	nd := buildNDB(blobs)
	slot := func(i int) int { return ndbHeaderSize + ndbBlock*i }
	blob1 := int(le.Uint32(nd[slot(0)+8:])) * ndbBlock
	ndb := map[string][]byte{
		"version":         mod(nd, func(b []byte) { le.PutUint32(b[4:], 1) }),
		"no slot pages":   mod(nd, func(b []byte) { le.PutUint32(b[12:], 0) }),
		"slot pages past": mod(nd, func(b []byte) { le.PutUint32(b[12:], 1000) }),
		"partial block":   append(slices.Clone(nd), 0),
		"slot magic":      mod(nd, func(b []byte) { b[slot(7)] = 'X' }),
		"package 0":       mod(nd, func(b []byte) { le.PutUint32(b[slot(0)+4:], 0) }),
		"0 blocks":        mod(nd, func(b []byte) { le.PutUint32(b[slot(0)+12:], 0) }),
		"in slot pages":   mod(nd, func(b []byte) { le.PutUint32(b[slot(0)+8:], 10) }),
		"overlap":         mod(nd, func(b []byte) { copy(b[slot(1)+8:slot(1)+16], b[slot(0)+8:slot(0)+16]) }),
		"past end":        mod(nd, func(b []byte) { le.PutUint32(b[slot(3)+12:], 1<<20) }),
		"blob magic":      mod(nd, func(b []byte) { b[blob1] = 'X' }),
		"blob package":    mod(nd, func(b []byte) { le.PutUint32(b[blob1+4:], 9) }),
		"blob length":     mod(nd, func(b []byte) { le.PutUint32(b[blob1+12:], 1<<30) }),
		"checksum":        mod(nd, func(b []byte) { b[blob1+ndbBlobHead] ^= 1 }),
		// Every slot used, more than the blocks after the slot page hold.
		"more slots than blocks": mod(nd[:ndbPage+ndbBlock], func(b []byte) {
			for i := 0; slot(i) < ndbPage; i++ {
				le.PutUint32(b[slot(i)+4:], uint32(i+1))
				le.PutUint32(b[slot(i)+8:], ndbPage/ndbBlock)
				le.PutUint32(b[slot(i)+12:], 1)
			}
		}),
	}
	for name, b := range ndb {
		if _, err := parseRpmBytes(b); err == nil {
			t.Errorf("ndb %s: no error", name)
		} else {
			t.Logf("ndb %s: %v", name, err)
		}
	}
}

// ---- real databases ----

// rpmQA lists the packages in an rpm database directory with Debian's
// rpm (4.18: reads sqlite, and Berkeley DB through its read-only
// backend; no ndb), in the cataloger's terms.
func rpmQA(t *testing.T, dbpath, backend string) []string {
	t.Helper()
	out, err := exec.Command("rpm", "--dbpath", dbpath, "--define", "_db_backend "+backend, "-qa",
		"--qf", `%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\n`).Output()
	if err != nil {
		t.Fatalf("rpm -qa --dbpath %s: %v", dbpath, err)
	}
	var pkgs []string
	for l := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSuffix(l, "\n"), "\t")
		if len(f) != 7 {
			t.Fatalf("rpm -qa line %q", l)
		}
		for i := range f {
			if f[i] == "(none)" {
				f[i] = ""
			}
		}
		epoch := -1
		if f[1] != "" {
			if epoch, err = strconv.Atoi(f[1]); err != nil {
				t.Fatal(err)
			}
		}
		if p, ok := rpmExpect(f[0], epoch, f[2], f[3], f[4], f[5], f[6]); ok {
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	return pkgs
}

// rpmSourceName is a second reading of a source RPM file name.
var rpmSourceName = regexp.MustCompile(`^(.+)-([^-]+-[^-]+)\.(?:no)?src\.rpm$`)

// rpmExpect is the package the cataloger should make of these tag
// values, as one line; ok is false for a gpg-pubkey.
func rpmExpect(name string, epoch int, version, release, arch, srpm, license string) (string, bool) {
	if name == "gpg-pubkey" {
		return "", false
	}
	evr := version + "-" + release
	if epoch > 0 {
		evr = strconv.Itoa(epoch) + ":" + evr
	}
	src, srcVer := "", ""
	if m := rpmSourceName.FindStringSubmatch(srpm); m != nil {
		src, srcVer = m[1], strings.TrimSuffix(evr, version+"-"+release)+m[2]
	}
	return strings.Join([]string{name, evr, arch, src, srcVer, license}, " | "), true
}

func rpmPkgLines(pkgs []finding.Package) []string {
	var out []string
	for _, p := range pkgs {
		if p.Type != "rpm" || len(p.Licenses) > 1 {
			out = append(out, fmt.Sprintf("unexpected %+v", p))
			continue
		}
		out = append(out, strings.Join([]string{p.Name, p.Version, p.Arch, p.Source, p.SourceVersion, strings.Join(p.Licenses, "")}, " | "))
	}
	slices.Sort(out)
	return out
}

func rpmDiffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	t.Errorf("%s: %d packages, want %d\nmissing:\n%s\nextra:\n%s", what, len(got), len(want), strings.Join(missing, "\n"), strings.Join(extra, "\n"))
}

func rpmNeedTools(t *testing.T) {
	t.Helper()
	for _, c := range []string{"rpm", "rpmbuild"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("%s not found: run .ci/run (or apt-get install -y rpm) first", c)
		}
	}
}

// The databases go-rpmdb tests with, taken from CentOS 5-8, RHEL UBI 8
// (s390x, big-endian), Fedora 35, CBL-Mariner 2.0 and SLE 15 images. The
// module is not a dependency of hull: the test fetches it with `go mod
// download`, which checks it against the checksum database, and checks
// each file's digest. expect names the variable of go-rpmdb's own test
// that lists the packages (`rpm -qa` in the image when it was made).
var goRpmdb = struct {
	module, version, cases, casesSHA256 string
	dbs                                 []goRpmdbFile
}{
	"github.com/knqyf263/go-rpmdb", "v0.1.1",
	"pkg/rpmdb_testcase_test.go", "1064abd71ed2e10c2216e60f7ab6df620df335a4e135a7440a668e6204bdfa98",
	[]goRpmdbFile{
		{"pkg/testdata/centos5-plain/Packages", "17efc9339b74bef0df7d0894c73ffbc125f6d5bcee61dd308bbc2a48a2b65318", "CentOS5Plain"},
		{"pkg/testdata/centos6-plain/Packages", "5a32c012ea52cd43a6f3217edfe730245bcbfc927a014b97e6383dd1bb1b4d04", "CentOS6Plain"},
		{"pkg/testdata/centos6-devtools/Packages", "4b268973f77ea25097a74b133aa69826da89dda306badd3940ac5fc11d43b196", "CentOS6DevTools"},
		{"pkg/testdata/centos6-many/Packages", "72cc1e34cea7c3632251fef17c1ae9bd3470362ccbd7944f25c65da002ef9d24", "CentOS6Many"},
		{"pkg/testdata/centos7-plain/Packages", "82a63be2340a951e75031957026579757af078d57fc960709a37ef62018881be", "CentOS7Plain"},
		{"pkg/testdata/centos7-devtools/Packages", "6c477a8345620f79afef69a5d6d95a0c60779637568af3ee5035f197713f067a", "CentOS7DevTools"},
		{"pkg/testdata/centos7-many/Packages", "9d1a55759d29f1debb104af3f7ed65d51f354461b03dcea670283d42f461335f", "CentOS7Many"},
		{"pkg/testdata/centos7-python35/Packages", "c5f7afb434d237227fdff270ff2ea7734530771105000bb63aa4d0cc427e3f08", "CentOS7Python35"},
		{"pkg/testdata/centos7-httpd24/Packages", "64c034e5aa6a3e4256ad678df3c7a72b4f507d7c1336bbf69c81b7a578fc8bef", "CentOS7Httpd24"},
		{"pkg/testdata/centos8-modularitylabel/Packages", "ec588c3c2c5a355f19ef900343e2be59dc8e9c5100a6b431db7515eb47b06a46", "CentOS8Modularitylabel"},
		{"pkg/testdata/ubi8-s390x/Packages", "1bcb165c7b34f2993608bbdceba885eb4cd50e64143b8ddc44fe75b89da7d77d", "UBI8s390x"},
		{"pkg/testdata/libuuid/Packages", "15bdf607cc34db1800420a6302ae2d43e40e4ed9f3d6f4153a5b726e83a8fec5", ""},
		{"pkg/testdata/sle15-bci/Packages.db", "c0578453d18e262823bc498ea1805645c9a94b9a91898d50dcf186a56d378968", "SLE15WithNDB"},
		{"pkg/testdata/fedora35/rpmdb.sqlite", "abd3395db7a70ef2a51416ce014721535b8dd0bc0f08c10354d920f4cd8d5ca2", "Fedora35WithSQLite3"},
		{"pkg/testdata/fedora35-plus-mongo/rpmdb.sqlite", "e3a84bcf882db59e779bf1243d9d13090bc2d7a497fef5b883f0a5761e4a9736", "Fedora35PlusMongoDBWithSQLite3"},
		{"pkg/testdata/cbl-mariner-2.0/rpmdb.sqlite", "57cc470fed4b103e0c1e529d391ce1ea395bfc4a9dbecc8f14f7a1d0c7121805", ""},
	},
}

type goRpmdbFile struct{ path, sha256, expect string }

// goRpmdbPartial are go-rpmdb's lists of the first packages only.
var goRpmdbPartial = map[string]bool{"CentOS6Many": true}

// rpmGoModDownload fetches a module outside hull's module (go.mod and
// go.sum stay untouched) and returns its directory.
func rpmGoModDownload(t *testing.T, mod string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "mod", "download", "-json", mod)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Error != "" || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %v %s %s", mod, err, jerr, info.Error, stderr.String())
	}
	return info.Dir
}

func rpmReadPinned(t *testing.T, dir, path, sum string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	if s := sha256.Sum256(data); hex.EncodeToString(s[:]) != sum {
		t.Fatalf("%s has sha256 %x, want %s", path, s, sum)
	}
	return data
}

// goRpmdbLists reads the package lists of go-rpmdb's test: each a
// function literal holding rows {intRef(EPOCH), NAME, VERSION, RELEASE,
// ARCH, SOURCERPM, SIZE, LICENSE, ...}.
func goRpmdbLists(t *testing.T, src []byte) map[string][]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "cases.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	str := func(e ast.Expr) string {
		l, ok := e.(*ast.BasicLit)
		if !ok {
			t.Fatalf("not a literal: %#v", e)
		}
		s, err := strconv.Unquote(l.Value)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	out := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 {
			return true
		}
		name := vs.Names[0].Name
		out[name] = []string{}
		ast.Inspect(vs.Values[0], func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok || len(cl.Elts) != 12 {
				return true
			}
			call, ok := cl.Elts[0].(*ast.CallExpr)
			if !ok || fmt.Sprint(call.Fun) != "intRef" {
				return true
			}
			epoch := -1
			if len(call.Args) == 1 {
				if epoch, err = strconv.Atoi(call.Args[0].(*ast.BasicLit).Value); err != nil {
					t.Fatal(err)
				}
			}
			e := cl.Elts
			if p, ok := rpmExpect(str(e[1]), epoch, str(e[2]), str(e[3]), str(e[4]), str(e[5]), str(e[7])); ok {
				out[name] = append(out[name], p)
			}
			return false
		})
		slices.Sort(out[name])
		return false
	})
	return out
}

// Real databases from eight distributions: every package must match
// go-rpmdb's list (from rpm -qa in the image) and what Debian's rpm reads
// from the same file (sqlite and Berkeley DB; it has no ndb).
func TestRpmRealDatabases(t *testing.T) {
	rpmNeedTools(t)
	dir := rpmGoModDownload(t, goRpmdb.module+"@"+goRpmdb.version)
	expect := goRpmdbLists(t, rpmReadPinned(t, dir, goRpmdb.cases, goRpmdb.casesSHA256))
	for _, db := range goRpmdb.dbs {
		t.Run(strings.TrimPrefix(db.path, "pkg/testdata/"), func(t *testing.T) {
			data := rpmReadPinned(t, dir, db.path, db.sha256)
			got, err := parseRpm(db.path, data)
			if err != nil {
				t.Fatal(err)
			}
			lines := rpmPkgLines(got)
			if len(lines) == 0 {
				t.Fatal("no packages")
			}
			if db.expect != "" {
				want, ok := expect[db.expect]
				if !ok || len(want) == 0 {
					t.Fatalf("no %s in go-rpmdb's test", db.expect)
				}
				if goRpmdbPartial[db.expect] {
					for _, w := range want {
						if !slices.Contains(lines, w) {
							t.Errorf("against go-rpmdb's list: missing %s", w)
						}
					}
				} else {
					rpmDiffLines(t, "against go-rpmdb's list", lines, want)
				}
			}
			base := filepath.Base(db.path)
			if base == "Packages.db" {
				return
			}
			tmp := t.TempDir()
			if err := os.WriteFile(filepath.Join(tmp, base), data, 0o644); err != nil {
				t.Fatal(err)
			}
			backend := "sqlite"
			if base == "Packages" {
				backend = "bdb_ro"
			}
			rpmDiffLines(t, "against rpm -qa", lines, rpmQA(t, tmp, backend))
		})
	}
}

// The Berkeley DB writer above makes what rpm reads: Debian's rpm lists
// the same packages from its databases (both byte orders, values on the
// page and in overflow chains, buckets continued on a second page).
func TestRpmBDBWriterAgainstRpm(t *testing.T) {
	rpmNeedTools(t)
	for _, db := range [][]byte{
		buildBDB(512, binary.LittleEndian, append(rpmTestHeaders(), rpmTestHeaders()...)),
		buildBDB(4096, binary.BigEndian, rpmTestHeaders()),
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Packages"), db, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := parseRpmBytes(db)
		if err != nil {
			t.Fatal(err)
		}
		rpmDiffLines(t, "against rpm -qa", rpmPkgLines(got), rpmQA(t, dir, "bdb_ro"))
	}
}

// Packages built with rpmbuild and installed with Debian's rpm into a new
// sqlite database: an epoch, a subpackage (source of another name), an
// explicit epoch 0, a header large enough for overflow pages, and an
// erased package, which must not be listed.
func TestRpmSqliteFromRpm(t *testing.T) {
	spec := `Name: hull-test
Version: 1.2.3
Release: 4.el9
Epoch: 2
License: MIT and (BSD or GPLv2+)
Summary: test
BuildArch: noarch
%description
test
%package -n libhull
Summary: sub
License: LGPLv2+
%description -n libhull
sub
%files
%files -n libhull
`
	big := `Name: hull-big
Version: 0.9
Release: 1
Epoch: 0
License: ASL 2.0
Summary: big
BuildArch: noarch
%description
` + strings.Repeat("a long description to need overflow pages\n", 5000) + `
%files
`
	gone := `Name: hull-gone
Version: 1
Release: 1
License: MIT
Summary: erased
BuildArch: noarch
%description
erased
%files
`
	db, built := testenv.RPMDatabase(t, []string{spec, big, gone}, "hull-gone")
	if built != 4 {
		t.Fatalf("built %d packages, want 4", built)
	}
	data, err := os.ReadFile(filepath.Join(db, "rpmdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseRpm("/var/lib/rpm/rpmdb.sqlite", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"hull-big | 0.9-1 | noarch | hull-big | 0.9-1 | ASL 2.0",
		"hull-test | 2:1.2.3-4.el9 | noarch | hull-test | 2:1.2.3-4.el9 | MIT and (BSD or GPLv2+)",
		"libhull | 2:1.2.3-4.el9 | noarch | hull-test | 2:1.2.3-4.el9 | LGPLv2+",
	}
	rpmDiffLines(t, "built packages", rpmPkgLines(got), want)
	rpmDiffLines(t, "against rpm -qa", rpmPkgLines(got), rpmQA(t, db, "sqlite"))
}

// ---- fuzzing ----

// rpmFuzz runs the cataloger on mutated databases: no panic, no package
// without a name and version, and no allocation out of proportion to the
// input (the reader never allocates more than the file, plus small
// per-package values).
func rpmFuzz(f *testing.F, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	// The heap allocation counter is read without stopping the world (as
	// runtime.ReadMemStats would, tripling the time of a run); it may lag
	// by the small allocations cached per P, well within the margin.
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	heap := func() uint64 { metrics.Read(allocs); return allocs[0].Value.Uint64() }
	f.Fuzz(func(t *testing.T, data []byte) {
		before := heap()
		pkgs, err := parseRpmBytes(data)
		if alloc := heap() - before; alloc > 64*uint64(len(data))+1<<20 {
			t.Fatalf("%d bytes allocated for %d bytes of input", alloc, len(data))
		}
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || p.Type != "rpm" {
				t.Fatalf("bad package %+v", p)
			}
		}
	})
}

func FuzzRpmHeader(f *testing.F) {
	for _, h := range rpmTestHeaders() {
		f.Add(h)
	}
	f.Add(buildRpmHeader(false, rpmStrTag(rpmTagName, "a"), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "1"), rpmEpochTag(3),
		rpmHdrTag{tag: rpmTagLicense, typ: rpmTypeI18NString, count: 2, data: []byte("MIT\x00GPL\x00")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseRpmHeader(data)
		if err != nil {
			return
		}
		for tag, e := range h.entries {
			if uint64(e.off)+uint64(e.length) > uint64(len(h.data)) || e.length == 0 {
				t.Fatalf("tag %d: entry %+v outside %d bytes of data", tag, e, len(h.data))
			}
		}
		p, ok, err := h.pkg()
		if err == nil && ok && (p.Name == "" || !strings.Contains(p.Version, "-")) {
			t.Fatalf("bad package %+v", p)
		}
	})
}

// rpmFuzzHeaders are small seeds (the fuzzer minimizes every new input, which
// is slow on large ones): two minimal headers and one that needs a few
// overflow pages of 512 bytes.
func rpmFuzzHeaders() [][]byte {
	return [][]byte{
		buildRpmHeader(true, rpmStrTag(rpmTagName, "a"), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "2"), rpmEpochTag(1), rpmStrTag(rpmTagSourceRPM, "s-1-2.src.rpm")),
		buildRpmHeader(false, rpmStrTag(rpmTagName, "b"), rpmStrTag(rpmTagVersion, "1"), rpmStrTag(rpmTagRelease, "2")),
		rpmTestHeader("c", -1, "1", "2", "noarch", "c-1-2.src.rpm", "MIT", 1200),
	}
}

func FuzzRpmSQLite(f *testing.F) {
	rpmFuzz(f, buildSQLite(512, true, rpmFuzzHeaders()), buildSQLite(512, false, rpmFuzzHeaders()[:2]))
}

func FuzzRpmBDB(f *testing.F) {
	rpmFuzz(f, buildBDB(512, binary.LittleEndian, rpmFuzzHeaders()), buildBDB(512, binary.BigEndian, rpmFuzzHeaders()[:2]))
}

func FuzzRpmNDB(f *testing.F) {
	rpmFuzz(f, buildNDB(rpmFuzzHeaders()))
}
