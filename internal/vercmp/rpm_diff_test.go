package vercmp

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rpmGenVersion makes a version string of the kinds rpm meets: an
// optional epoch, a version and an optional release made of digit and
// letter runs (leading zeros too), separators, '~' and '^'.
func rpmGenVersion(r *rand.Rand) string {
	part := func() string {
		var b strings.Builder
		for n := 1 + r.IntN(4); n > 0; n-- {
			switch r.IntN(10) {
			case 0, 1, 2, 3:
				b.WriteString(fmt.Sprint(r.IntN(12)))
			case 4:
				// Leading zeros, and numbers past 64 bits.
				b.WriteString([]string{"0", "00", "000"}[r.IntN(3)] + fmt.Sprint(r.IntN(3)))
				if r.IntN(4) == 0 {
					b.WriteString("18446744073709551616" + fmt.Sprint(r.IntN(3)))
				}
			case 5:
				b.WriteString([]string{"a", "b", "rc", "el", "Z", "fc"}[r.IntN(6)])
			case 6:
				b.WriteByte("~^"[r.IntN(2)])
			case 7:
				b.WriteByte("._+%{"[r.IntN(5)])
			default:
				b.WriteByte('.')
				b.WriteString(fmt.Sprint(r.IntN(4)))
			}
		}
		return b.String()
	}
	v := part()
	if r.IntN(3) == 0 {
		v = []string{"0", "1", "2", "10", "01", "9"}[r.IntN(6)] + ":" + v
	}
	if r.IntN(3) > 0 {
		v += "-" + part()
	}
	return v
}

// TestRpmAgainstRpm compares generated versions with hull and with rpm's
// own rpm.vercmp (lib/rpmver.c: parse epoch:version-release, compare
// each part with rpmvercmp), thousands of pairs in one rpm run.
func TestRpmAgainstRpm(t *testing.T) {
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Fatal("rpm not found: run .ci/install-deps (apt-get install -y rpm) first")
	}
	r := rand.New(rand.NewPCG(11, 6))
	s := rpmScheme{}
	type cmpPair struct{ a, b string }
	var pairs []cmpPair
	for len(pairs) < 20000 {
		a, b := rpmGenVersion(r), rpmGenVersion(r)
		if r.IntN(4) == 0 {
			b = a // near-equal pairs: change one character
			i := r.IntN(len(b))
			b = b[:i] + string("0123456789.~^a-"[r.IntN(15)]) + b[i+1:]
		}
		if _, err := s.Parse(a); err != nil {
			continue
		}
		if _, err := s.Parse(b); err != nil {
			continue
		}
		pairs = append(pairs, cmpPair{a, b})
	}
	var script strings.Builder
	script.WriteString("local p = {\n")
	for _, p := range pairs {
		fmt.Fprintf(&script, "{%q,%q},\n", p.a, p.b)
	}
	script.WriteString("}\nlocal out = {}\nfor i, v in ipairs(p) do out[i] = rpm.vercmp(v[1], v[2]) end\nprint(table.concat(out, ' '))\n")
	lua := filepath.Join(t.TempDir(), "cmp.lua")
	if err := os.WriteFile(lua, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("rpm", "--eval", "%{lua: dofile('"+lua+"')}").CombinedOutput()
	if err != nil {
		t.Fatalf("rpm: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	if len(got) != len(pairs) {
		t.Fatalf("rpm answered %d comparisons, want %d:\n%.500s", len(got), len(pairs), out)
	}
	bad := 0
	for i, p := range pairs {
		a, _ := s.Parse(p.a)
		b, _ := s.Parse(p.b)
		if want := fmt.Sprint(a.Compare(b)); want != got[i] {
			bad++
			if bad <= 20 {
				t.Errorf("%q vs %q: hull %s, rpm %s", p.a, p.b, want, got[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d comparisons differ from rpm", bad, len(pairs))
	}
}
