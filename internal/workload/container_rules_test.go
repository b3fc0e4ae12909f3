package workload

import "testing"

// TestIsRootUser: a user the runtimes read as uid 0 is root, however the
// number is written.
func TestIsRootUser(t *testing.T) {
	for u, want := range map[string]bool{"": true, "root": true, "0": true, "00": true, "+0": true, "0:1000": true, "00:0": true,
		"1000": false, "1000:0": false, "nobody": false, "-0": true, "01000": false} {
		if got := isRootUser(u); got != want {
			t.Errorf("isRootUser(%q) = %v, want %v", u, got, want)
		}
	}
}

// TestSensitiveSource: a bind mount is sensitive when it holds a
// sensitive directory, holds or is a host secret (even read-only), or is
// below a sensitive directory and writable; /etc/localtime read-only is
// not.
func TestSensitiveSource(t *testing.T) {
	s := SensitiveHostPaths()
	for _, c := range []struct {
		src  string
		ro   bool
		want string
	}{
		{"/etc", true, "/etc"},
		{"/", true, "/"},
		{"/var/lib", true, "holds /var/lib/docker"},
		{"/etc/shadow", true, "holds the host's secrets"},
		{"/etc/ssh/ssh_host_ed25519_key", true, "holds the host's secrets"},
		{"/root/.ssh", true, "holds the host's secrets"},
		{"/etc/passwd", false, "below /etc, writable"},
		{"/dev/sda", false, "below /dev, writable"},
		{"/etc/localtime", true, ""},
		{"/srv/data", false, ""},
		{"/etcetera", false, ""},
	} {
		if got := sensitiveSource(s, c.src, c.ro); got != c.want {
			t.Errorf("sensitiveSource(%s, ro %v) = %q, want %q", c.src, c.ro, got, c.want)
		}
	}
}
