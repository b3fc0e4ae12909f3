package workload

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hull-sec/hull/internal/testenv"
)

// TestParseOCIConfigOfDockerBundles reads the config.json a real dockerd
// hands its runtime: an unconfined run and a confined one read as what
// their flags asked for, Docker's default seccomp profile included.
func TestParseOCIConfigOfDockerBundles(t *testing.T) {
	d := testenv.StartDockerd(t)
	d.BusyboxImage(t, "hull-busybox:1")
	run := func(args ...string) Workload {
		t.Helper()
		id := strings.TrimSpace(d.Docker(t, append(append([]string{"run", "-d", "--network", "none"}, args...), "hull-busybox:1", "sleep", "300")...))
		t.Cleanup(func() { d.Docker(t, "rm", "-f", id) })
		var bundle string
		for _, root := range []string{d.Dir, "/run/containerd"} {
			_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
				if err == nil && e.Name() == "config.json" && filepath.Base(filepath.Dir(p)) == id {
					bundle = p
				}
				return nil
			})
		}
		if bundle == "" {
			t.Fatalf("no config.json of container %s", id)
		}
		data, err := os.ReadFile(bundle)
		if err != nil {
			t.Fatal(err)
		}
		w, err := ParseOCIConfig(data, bundle)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	// This machine's root lacks CAP_SYS_RESOURCE, so runc refuses
	// --privileged here; every other capability and the lifted
	// confinement read as they are.
	open := run("--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "seccomp=unconfined", "--security-opt", "systempaths=unconfined")
	if open.Privileged || slices.Contains(open.CapAdd, "ALL") || !slices.Contains(open.CapAdd, "SYS_ADMIN") || slices.Contains(open.CapAdd, "SYS_RESOURCE") || len(open.CapDrop) != 0 {
		t.Errorf("all caps but one: privileged %v CapAdd %v CapDrop %v", open.Privileged, open.CapAdd, open.CapDrop)
	}
	if open.Seccomp != "unconfined" || !open.SystemPathsUnconfined || len(open.MaskedPaths) != 0 {
		t.Errorf("unconfined: seccomp %q system paths unconfined %v masked %v", open.Seccomp, open.SystemPathsUnconfined, open.MaskedPaths)
	}
	if p := open.Source.Where("capAdd[0]"); !strings.HasPrefix(p.Path, "process.capabilities.bounding[") || p.Line == 0 {
		t.Errorf("capAdd[0] placed at %+v", p)
	}

	conf := run("--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--read-only", "--security-opt", "no-new-privileges",
		"--pids-limit", "50", "--memory", "64m", "--user", "1000:1000", "--group-add", "27")
	if conf.Privileged || !slices.Equal(conf.CapAdd, []string{"NET_ADMIN"}) || !slices.Equal(conf.CapDrop, dockerDefaultCaps) {
		t.Errorf("confined: privileged %v CapAdd %v CapDrop %v", conf.Privileged, conf.CapAdd, conf.CapDrop)
	}
	if !conf.ReadOnlyRootfs || conf.NoNewPrivileges == nil || !*conf.NoNewPrivileges || conf.User != "1000:1000" || !slices.Contains(conf.Groups, "27") {
		t.Errorf("confined: read-only %v nnp %v user %q groups %v", conf.ReadOnlyRootfs, conf.NoNewPrivileges, conf.User, conf.Groups)
	}
	if conf.Resources.PidsLimit == nil || *conf.Resources.PidsLimit != 50 || conf.Resources.Memory != 64<<20 {
		t.Errorf("confined: resources %+v", conf.Resources)
	}
	// Docker writes its default profile into the bundle, and unshares
	// every namespace but the user's (no userns-remap) and, here, keeps
	// the network of --network none private.
	if conf.Seccomp != "linux.seccomp" || conf.SystemPathsUnconfined || len(conf.DeviceCgroupRules) != 0 {
		t.Errorf("confined: seccomp %q system paths unconfined %v device rules %v", conf.Seccomp, conf.SystemPathsUnconfined, conf.DeviceCgroupRules)
	}
	ns := conf.Namespaces
	if ns.PID != "private" || ns.IPC != "private" || ns.UTS != "private" || ns.Network != "private" || ns.User != "host" {
		t.Errorf("confined: namespaces %+v", ns)
	}
	if p := conf.Source.Where(SetSeccomp); p.Path != "linux.seccomp" || p.Line == 0 {
		t.Errorf("seccomp placed at %+v", p)
	}
}
