package gate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildVerifiedAndPinned: with a trust policy, the docker CLI's
// classic build through the gate builds FROM the signed image by tag,
// and dockerd is sent a Dockerfile naming the verified digest, which it
// pulls; multi-stage builds with stage names, COPY --from of an image
// and ARG-substituted FROMs are pinned the same way. A build FROM the
// unsigned image, with a FROM the gate cannot resolve, or with a context
// larger than the gate reads, is refused with hull's reason and never
// reaches dockerd.
func TestBuildVerifiedAndPinned(t *testing.T) {
	te := startTrustGate(t, nil)
	work := t.TempDir()
	ctx := func(name, df string) string {
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	n := len(te.calls())
	out := te.ok(t, "build", "-t", "built:signed", ctx("signed", "FROM "+te.signed+"\nRUN echo built > /b\n"))
	if !strings.Contains(out, "FROM "+te.signedDigest+"\n") || !strings.Contains(out, "Successfully tagged built:signed") {
		t.Errorf("docker build FROM %s: %q, want the FROM pinned to %s", te.signed, out, te.signedDigest)
	}
	if log := te.d.Log(); !strings.Contains(log, "Pulling ref from V2 registry: "+te.signedDigest) {
		t.Errorf("dockerd did not log a pull of %s", te.signedDigest)
	}
	if !te.reached(n, "POST", "/build") {
		t.Errorf("the build did not reach dockerd")
	}
	// The image built has no registry digest: the policy refuses a
	// container of it through the gate; the engine runs it.
	if got := te.direct(t, "run", "--rm", "--network", "none", "built:signed", "cat", "/b"); got != "built" {
		t.Errorf("the built image: %q", got)
	}
	te.ok(t, "rmi", "built:signed")
	te.d.Docker(t, "rmi", te.signedDigest)

	multi := "# a comment\nARG REG=nowhere.invalid\nARG TAG\nFROM ${REG}/team/signed:${TAG} \\\n  AS base\nRUN echo staged > /s\nFROM scratch AS final\nCOPY --from=base /s /s\nCOPY --from=" + te.signed + " /bin/busybox /bin/cat\n"
	out = te.ok(t, "build", "--build-arg", "REG="+te.reg, "--build-arg", "TAG=1", "-t", "built:multi", ctx("multi", multi))
	for _, want := range []string{"FROM " + te.signedDigest + " AS base\n", "COPY --from=" + te.signedDigest + " /bin/busybox /bin/cat\n", "COPY --from=base /s /s\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("multi-stage build: %q, want it to show %q", out, want)
		}
	}
	if got := te.direct(t, "run", "--rm", "--network", "none", "--entrypoint", "/bin/cat", "built:multi", "/s"); got != "staged" {
		t.Errorf("the multi-stage image: %q", got)
	}
	te.ok(t, "rmi", "built:multi")

	te.refused(t, "POST", "/build", []string{"hull gate: image build: the trust policy rejects " + te.unsigned + " (" + te.reg + "/team/unsigned@sha256:"},
		"build", ctx("unsigned", "FROM "+te.signed+" AS ok\nFROM "+te.unsigned+"\n"))
	te.refused(t, "POST", "/build", []string{"hull gate: image build: Dockerfile: the Dockerfile's FROM ${X}/team/signed:1: the variable X has no value"},
		"build", ctx("unresolved", "FROM ${X}/team/signed:1\n"))

	big := ctx("big", "FROM "+te.signed+"\n")
	f, err := os.OpenFile(filepath.Join(big, "zeros"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxContext + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	te.refused(t, "POST", "/build", []string{"the build context is larger than 256 MiB"}, "build", big)
}
