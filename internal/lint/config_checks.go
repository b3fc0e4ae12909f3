package lint

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/secrets"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// References used by several rules.
const (
	refCIS    = "https://www.cisecurity.org/benchmark/docker"
	refDockle = "https://github.com/goodwithtech/dockle#checkpoint-summary"
)

// configChecks judge the image configuration and history.
func configChecks() []Check {
	return []Check{
		{
			Rule: finding.Rule{ID: "root-user", Title: "Image runs as root", Severity: finding.SeverityMedium,
				Doc:         "The image's default user is root (USER unset, root or UID 0). A process that escapes the container, or a runtime without user namespaces, keeps root's power. CIS Docker 4.1; Dockle CIS-DI-0001.",
				Remediation: "Add a non-root user and end the Dockerfile with USER <name or uid>.",
				References:  []string{refCIS, refDockle}},
			Config: func(s *Subject) []Hit {
				u := s.Config.Config.User
				name, _, _ := strings.Cut(u, ":")
				if name == "" || name == "root" || name == "0" {
					return []Hit{{Field: "config.User", Evidence: fmt.Sprintf("User=%q", u)}}
				}
				return nil
			},
		},
		{
			Rule: finding.Rule{ID: "no-healthcheck", Title: "No HEALTHCHECK", Severity: finding.SeverityLow,
				Doc:         "The image declares no health check, so the engine cannot tell a hung service from a healthy one. CIS Docker 4.6; Dockle CIS-DI-0006.",
				Remediation: "Add a HEALTHCHECK instruction that probes the service.",
				References:  []string{refCIS, refDockle}},
			Config: func(s *Subject) []Hit {
				hc := s.Config.Config.Healthcheck
				if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
					return []Hit{{Field: "config.Healthcheck", Evidence: "no health check"}}
				}
				return nil
			},
		},
		{
			Rule: finding.Rule{ID: "latest-tag", Title: "Image tagged latest or not tagged", Severity: finding.SeverityLow,
				Doc:         "The image is reached by the tag 'latest' or by no tag, so what runs changes silently when the tag moves. Dockle DKL-DI-0006.",
				Remediation: "Pin a version tag, or better a digest (@sha256:...).",
				References:  []string{refDockle}},
			Config: func(s *Subject) []Hit {
				switch {
				case s.ByDigest || s.Kind == image.KindDir:
					return nil
				case s.Tag == "latest":
					return []Hit{{Field: "reference", Evidence: "tag latest"}}
				case s.Tag == "":
					return []Hit{{Field: "reference", Evidence: "no tag"}}
				}
				return nil
			},
		},
		{
			Rule: finding.Rule{ID: "secret-env", Title: "Secret in ENV", Severity: finding.SeverityHigh,
				Doc:         "An environment variable whose name marks a secret (password, token, secret, access or private key) has a value baked into the image, or a variable's value holds a credential (a known token format, a password in a URL), readable by anyone who can pull it. CIS Docker 4.10; Dockle CIS-DI-0010.",
				Remediation: "Pass secrets at run time (secrets mount, orchestrator secret, or env from the runtime), never with ENV.",
				References:  []string{refCIS, refDockle}},
			Config: func(s *Subject) []Hit {
				var hits []Hit
				for i, kv := range s.Config.Config.Env {
					if len(s.Found[envField(i)]) > 0 {
						hits = append(hits, Hit{Field: "config.Env", Evidence: kv})
					}
				}
				return hits
			},
		},
		{
			Rule: finding.Rule{ID: "secret-label", Title: "Secret in LABEL", Severity: finding.SeverityHigh,
				Doc:         "A label whose name marks a secret, or whose value looks like a credential, is stored in the image configuration. CIS Docker 4.10.",
				Remediation: "Remove the label; labels are public metadata.",
				References:  []string{refCIS}},
			Config: func(s *Subject) []Hit {
				var hits []Hit
				for _, k := range sortedKeys(s.Config.Config.Labels) {
					if len(s.Found[labelField(k)]) > 0 {
						hits = append(hits, Hit{Field: "config.Labels", Evidence: k + "=" + s.Config.Config.Labels[k]})
					}
				}
				return hits
			},
		},
		{
			Rule: finding.Rule{ID: "secret-history", Title: "Secret in build history", Severity: finding.SeverityHigh,
				Doc:         "A build step recorded in the image history holds a credential: a secret-named variable set to a value (ARG, ENV or inline), a password on a command line or in a URL, an Authorization header, a known token format, or a private key. The history ships with the image even when a later layer removes the file. CIS Docker 4.10; Dockle CIS-DI-0010.",
				Remediation: "Use build secrets (RUN --mount=type=secret) and rebuild; rotate the credential.",
				References:  []string{refCIS, refDockle}},
			Config: func(s *Subject) []Hit {
				var inEnv []secrets.Found
				for i := range s.Config.Config.Env {
					inEnv = append(inEnv, s.Found[envField(i)]...)
				}
				var hits []Hit
				for i, h := range s.Config.History {
					found := s.Found[historyField(i)]
					if len(found) == 0 || (isEnvStep(h.CreatedBy) && allIn(found, inEnv)) {
						continue
					}
					hits = append(hits, Hit{Field: fmt.Sprintf("history[%d]", i), Evidence: h.CreatedBy})
				}
				return hits
			},
		},
		historyCheck(finding.Rule{ID: "remote-add", Title: "ADD from a URL", Severity: finding.SeverityMedium,
			Doc:         "A build step ADDs a remote URL: the content is fetched unverified at build time and may change or be tampered with in transit. CIS Docker 4.9.",
			Remediation: "Download with a pinned checksum (ADD --checksum=sha256:... or curl plus sha256sum -c), or COPY a vetted file.",
			References:  []string{refCIS}},
			func(cmd string, _, _ int) bool { return re().remoteAdd.MatchString(cmd) }),
		historyCheck(finding.Rule{ID: "add-instead-of-copy", Title: "ADD used instead of COPY", Severity: finding.SeverityLow,
			Doc:         "A build step uses ADD for local content; ADD also unpacks archives and fetches URLs, which COPY never does. The first ADD, the base image's root filesystem, is not reported. CIS Docker 4.9; Dockle CIS-DI-0009.",
			Remediation: "Use COPY unless you mean ADD's archive extraction.",
			References:  []string{refCIS, refDockle}},
			func(cmd string, index, firstAdd int) bool {
				return isAdd(cmd) && !re().remoteAdd.MatchString(cmd) && index != firstAdd
			}),
		historyCheck(finding.Rule{ID: "curl-pipe-shell", Title: "Downloaded script piped to a shell", Severity: finding.SeverityMedium,
			Doc:         "A build step pipes curl or wget output straight into a shell, running unverified code from the network as root at build time.",
			Remediation: "Download to a file, verify its checksum or signature, then run it.",
			References:  []string{"https://www.idontplaydarts.com/2016/04/detecting-curl-pipe-bash-server-side/"}},
			func(cmd string, _, _ int) bool { return re().curlPipe.MatchString(cmd) }),
		historyCheck(finding.Rule{ID: "update-alone", Title: "Package index update without install", Severity: finding.SeverityLow,
			Doc:         "A build step runs 'apt-get update' (or apk/yum/dnf update) without installing in the same step, so a cached layer can pair a stale index with later installs. CIS Docker 4.7; Dockle CIS-DI-0007.",
			Remediation: "Combine update and install in one RUN: apt-get update && apt-get install -y ...",
			References:  []string{refCIS, refDockle}},
			func(cmd string, _, _ int) bool { return updateAlone(splitCommands(cmd)) }),
		historyCheck(finding.Rule{ID: "apt-lists-left", Title: "apt lists not removed in the same step", Severity: finding.SeverityLow,
			Doc:         "A build step runs apt-get update or install but does not remove /var/lib/apt/lists in the same step, so the index stays in a layer. Dockle DKL-DI-0005.",
			Remediation: "End the step with: rm -rf /var/lib/apt/lists/*",
			References:  []string{refDockle}},
			func(cmd string, _, _ int) bool { return aptListsLeft(splitCommands(cmd)) }),
		historyCheck(finding.Rule{ID: "apk-no-cache", Title: "apk add without --no-cache", Severity: finding.SeverityLow,
			Doc:         "A build step runs 'apk add' without --no-cache, leaving the package index in the image. Dockle DKL-DI-0004.",
			Remediation: "Use apk add --no-cache.",
			References:  []string{refDockle}},
			func(cmd string, _, _ int) bool {
				for _, w := range splitCommands(cmd) {
					if hasSeq(w, "apk", "add") && !slices.Contains(w, "--no-cache") {
						return true
					}
				}
				return false
			}),
		historyCheck(finding.Rule{ID: "dist-upgrade", Title: "dist-upgrade in a build step", Severity: finding.SeverityLow,
			Doc:         "A build step runs apt-get dist-upgrade, which can change the distribution release under the image. Dockle DKL-DI-0003.",
			Remediation: "Rebuild on a newer base image instead.",
			References:  []string{refDockle}},
			func(cmd string, _, _ int) bool {
				for _, w := range splitCommands(cmd) {
					if aptVerb(w, "dist-upgrade") {
						return true
					}
				}
				return false
			}),
		historyCheck(finding.Rule{ID: "sudo-in-history", Title: "sudo used in a build step", Severity: finding.SeverityLow,
			Doc:         "A build step calls sudo. Build steps already run as the image user; sudo in an image suggests it is also used at run time, a privilege-escalation path. Dockle DKL-DI-0001.",
			Remediation: "Use USER to switch users between steps; remove sudo from the image.",
			References:  []string{refDockle}},
			func(cmd string, _, _ int) bool {
				for _, w := range splitCommands(cmd) {
					if slices.Contains(w, "sudo") {
						return true
					}
				}
				return false
			}),
		{
			Rule: finding.Rule{ID: "ssh-port", Title: "SSH port exposed", Severity: finding.SeverityMedium,
				Doc:         "The image exposes port 22. Containers should be reached with 'exec', not an SSH daemon that needs keys and patching. CIS Docker 5.7 (judged from the image).",
				Remediation: "Remove EXPOSE 22 and the SSH server.",
				References:  []string{refCIS}},
			Config: func(s *Subject) []Hit {
				for p := range s.Config.Config.ExposedPorts {
					if p == "22" || strings.HasPrefix(p, "22/") {
						return []Hit{{Field: "config.ExposedPorts", Evidence: p}}
					}
				}
				return nil
			},
		},
		{
			Rule: finding.Rule{ID: "sensitive-volume", Title: "Sensitive path declared as VOLUME", Severity: finding.SeverityMedium,
				Doc:         "The image declares a volume at a host-sensitive path (/, /etc, /proc, /sys, /dev, /boot, /root, /run, the Docker socket...). A runtime that binds such a volume from the host hands the container the host. CIS Docker 5.5; Dockle DKL-DI-0002.",
				Remediation: "Declare volumes only for application data directories.",
				References:  []string{refCIS, refDockle}},
			Config: func(s *Subject) []Hit {
				var hits []Hit
				for _, v := range sortedKeys(s.Config.Config.Volumes) {
					if sensitivePath(v) {
						hits = append(hits, Hit{Field: "config.Volumes", Evidence: v})
					}
				}
				return hits
			},
		},
	}
}

// historyCheck builds a check that judges each history step's command.
// firstAdd is the index of the image's first ADD step, -1 if none.
func historyCheck(r finding.Rule, judge func(cmd string, index, firstAdd int) bool) Check {
	return Check{Rule: r, Config: func(s *Subject) []Hit {
		firstAdd := slices.IndexFunc(s.Config.History, func(h v1.History) bool { return isAdd(h.CreatedBy) })
		var hits []Hit
		for i, h := range s.Config.History {
			if judge(h.CreatedBy, i, firstAdd) {
				hits = append(hits, Hit{Field: fmt.Sprintf("history[%d]", i), Evidence: h.CreatedBy})
			}
		}
		return hits
	}}
}

// patterns holds the lint regexps. They compile on first use, not at
// start-up, which every hull command would pay for.
type patterns struct {
	remoteAdd  *regexp.Regexp
	curlPipe   *regexp.Regexp
	credential map[string]*regexp.Regexp // by credentialFiles suffix
}

var re = sync.OnceValue(func() *patterns {
	p := &patterns{
		remoteAdd:  regexp.MustCompile(`(?i)\bADD\b(\s+--\S+)*\s+(https?|ftp)://`),
		curlPipe:   regexp.MustCompile(`\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(\S*/)?(ba|z|da|k)?sh\b`),
		credential: map[string]*regexp.Regexp{},
	}
	for _, c := range credentialFiles {
		p.credential[c.suffix] = regexp.MustCompile(c.expr)
	}
	return p
})

// isEnvStep reports whether a history step is an ENV instruction.
func isEnvStep(cmd string) bool { return strings.HasPrefix(instruction(cmd), "ENV ") }

// allIn reports whether every credential of found is one of in: an ENV
// step whose secrets the config still holds is left to secret-env, so
// one secret gives one finding.
func allIn(found, in []secrets.Found) bool {
	for _, f := range found {
		if !slices.ContainsFunc(in, f.SameValue) {
			return false
		}
	}
	return true
}

// isAdd reports whether a history step is an ADD instruction, in the
// classic ("#(nop) ADD file:... in /") or BuildKit ("ADD src dst # buildkit") form.
func isAdd(cmd string) bool { return strings.HasPrefix(instruction(cmd), "ADD ") }

// instruction is a history step's Dockerfile instruction, in the classic
// ("/bin/sh -c #(nop) ADD ...") or BuildKit ("ADD ... # buildkit") form.
func instruction(cmd string) string {
	c := strings.TrimSpace(cmd)
	if i := strings.Index(c, "#(nop)"); i >= 0 {
		c = strings.TrimSpace(c[i+len("#(nop)"):])
	}
	return c
}

// splitCommands splits a shell command line into the words of each
// command joined by &&, ||, ; or |.
func splitCommands(cmd string) [][]string {
	f := func(r rune) bool { return r == '&' || r == ';' || r == '|' || r == '\n' }
	var out [][]string
	for _, part := range strings.FieldsFunc(cmd, f) {
		if w := strings.Fields(part); len(w) > 0 {
			out = append(out, w)
		}
	}
	return out
}

// hasSeq reports whether words holds a, later followed by b.
func hasSeq(words []string, a, b string) bool {
	i := slices.Index(words, a)
	return i >= 0 && slices.Contains(words[i+1:], b)
}

func aptVerb(w []string, verb string) bool {
	return hasSeq(w, "apt-get", verb) || hasSeq(w, "apt", verb)
}

func updateAlone(cmds [][]string) bool {
	update, install := false, false
	for _, w := range cmds {
		if aptVerb(w, "update") || hasSeq(w, "apk", "update") || hasSeq(w, "yum", "makecache") || hasSeq(w, "dnf", "makecache") {
			update = true
		}
		if aptVerb(w, "install") || aptVerb(w, "upgrade") || aptVerb(w, "dist-upgrade") || hasSeq(w, "apk", "add") || hasSeq(w, "apk", "upgrade") || hasSeq(w, "yum", "install") || hasSeq(w, "dnf", "install") {
			install = true
		}
	}
	return update && !install
}

func aptListsLeft(cmds [][]string) bool {
	uses, removes := false, false
	for _, w := range cmds {
		if aptVerb(w, "update") || aptVerb(w, "install") {
			uses = true
		}
		if slices.Contains(w, "rm") && slices.ContainsFunc(w, func(s string) bool {
			return strings.HasPrefix(strings.Trim(s, `"'`), "/var/lib/apt/lists")
		}) {
			removes = true
		}
	}
	return uses && !removes
}

var sensitiveVolumes = []string{"/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/run", "/var/run", "/var/lib/docker", "/var/run/docker.sock", "/run/docker.sock", "/lib/modules", "/usr", "/bin", "/sbin", "/lib"}

func sensitivePath(v string) bool {
	c := strings.TrimRight(v, "/")
	if c == "" {
		c = "/"
	}
	return slices.Contains(sensitiveVolumes, c)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
