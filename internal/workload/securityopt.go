package workload

import (
	"strconv"
	"strings"
)

// securityOptSetting is the setting each security option key writes.
var securityOptSetting = map[string]string{
	"seccomp":           SetSeccomp,
	"apparmor":          SetAppArmor,
	"label":             SetSELinux,
	"systempaths":       SetSystemPaths,
	"no-new-privileges": SetNoNewPrivileges,
}

// securityOpt splits a security option as Docker's engine does: key=value,
// the legacy key:value, or a bare key.
func securityOpt(opt string) (key, value string) {
	key, value, ok := strings.Cut(opt, "=")
	if !ok {
		key, value, _ = strings.Cut(opt, ":")
	}
	return key, value
}

// applySecurityOpts sets what Docker's security options (--security-opt,
// Compose's security_opt, HostConfig.SecurityOpt) say; a later option
// overrides an earlier one with the same key, as in the engine.
func applySecurityOpts(w *Workload, opts []string) {
	for _, o := range opts {
		key, value := securityOpt(o)
		switch key {
		case "seccomp":
			w.Seccomp = value
		case "apparmor":
			w.AppArmor = value
		case "label":
			if value == "disable" || value == "type:spc_t" {
				w.SELinuxDisabled = true
			}
			w.SELinuxLabel.set(value)
		case "systempaths":
			w.SystemPathsUnconfined = value == "unconfined"
		case "no-new-privileges":
			on := true
			if value != "" {
				b, err := strconv.ParseBool(value)
				if err != nil {
					continue
				}
				on = b
			}
			w.NoNewPrivileges = &on
		}
	}
}

// set applies one SELinux label option ("user:U", "role:R", "type:T",
// "level:L"; Docker's label=... and Podman's selinux_opts); other
// options (disable, nested, filetype) name no part of the label.
func (l *SELinuxLabel) set(opt string) {
	part, v, _ := strings.Cut(opt, ":")
	switch part {
	case "user":
		l.User = v
	case "role":
		l.Role = v
	case "type":
		l.Type = v
	case "level":
		l.Level = v
	}
}
