package lint

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/hull-sec/hull/internal/finding"
	"github.com/hull-sec/hull/internal/image"
	"github.com/hull-sec/hull/internal/secrets"
)

// fileChecks judge the merged filesystem.
func fileChecks() []Check {
	return []Check{
		{
			Rule: finding.Rule{ID: "setuid-setgid", Title: "setuid or setgid file", Severity: finding.SeverityLow,
				Doc:         "A file runs with its owner's or group's privileges whatever user starts it. Each one is a privilege-escalation path if it has a flaw. CIS Docker 4.8; Dockle CIS-DI-0008.",
				Remediation: "Remove the bits where not needed: RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +",
				References:  []string{refCIS, refDockle}},
			Match: headerIf(func(f *image.File) bool { return isReg(f) && f.Header.Mode&(0o4000|0o2000) != 0 }),
			File: func(f *image.File, _ []byte) []Hit {
				var bits []string
				if f.Header.Mode&0o4000 != 0 {
					bits = append(bits, "setuid")
				}
				if f.Header.Mode&0o2000 != 0 {
					bits = append(bits, "setgid")
				}
				return []Hit{{Evidence: fmt.Sprintf("%s, mode %s, owner %d:%d", strings.Join(bits, "+"), f.Mode(), f.Header.Uid, f.Header.Gid)}}
			},
		},
		{
			Rule: finding.Rule{ID: "file-capability", Title: "File capabilities", Severity: finding.SeverityMedium,
				Doc:         "A file carries Linux capabilities in its security.capability attribute, granting privileges to whoever runs it, like a narrower setuid.",
				Remediation: "Remove them (setcap -r FILE) unless the program needs them; grant capabilities to the container instead.",
				References:  []string{"https://man7.org/linux/man-pages/man7/capabilities.7.html"}},
			Match: headerIf(func(f *image.File) bool { _, ok := f.Header.PAXRecords[capXattr]; return ok }),
			File: func(f *image.File, _ []byte) []Hit {
				return []Hit{{Evidence: decodeFileCaps([]byte(f.Header.PAXRecords[capXattr]))}}
			},
		},
		{
			Rule: finding.Rule{ID: "world-writable", Title: "World-writable file or directory", Severity: finding.SeverityMedium,
				Doc:         "Any user in the container can change this file, or add and remove files in this directory, which has no sticky bit. Another user's process, or the application itself when compromised, can plant code.",
				Remediation: "chmod o-w, or chmod +t for shared directories such as /tmp.",
				References:  []string{refCIS}},
			Match: headerIf(func(f *image.File) bool {
				m := f.Header.Mode
				switch f.Header.Typeflag {
				case tar.TypeDir:
					return m&0o002 != 0 && m&0o1000 == 0
				case tar.TypeReg:
					return m&0o002 != 0
				}
				return false
			}),
			File: func(f *image.File, _ []byte) []Hit { return []Hit{{Evidence: "mode " + f.Mode().String()}} },
		},
		{
			Rule: finding.Rule{ID: "device-file", Title: "Device node in the image", Severity: finding.SeverityMedium,
				Doc:         "The image ships a character or block device node. Runtimes create /dev themselves; a node in a layer can expose a host device when the container runs with a permissive device cgroup.",
				Remediation: "Remove device nodes from the image.",
				References:  []string{refCIS}},
			Match: headerIf(func(f *image.File) bool {
				return f.Header.Typeflag == tar.TypeChar || f.Header.Typeflag == tar.TypeBlock
			}),
			File: func(f *image.File, _ []byte) []Hit {
				return []Hit{{Evidence: fmt.Sprintf("%s device %d:%d", map[byte]string{tar.TypeChar: "character", tar.TypeBlock: "block"}[f.Header.Typeflag], f.Header.Devmajor, f.Header.Devminor)}}
			},
		},
		{
			Rule: finding.Rule{ID: "private-key", Title: "Private key in the image", Severity: finding.SeverityHigh,
				Doc:         "A text file of at most 256 KiB holds a private key (PEM, OpenSSH or PuTTY format). Anyone who can pull the image holds the key. CIS Docker 4.10.",
				Remediation: "Remove the key from every layer (rebuild; a later rm does not remove it), mount it at run time, and rotate it.",
				References:  []string{refCIS}},
			// Key files are text; searching binary data costs much and
			// finds keys rarely.
			Match: func(f *image.File) Want {
				if isReg(f) && f.Header.Size > 0 && f.Header.Size <= maxKeyFile {
					return Text
				}
				return Skip
			},
			File: func(f *image.File, data []byte) []Hit {
				// A cheap scan before the regexp.
				if !bytes.Contains(data, []byte("PRIVATE KEY-----")) && !bytes.Contains(data, []byte("PuTTY-User-Key-File-")) {
					return nil
				}
				var m []byte
				for _, h := range secrets.Scan(data) {
					if h.Rule.ID == "private-key" {
						m = data[h.Start:h.End]
						break
					}
				}
				if m == nil {
					return nil
				}
				if bytes.Contains(data, []byte("ENCRYPTED")) || bytes.Contains(data, []byte("Proc-Type: 4,ENCRYPTED")) {
					return []Hit{{Evidence: string(m) + " (encrypted)"}}
				}
				return []Hit{{Evidence: string(m)}}
			},
		},
		{
			Rule: finding.Rule{ID: "credential-file", Title: "Credential file in the image", Severity: finding.SeverityHigh,
				Doc:         "A file in a well-known credential location holds a secret: cloud credentials (~/.aws/credentials, gcloud, Azure), registry auth (~/.docker/config.json), package registry tokens (.npmrc, .pypirc), .git-credentials, .netrc, kubeconfig tokens, .pgpass. CIS Docker 4.10; Dockle CIS-DI-0010.",
				Remediation: "Remove the file from every layer (rebuild), use build secrets, and rotate the credential.",
				References:  []string{refCIS, refDockle}},
			Match: func(f *image.File) Want {
				if _, r := credentialKind(f.Path); isReg(f) && r != nil {
					return Content
				}
				return Skip
			},
			File: func(f *image.File, data []byte) []Hit {
				what, r := credentialKind(f.Path)
				if r.Match(data) {
					return []Hit{{Evidence: what}}
				}
				return nil
			},
		},
		{
			Rule: finding.Rule{ID: "suspicious-file", Title: "File name suggests a secret", Severity: finding.SeverityMedium,
				Doc:         "A file's name or extension is one that usually holds credentials (id_rsa, credentials.json, password.txt, .env, database.yml, .ovpn, .jks, .keychain, ...). hull does not read it to confirm; Dockle CIS-DI-0010 reports the same names.",
				Remediation: "Check the file; remove it from every layer if it holds a secret.",
				References:  []string{refDockle}},
			Match: headerIf(func(f *image.File) bool {
				if !isReg(f) {
					return false
				}
				base := path.Base(f.Path)
				return slices.Contains(suspiciousNames, base) || slices.Contains(suspiciousExts, path.Ext(base))
			}),
			File: func(f *image.File, _ []byte) []Hit { return []Hit{{Evidence: path.Base(f.Path)}} },
		},
		{
			Rule: finding.Rule{ID: "unnecessary-file", Title: "File or directory not needed at run time", Severity: finding.SeverityInfo,
				Doc:         "Build leftovers such as .git, editor settings, Dockerfile or docker-compose.yml, .DS_Store, or cache and credential directories (.cache, .npm, .aws, .azure, .gcp) widen what an attacker learns and what the image carries. Dockle DKL-LI-0003.",
				Remediation: "Add them to .dockerignore, or remove them in the step that creates them.",
				References:  []string{refDockle}},
			Match: headerIf(func(f *image.File) bool {
				if strings.Contains(f.Path, "/node_modules/") || strings.Contains(f.Path, "/vendor/") {
					return false
				}
				base := path.Base(f.Path)
				if f.Header.Typeflag == tar.TypeDir {
					return slices.Contains(unnecessaryDirs, base)
				}
				return isReg(f) && slices.Contains(unnecessaryFiles, base)
			}),
			File: func(f *image.File, _ []byte) []Hit { return []Hit{{Evidence: path.Base(f.Path)}} },
		},
		{
			Rule: finding.Rule{ID: "package-cache", Title: "Package manager cache left in the image", Severity: finding.SeverityLow,
				Doc:         "Downloaded packages or indexes of apt, apk, yum/dnf, pip, npm, yarn or Go stay in the image: size, and stale metadata that scanners may misread. Reported once per cache directory.",
				Remediation: "Clean in the same step: apt-get clean && rm -rf /var/lib/apt/lists/*, apk add --no-cache, pip install --no-cache-dir, npm cache clean --force.",
				References:  []string{refDockle}},
			Collapse: true,
			Match:    headerIf(func(f *image.File) bool { return isReg(f) && cacheRoot(f.Path) != "" }),
			File:     func(f *image.File, _ []byte) []Hit { return []Hit{{Path: cacheRoot(f.Path), Evidence: f.Path}} },
		},
		{
			Rule: finding.Rule{ID: "sudo-installed", Title: "sudo installed", Severity: finding.SeverityLow,
				Doc:         "The image ships sudo, a setuid program whose only purpose in a container is to gain privileges.",
				Remediation: "Do not install sudo; run privileged steps at build time with USER root.",
				References:  []string{refDockle}},
			Match: headerIf(func(f *image.File) bool {
				return (isReg(f) || f.Header.Typeflag == tar.TypeSymlink) && slices.Contains([]string{"/usr/bin/sudo", "/bin/sudo", "/usr/sbin/sudo", "/usr/local/bin/sudo"}, f.Path)
			}),
			File: func(f *image.File, _ []byte) []Hit { return []Hit{{Evidence: "mode " + f.Mode().String()}} },
		},
		{
			Rule: finding.Rule{ID: "empty-password", Title: "Account with an empty password", Severity: finding.SeverityHigh,
				Doc:         "/etc/shadow has an account whose password field is empty: anyone can log in as it without a password (su, login, SSH with PermitEmptyPasswords). Dockle DKL-LI-0001.",
				Remediation: "Lock the account: passwd -l NAME (or set the field to '!' or '*').",
				References:  []string{refDockle}},
			Match: func(f *image.File) Want {
				if isReg(f) && (f.Path == "/etc/shadow" || f.Path == "/etc/master.passwd") {
					return Content
				}
				return Skip
			},
			File: func(f *image.File, data []byte) []Hit {
				var hits []Hit
				eachRecord(data, func(fields []string) {
					if len(fields) >= 2 && fields[1] == "" {
						hits = append(hits, Hit{Evidence: "user " + fields[0]})
					}
				})
				return hits
			},
		},
		{
			Rule: finding.Rule{ID: "duplicate-id", Title: "Duplicate UID or GID", Severity: finding.SeverityMedium,
				Doc:         "/etc/passwd or /etc/group gives one numeric ID to two names, so files and processes of one account belong to the other as well. Dockle DKL-LI-0002.",
				Remediation: "Give every account and group its own ID.",
				References:  []string{refDockle}},
			Match: func(f *image.File) Want {
				if isReg(f) && (f.Path == "/etc/passwd" || f.Path == "/etc/group") {
					return Content
				}
				return Skip
			},
			File: func(f *image.File, data []byte) []Hit {
				kind := map[string]string{"/etc/passwd": "UID", "/etc/group": "GID"}[f.Path]
				seen := map[string]string{}
				var hits []Hit
				eachRecord(data, func(fields []string) {
					if len(fields) < 3 {
						return
					}
					if first, ok := seen[fields[2]]; ok {
						hits = append(hits, Hit{Evidence: fmt.Sprintf("%s %s is used by %s and %s", kind, fields[2], first, fields[0])})
						return
					}
					seen[fields[2]] = fields[0]
				})
				return hits
			},
		},
	}
}

// headerIf makes a Match that needs only the tar header.
func headerIf(pred func(*image.File) bool) func(*image.File) Want {
	return func(f *image.File) Want {
		if pred(f) {
			return Header
		}
		return Skip
	}
}

func isReg(f *image.File) bool {
	return f.Header.Typeflag == tar.TypeReg || f.Header.Typeflag == tar.TypeLink
}

// eachRecord calls fn with the colon-separated fields of each
// non-comment line.
func eachRecord(data []byte, fn func([]string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.Split(line, ":"))
	}
}

// Files larger than this are not read for private keys.
const maxKeyFile = 256 << 10

// credentialFiles maps a path suffix to what it is and the content (a
// regexp, compiled by re) that shows it holds a secret.
var credentialFiles = []struct{ suffix, what, expr string }{
	{"/.aws/credentials", "AWS credentials", `(?i)aws_secret_access_key\s*=\s*\S`},
	{"/.docker/config.json", "Docker registry auth", `"(auth|identitytoken|registrytoken)"\s*:\s*"[^"]+"`},
	{"/.npmrc", "npm registry token", `(_authToken|_auth|_password)\s*=\s*\S`},
	{"/.pypirc", "PyPI password", `(?m)^\s*password\s*[=:]\s*\S`},
	{"/.git-credentials", "git credentials", `://[^/\s:@]+:[^/\s@]+@`},
	{"/.netrc", ".netrc password", `\bpassword\s+\S`},
	{"/.kube/config", "Kubernetes credentials", `(token|client-key-data|password)\s*:\s*\S`},
	{"/.config/gcloud/application_default_credentials.json", "Google Cloud credentials", `"(refresh_token|private_key)"\s*:`},
	{"/.config/gcloud/credentials.db", "Google Cloud credentials", `.`},
	{"/.azure/accessTokens.json", "Azure tokens", `accessToken`},
	{"/.azure/msal_token_cache.json", "Azure tokens", `secret`},
	{"/.pgpass", "PostgreSQL password file", `(?m)^[^#\s][^:]*:[^:]*:[^:]*:[^:]*:\S`},
	{"/.s3cfg", "s3cmd secret key", `secret_key\s*=\s*\S`},
	{"/.my.cnf", "MySQL password", `(?m)^\s*password\s*=\s*\S`},
}

// credentialKind returns what the file at p would hold and the regexp its
// content must match, or "" and nil.
func credentialKind(p string) (string, *regexp.Regexp) {
	for _, c := range credentialFiles {
		if strings.HasSuffix(p, c.suffix) {
			return c.what, re().credential[c.suffix]
		}
	}
	return "", nil
}

// Names and extensions Dockle treats as suspicious (CIS-DI-0010).
var (
	suspiciousNames = []string{"credentials.json", "credential.json", "credentials", "credential", "password.txt",
		"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "secret_token.rb", "carrierwave.rb", "omniauth.rb",
		"settings.py", "database.yml", "credentials.xml", ".env"}
	suspiciousExts = []string{".secret", ".ovpn", ".private_key", ".cscfg", ".rdp", ".mdf", ".sdf", ".bek", ".tpm",
		".fve", ".jks", ".psafe3", ".agilekeychain", ".keychain", ".pcap", ".gnucache"}
	unnecessaryFiles = []string{"Dockerfile", "docker-compose.yml", ".vimrc", ".DS_Store"}
	unnecessaryDirs  = []string{".git", ".vscode", ".idea", ".cache", ".npm", ".aws", ".azure", ".gcp", ".svn", ".hg"}
)

// cacheRoots are package-manager cache directories; "*" matches one
// path element (a home directory).
var cacheRoots = []string{
	"/var/cache/apt/archives", "/var/lib/apt/lists", "/var/cache/apk", "/etc/apk/cache",
	"/var/cache/yum", "/var/cache/dnf", "/var/cache/zypp/packages",
	"/root/.cache/pip", "/home/*/.cache/pip", "/root/.npm/_cacache", "/home/*/.npm/_cacache",
	"/usr/local/share/.cache/yarn", "/root/.cache/yarn", "/root/.cache/go-build",
}

// cacheRoot returns the cache directory p lies in, or "".
func cacheRoot(p string) string {
	if !strings.HasPrefix(p, "/var/") && !strings.HasPrefix(p, "/root/") && !strings.HasPrefix(p, "/home/") &&
		!strings.HasPrefix(p, "/usr/local/share/") && !strings.HasPrefix(p, "/etc/apk/") {
		return "" // every root below starts so; most paths stop here
	}
	for _, root := range cacheRoots {
		n := strings.Count(root, "/")
		parts := strings.SplitN(p, "/", n+2)
		if len(parts) < n+2 {
			continue
		}
		prefix := strings.Join(parts[:n+1], "/")
		if ok, _ := path.Match(root, prefix); !ok {
			continue
		}
		rest := parts[n+1]
		if root == "/var/lib/apt/lists" && (rest == "lock" || strings.HasPrefix(rest, "partial")) {
			continue
		}
		if root == "/var/cache/apt/archives" && !strings.HasSuffix(rest, ".deb") {
			continue
		}
		return prefix
	}
	return ""
}

const capXattr = "SCHILY.xattr.security.capability"

var capNames = []string{"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
	"setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock",
	"ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot",
	"sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control",
	"setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon",
	"bpf", "checkpoint_restore"}

// decodeFileCaps renders a vfs_cap_data xattr (revision 1, 2 or 3) the
// way getcap does: "cap_net_raw,cap_sys_admin=ep".
func decodeFileCaps(b []byte) string {
	if len(b) < 12 {
		return fmt.Sprintf("malformed security.capability (%d bytes)", len(b))
	}
	magic := binary.LittleEndian.Uint32(b)
	words := 1
	switch magic & 0xff000000 {
	case 0x01000000:
	case 0x02000000, 0x03000000:
		words = 2
		if len(b) < 20 {
			return fmt.Sprintf("malformed security.capability (%d bytes)", len(b))
		}
	default:
		return fmt.Sprintf("unknown security.capability revision %#x", magic>>24)
	}
	var perm, inh uint64
	for i := 0; i < words; i++ {
		perm |= uint64(binary.LittleEndian.Uint32(b[4+8*i:])) << (32 * i)
		inh |= uint64(binary.LittleEndian.Uint32(b[8+8*i:])) << (32 * i)
	}
	var names []string
	for i := 0; i < 64; i++ {
		if (perm|inh)&(1<<i) == 0 {
			continue
		}
		if i < len(capNames) {
			names = append(names, "cap_"+capNames[i])
		} else {
			names = append(names, fmt.Sprintf("cap_%d", i))
		}
	}
	flags := ""
	if magic&1 != 0 {
		flags += "e"
	}
	if inh != 0 {
		flags += "i"
	}
	if perm != 0 {
		flags += "p"
	}
	return strings.Join(names, ",") + "=" + flags
}
