package workload

import (
	"encoding/json"
	"testing"
)

// TestSeccompProfileContent: the docker CLI sends the content of
// --security-opt seccomp=FILE in the create request; a profile that only
// allows or logs is no filter, one that denies stays a profile.
func TestSeccompProfileContent(t *testing.T) {
	for profile, want := range map[string]bool{
		`{"defaultAction": "SCMP_ACT_ALLOW"}`: true,
		`{"defaultAction": "SCMP_ACT_LOG", "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ALLOW"}]}`:   true,
		`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO"}]}`: false,
		`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`:   false,
	} {
		body, err := json.Marshal(map[string]any{"Image": "x:1", "HostConfig": map[string]any{"SecurityOpt": []string{"seccomp=" + profile}}})
		if err != nil {
			t.Fatal(err)
		}
		w, err := ParseCreate(body)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Seccomp == "unconfined"; got != want {
			t.Errorf("%s: seccomp %q, unconfined %v, want %v", profile, w.Seccomp, got, want)
		}
	}
}
