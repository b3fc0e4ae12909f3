package audit

import (
	"os"
	"strings"
	"testing"
)

// docs/audit-cis.md names every check, and each check's CIS numbers are
// the rows that name it.
func TestCISMappingDoc(t *testing.T) {
	data, err := os.ReadFile("../../docs/audit-cis.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	rows := map[string]string{} // CIS number: hull column
	for _, line := range strings.Split(doc, "\n") {
		f := strings.Split(line, "|")
		if len(f) == 6 && len(strings.TrimSpace(f[1])) > 0 && strings.TrimSpace(f[1])[0] >= '1' && strings.TrimSpace(f[1])[0] <= '7' {
			rows[strings.TrimSpace(f[1])] = f[4]
		}
	}
	if len(rows) != 117 {
		t.Errorf("%d CIS rows, want 117", len(rows))
	}
	d := &Discovery{}
	all := append(append(append(HostChecks(), EngineChecks(d)...), ClientChecks(ClientOptions{})...), ContainerChecks(d)...)
	for _, c := range all {
		if !strings.Contains(doc, "`"+c.ID+"`") {
			t.Errorf("%s is not in docs/audit-cis.md", c.ID)
		}
		for _, n := range strings.Split(c.CIS, ", ") {
			if n == "" || strings.Contains(n, "-") {
				continue
			}
			if !strings.Contains(rows[n], "`"+c.ID+"`") {
				t.Errorf("%s claims CIS %s, whose row says %q", c.ID, n, rows[n])
			}
		}
	}
}
