package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// securityOpt is one --security-opt as dockerd reads it.
type securityOpt struct {
	index      int
	key, value string
}

// parseSecurityOpt reads option i as dockerd does: "key=value", the
// legacy "key:value", and the bare words no-new-privileges (true) and
// disable (label=disable).
func parseSecurityOpt(i int, o string) (securityOpt, error) {
	switch o {
	case "no-new-privileges":
		return securityOpt{i, o, "true"}, nil
	case "disable":
		return securityOpt{i, "label", "disable"}, nil
	}
	k, v, ok := strings.Cut(o, "=")
	if !ok {
		k, v, ok = strings.Cut(o, ":")
	}
	if !ok {
		return securityOpt{}, fmt.Errorf("security option %d: %q is neither KEY=VALUE nor a bare option", i, o)
	}
	switch k {
	case "label", "apparmor", "seccomp", "systempaths", "mask", "unmask", "proc-opts":
	case "no-new-privileges":
		if _, err := strconv.ParseBool(v); err != nil {
			return securityOpt{}, fmt.Errorf("security option %d: no-new-privileges takes true or false, not %q", i, v)
		}
	default:
		return securityOpt{}, fmt.Errorf("security option %d: unknown security option %q", i, k)
	}
	return securityOpt{i, k, v}, nil
}

// securityOpts parses a list of security options (--security-opt,
// HostConfig.SecurityOpt, Compose's security_opt): every option dockerd
// takes, a later one overriding an earlier one of the same key, and an
// error naming each it would refuse.
func securityOpts(raw []string) ([]securityOpt, error) {
	var out []securityOpt
	var errs []error
	for i, o := range raw {
		so, err := parseSecurityOpt(i, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// A later option of the same key wins.
		out = slices.DeleteFunc(out, func(x securityOpt) bool { return x.key == so.key && so.key != "label" })
		out = append(out, so)
	}
	return out, errors.Join(errs...)
}

// apply sets what o says on w and returns the setting it wrote ("" when
// it writes none the model keeps).
func (o securityOpt) apply(w *Workload) string {
	switch o.key {
	case "no-new-privileges":
		b, err := strconv.ParseBool(o.value)
		if err != nil {
			return ""
		}
		w.NoNewPrivileges = &b
		return SetNoNewPrivileges
	case "seccomp":
		w.Seccomp = o.value
		// The docker CLI sends a profile's content (--security-opt
		// seccomp=FILE): one that filters nothing is unconfined.
		if strings.HasPrefix(strings.TrimSpace(o.value), "{") && seccompProfileAllowsAll([]byte(o.value)) {
			w.Seccomp = "unconfined"
		}
		return SetSeccomp
	case "apparmor":
		w.AppArmor = o.value
		return SetAppArmor
	case "label":
		// spc_t is SELinux's super-privileged, unconfined container type.
		if o.value == "disable" || o.value == "type:spc_t" {
			w.SELinuxDisabled = true
		}
		if w.SELinuxLabel.set(o.value) || w.SELinuxDisabled {
			return SetSELinux
		}
	case "systempaths":
		if o.value == "unconfined" {
			w.SystemPathsUnconfined = true
			return SetSystemPaths
		}
	}
	return ""
}

// applySecurityOpts sets what a list of security options says on w.
func applySecurityOpts(w *Workload, raw []string) {
	opts, _ := securityOpts(raw)
	for _, o := range opts {
		o.apply(w)
	}
}

// set applies one SELinux label option ("user:U", "role:R", "type:T",
// "level:L"; Docker's label=... and Podman's selinux_opts) and reports
// whether it names a part of the label (disable, nested and filetype do
// not).
func (l *SELinuxLabel) set(opt string) bool {
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
	default:
		return false
	}
	return true
}

// seccompAllowsAll reports whether a seccomp filter of this default
// action and these rule actions filters nothing: every action lets the
// call run (allow, or log, which allows and logs).
func seccompAllowsAll(defaultAction specs.LinuxSeccompAction, actions []specs.LinuxSeccompAction) bool {
	permissive := func(a specs.LinuxSeccompAction) bool { return a == specs.ActAllow || a == specs.ActLog }
	return permissive(defaultAction) && !slices.ContainsFunc(actions, func(a specs.LinuxSeccompAction) bool { return !permissive(a) })
}

// seccompProfileAllowsAll reports whether a seccomp profile file in
// Docker's format (what --security-opt seccomp=FILE sends) filters
// nothing; false for a profile it cannot read, which the engine refuses.
func seccompProfileAllowsAll(data []byte) bool {
	var p struct {
		DefaultAction specs.LinuxSeccompAction `json:"defaultAction"`
		Syscalls      []struct {
			Action specs.LinuxSeccompAction `json:"action"`
		} `json:"syscalls"`
	}
	if json.Unmarshal(data, &p) != nil {
		return false
	}
	actions := make([]specs.LinuxSeccompAction, len(p.Syscalls))
	for i, sc := range p.Syscalls {
		actions[i] = sc.Action
	}
	return seccompAllowsAll(p.DefaultAction, actions)
}
