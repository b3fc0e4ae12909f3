package mountinfo

import (
	"slices"
	"testing"
)

func TestMountPoints(t *testing.T) {
	data := []byte("21 26 0:20 / /proc rw,relatime - proc proc rw\n" +
		"30 26 0:40 / /var/lib/my\\040docker rw - ext4 /dev/sdb1 rw\n" +
		"31 26 0:41 / /odd\\999x rw - tmpfs t rw\nshort line\n")
	got := MountPoints(data)
	want := []string{"/proc", "/var/lib/my docker", "/odd\\999x"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func FuzzMountPoints(f *testing.F) {
	f.Add([]byte("1 2 3 / /a\\040b rw\n"))
	f.Fuzz(func(t *testing.T, data []byte) { MountPoints(data) })
}

func TestParseAndCovering(t *testing.T) {
	data := []byte("22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		"40 22 254:0 /var/lib/docker /var/lib/docker rw,relatime - ext4 /dev/vda rw\n" +
		"41 22 8:17 / /srv\\040data rw master:3 - xfs /dev/sdb1 rw\n" +
		"54 99 0:52 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw\n")
	ms := Parse(data)
	want := []Mount{
		{Device: "254:0", Root: "/", MountPoint: "/", FSType: "ext4", Source: "/dev/vda"},
		{Device: "254:0", Root: "/var/lib/docker", MountPoint: "/var/lib/docker", FSType: "ext4", Source: "/dev/vda"},
		{Device: "8:17", Root: "/", MountPoint: "/srv data", FSType: "xfs", Source: "/dev/sdb1"},
		// The mount is read-only (its own options), the filesystem not.
		{Device: "0:52", Root: "/sys", MountPoint: "/proc/sys", ReadOnly: true, FSType: "proc", Source: "proc"},
	}
	if !slices.Equal(ms, want) {
		t.Fatalf("got %+v\nwant %+v", ms, want)
	}
	for dir, mp := range map[string]string{"/var/lib/docker/x": "/var/lib/docker", "/var/lib/dockerx": "/", "/srv data": "/srv data", "/": "/"} {
		if m, ok := Covering(ms, dir); !ok || m.MountPoint != mp {
			t.Errorf("Covering(%q) = %q, %v; want %q", dir, m.MountPoint, ok, mp)
		}
	}
	if _, ok := Covering(ms[1:2], "/etc"); ok {
		t.Error("a path no mount holds was covered")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("22 1 254:0 / / rw shared:1 - ext4 /dev/vda rw\n40 22 0:1 /a /b rw -\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range Parse(data) {
			Covering([]Mount{m}, m.MountPoint)
		}
	})
}
