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
