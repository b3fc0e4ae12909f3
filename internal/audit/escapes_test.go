package audit

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hull-sec/hull/internal/engineapi"
	"github.com/hull-sec/hull/internal/finding"
)

func advisory(t *testing.T, id string) Advisory {
	t.Helper()
	advs, err := Advisories()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range advs {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("no advisory %s", id)
	return Advisory{}
}

func TestAdvisoriesData(t *testing.T) {
	advs, err := Advisories()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"CVE-2019-5736", "CVE-2024-21626", "CVE-2020-15257", "CVE-2024-41110"} {
		advisory(t, id) // the ones issue 5 names
	}
	if len(advs) < 15 {
		t.Errorf("%d advisories", len(advs))
	}
}

func TestAdvisoryJudge(t *testing.T) {
	for _, c := range []struct {
		id       string
		in       Installed
		affected bool
	}{
		// Upstream versions as engines report them.
		{"CVE-2024-21626", Installed{Component: "runc", Version: "1.1.11"}, true},
		{"CVE-2024-21626", Installed{Component: "runc", Version: "v1.1.12"}, false},
		{"CVE-2024-21626", Installed{Component: "runc", Version: "1.2.0"}, false},
		{"CVE-2019-5736", Installed{Component: "runc", Version: "1.0.0-rc6"}, true},
		{"CVE-2019-5736", Installed{Component: "runc", Version: "1.0.0-rc95"}, false}, // rc95 > rc7, numerically
		{"CVE-2021-30465", Installed{Component: "runc", Version: "1.0.0-rc94"}, true},
		{"CVE-2020-15257", Installed{Component: "containerd", Version: "1.4.2"}, true},
		{"CVE-2020-15257", Installed{Component: "containerd", Version: "1.3.9"}, false},
		{"CVE-2020-15257", Installed{Component: "containerd", Version: "1.2.13"}, true}, // a line that never got the fix
		{"CVE-2020-15257", Installed{Component: "containerd", Version: "1.6.20~ds1"}, false},
		{"CVE-2024-41110", Installed{Component: "docker", Version: "26.0.2"}, true}, // 26.0 line: fixed in 26.1.5
		{"CVE-2024-41110", Installed{Component: "docker", Version: "26.1.5"}, false},
		{"CVE-2024-41110", Installed{Component: "docker", Version: "27.0.3"}, true},
		{"CVE-2024-41110", Installed{Component: "docker", Version: "28.2.2"}, false},
		{"CVE-2024-41110", Installed{Component: "docker", Version: "20.10.24+dfsg1"}, true},
		{"CVE-2019-14271", Installed{Component: "docker", Version: "18.09.7"}, false}, // before it was introduced
		{"CVE-2019-14271", Installed{Component: "docker", Version: "19.03.0"}, true},
		{"CVE-2025-31133", Installed{Component: "runc", Version: "1.3.2"}, true},
		{"CVE-2025-31133", Installed{Component: "runc", Version: "1.4.0-rc.3"}, false},
		{"CVE-2025-31133", Installed{Component: "runc", Version: "1.4.0-rc.2"}, true},
		// Debian packages: the backport decides where the changelog names it.
		{"CVE-2024-21626", Installed{Component: "runc", Version: "1.1.5+ds1-1+deb12u1", Package: "runc", DebianRelease: "12"}, false},
		{"CVE-2024-21626", Installed{Component: "runc", Version: "1.1.5+ds1-1", Package: "runc", DebianRelease: "12"}, true},
		{"CVE-2025-31133", Installed{Component: "runc", Version: "1.1.5+ds1-1+deb12u1", Package: "runc", DebianRelease: "12"}, true},
		{"CVE-2024-41110", Installed{Component: "docker", Version: "20.10.24+dfsg1-1+deb12u1+b6", Package: "docker.io", DebianRelease: "12"}, false},
		{"CVE-2024-41110", Installed{Component: "docker", Version: "5:27.1.1-1~debian.12~bookworm", Package: "docker.io"}, false},
		{"CVE-2024-40635", Installed{Component: "containerd", Version: "1.6.20~ds1-1+deb12u3", Package: "containerd", DebianRelease: "12"}, false},
	} {
		a := advisory(t, c.id)
		got, why := a.judge(c.in)
		if got != c.affected {
			t.Errorf("%s on %+v: affected %v (%s), want %v", c.id, c.in, got, why, c.affected)
		}
		if got && why == "" {
			t.Errorf("%s on %+v: no reason", c.id, c.in)
		}
	}
}

// The check reads dpkg's status and os-release; an engine's own report
// counts for what no package provides.
func TestEscapeCheck(t *testing.T) {
	status := "Package: runc\nStatus: install ok installed\nVersion: 1.1.5+ds1-1+deb12u1\n\n" +
		"Package: containerd\nStatus: install ok installed\nVersion: 1.6.20~ds1-1+deb12u3\n\n"
	h := &fakeHost{files: fstest.MapFS{
		"etc/os-release":      {Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")},
		"var/lib/dpkg/status": {Data: []byte(status)},
	}}
	e := &Engine{Kind: "docker", Endpoint: "unix:///x.sock"}
	e.Version.Components = []engineapi.VersionComponent{{Name: "Engine", Version: "26.0.2"}}
	o := runOne(EscapeCheck(&Discovery{Engines: []*Engine{e}}), h)
	if o.State != finding.StateFail {
		t.Fatalf("%+v", o)
	}
	for _, want := range []string{"CVE-2025-31133", "CVE-2024-41110", "docker 26.0.2"} {
		if !strings.Contains(o.Evidence, want) {
			t.Errorf("evidence lacks %s: %s", want, o.Evidence)
		}
	}
	// The fix names what is installed here, not a package list.
	for _, want := range []string{"apt-get install --only-upgrade runc (now 1.1.5+ds1-1+deb12u1)", "docker 26.0.2 (docker unix:///x.sock)"} {
		if !strings.Contains(o.Fix, want) {
			t.Errorf("fix lacks %q: %s", want, o.Fix)
		}
	}
	for _, not := range []string{"CVE-2024-21626", "CVE-2024-40635"} {
		if strings.Contains(o.Evidence, not) {
			t.Errorf("evidence names %s, fixed by Debian's backport: %s", not, o.Evidence)
		}
	}

	// An engine version that does not parse is never "not affected".
	for _, v := range []string{"dev", "master-dockerproject-2024-07-01", "26.0.2_ce"} {
		e.Version.Components = []engineapi.VersionComponent{{Name: "Engine", Version: v}}
		o := runOne(EscapeCheck(&Discovery{Engines: []*Engine{e}}), &fakeHost{files: fstest.MapFS{}})
		if o.State != finding.StateWarn || !strings.Contains(o.Reason, "cannot compare the version of docker "+v) {
			t.Errorf("docker %s: %+v, want a warning that it cannot be compared", v, o)
		}
	}
}
