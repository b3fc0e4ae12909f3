package gate

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/hull-sec/hull/internal/workload"
)

// libpodOps: what podman --remote (Podman 4's libpod API, paths
// /vN.N.N/libpod/..., Normalise) calls for ps, run, create, start,
// stop, kill, logs -f, exec, attach, inspect, rm, pull, images, version
// and info. podman run --rm asks shouldrestart, which Podman 4.3 itself
// answers 404.
var libpodOps = []op{
	{"libpod ping", "GET", "/libpod/_ping", bodyNone, nil},
	{"libpod ping", "HEAD", "/libpod/_ping", bodyNone, nil},
	{"libpod version", "GET", "/libpod/version", bodyNone, nil},
	{"libpod info", "GET", "/libpod/info", bodyNone, nil},
	{"libpod container list", "GET", "/libpod/containers/json", bodyNone, nil},
	{"libpod container create", "POST", "/libpod/containers/create", bodyJSON, (*Gate).checkLibpodCreate},
	{"libpod container inspect", "GET", "/libpod/containers/{}/json", bodyNone, nil},
	{"libpod container exists", "GET", "/libpod/containers/{}/exists", bodyNone, nil},
	{"libpod container start", "POST", "/libpod/containers/{}/start", bodyNone, (*Gate).checkLibpodStart},
	{"libpod container stop", "POST", "/libpod/containers/{}/stop", bodyNone, nil},
	{"libpod container kill", "POST", "/libpod/containers/{}/kill", bodyNone, nil},
	{"libpod container wait", "POST", "/libpod/containers/{}/wait", bodyNone, nil},
	{"libpod container should restart", "POST", "/libpod/containers/{}/shouldrestart", bodyNone, nil},
	{"libpod container attach", "POST", "/libpod/containers/{}/attach", bodyNone, (*Gate).checkContainer},
	{"libpod container resize", "POST", "/libpod/containers/{}/resize", bodyNone, nil},
	{"libpod container logs", "GET", "/libpod/containers/{}/logs", bodyNone, nil},
	{"libpod container remove", "DELETE", "/libpod/containers/{}", bodyNone, nil},
	{"libpod exec create", "POST", "/libpod/containers/{}/exec", bodyJSON, (*Gate).checkExecCreate},
	{"libpod exec start", "POST", "/libpod/exec/{}/start", bodyJSON, (*Gate).checkExecStart},
	{"libpod exec resize", "POST", "/libpod/exec/{}/resize", bodyNone, nil},
	{"libpod exec inspect", "GET", "/libpod/exec/{}/json", bodyNone, nil},
	{"libpod image list", "GET", "/libpod/images/json", bodyNone, nil},
	{"libpod image pull", "POST", "/libpod/images/pull", bodyNone, (*Gate).checkLibpodPull},
	{"libpod image inspect", "GET", "/libpod/images/{...}/json", bodyNone, nil},
}

// checkLibpodCreate judges a libpod create request (Podman's
// SpecGenerator) by the container rules, converted by the workload
// model's libpod converter, and, with a trust policy, the image it
// names, pinned to the image the verdict was about.
func (g *Gate) checkLibpodCreate(r *http.Request, d decision) decision {
	if err := checkSpecFields(d.body); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	w, err := workload.ParseLibpodSpec(d.body)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if d = g.judgeWorkload(d, w); d.refusal != "" || g.opts.Verifier == nil {
		return d
	}
	// judgeImage works on Docker's create body: it is given one naming
	// the spec's image alone, and the spec itself is pinned here.
	docker := d
	docker.body, _ = json.Marshal(struct{ Image string }{w.Image})
	if docker = g.judgeImage(r.Context(), docker, w.Image); docker.refusal != "" {
		return docker
	}
	d.imageID, d.image = docker.imageID, docker.image
	return pinLibpodImage(d, d.body)
}

// pinLibpodImage forwards the judged spec body with its image field set
// to d.imageID, the ID of the image the trust verdict was about, so a
// re-tag or pull between the judgement and Podman's create cannot swap
// the image (Podman looks an image up by its ID as by a name). Only
// that value changes: CheckJSON left no two keys Podman reads as one,
// and the rewritten spec must convert to a workload naming the ID.
func pinLibpodImage(d decision, body []byte) decision {
	if d.imageID == "" {
		return refuse(d.op, "%s: the engine named no image ID to pin", d.op)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	// CheckJSON let through at most one key of each name, case folded;
	// Podman reads image, and raw_image_name only without it.
	key := "image"
	for k := range fields {
		if strings.EqualFold(k, key) {
			key = k
		}
	}
	fields[key], _ = json.Marshal(d.imageID)
	pinned, err := json.Marshal(fields)
	if err != nil {
		return refuse(d.op, "%s: pin the image: %v", d.op, err)
	}
	w, err := workload.ParseLibpodSpec(pinned)
	if err != nil {
		return refuse(d.op, "%s: pin the image: %v", d.op, err)
	}
	if w.Image != d.imageID {
		return refuse(d.op, "%s: the request with its image pinned to %s names %s", d.op, d.imageID, w.Image)
	}
	d.body = pinned
	return d
}

// checkLibpodPull lets a libpod pull through with one reference and,
// with a trust policy, only what checkPull would let dockerd pull: a
// tag is resolved at the registry (with the client's X-Registry-Auth
// credentials), the digest it names now is verified, and Podman is
// asked to pull that repo@digest, with the other parameters it reads
// kept, and to tag it once the pull succeeded. A pull with policy=never
// asks no registry and goes on as it is.
//
// Podman reads query keys in any case and, of repeated ones, any: the
// gate refuses a key given twice in any case rather than guess which.
func (g *Gate) checkLibpodPull(r *http.Request, d decision) decision {
	q, err := foldedQuery(r.URL.RawQuery)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	ref := q["reference"]
	if ref == "" {
		return refuse(d.op, "%s: the pull names no reference", d.op)
	}
	if g.opts.Verifier == nil {
		return d
	}
	if v := q["alltags"]; v != "" {
		if all, err := strconv.ParseBool(v); err != nil || all {
			return refuse(d.op, "%s: with a trust policy, a pull of all tags is not allowed", d.op)
		}
	}
	if q["policy"] == "never" {
		return d
	}
	fwd := url.Values{}
	for k, v := range q {
		switch spelling, ok := libpodPullParams[k]; {
		case !ok:
			return refuse(d.op, "%s: with a trust policy, the parameter %s is not one the gate knows, so it is refused", d.op, k)
		case k == "reference", spelling == "":
		default:
			fwd.Set(spelling, v)
		}
	}
	p, err := parseLibpodRef(ref)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if len(r.Header.Values("X-Registry-Config")) > 0 {
		return refuse(d.op, "%s: with a trust policy, credentials come in X-Registry-Auth, not X-Registry-Config", d.op)
	}
	kc, err := libpodKeychain(r.Header.Values("X-Registry-Auth"), p.repo)
	if err != nil {
		return refuse(d.op, "%s: %v", d.op, err)
	}
	if d = g.verifyRef(r.Context(), d, p, kc); d.refusal != "" {
		return d
	}
	fwd.Set("reference", d.image)
	d.query = fwd.Encode()
	if p.tag != "" {
		repo, _, _ := strings.Cut(d.image, "@")
		d.answer = g.tagAfterPull(r.Context(), d.image, repo, p.tag, libpodProgress)
	}
	return d
}

// libpodPullParams are the parameters of a libpod pull, case folded, the
// gate forwards with a pinned reference, in Podman's spelling; the ones
// spelt "" Podman's client sends and its service does not read (the
// credentials come in X-Registry-Auth), so they are dropped.
var libpodPullParams = map[string]string{
	"reference": "reference", "policy": "policy", "alltags": "allTags", "quiet": "quiet",
	"arch": "Arch", "os": "OS", "variant": "Variant", "tlsverify": "tlsVerify",
	// Podman 5.
	"retry": "retry", "retrydelay": "retryDelay",
	"authfile": "", "username": "", "password": "",
}

// libpodKeychain reads the credentials of a libpod pull of repo as
// Podman does: its X-Registry-Auth header holds one credential, or a
// map of them by registry or repository (what podman --remote sends of
// the client's podman login, which Podman reads first), of which
// Podman's image library uses the one for the longest prefix of repo.
func libpodKeychain(values []string, repo string) (authn.Keychain, error) {
	var raw []byte
	if len(values) == 1 {
		raw, _ = base64.URLEncoding.DecodeString(values[0])
	}
	var byName map[string]registryAuth
	if len(raw) == 0 || json.Unmarshal(raw, &byName) != nil {
		return clientKeychain(values)
	}
	if err := CheckJSON(raw); err != nil {
		return nil, fmt.Errorf("the X-Registry-Auth header: %w", err)
	}
	found := make(map[string]registryAuth, len(byName))
	for k, a := range byName {
		n := credentialName(k)
		if _, ok := found[n]; ok {
			return nil, fmt.Errorf("the X-Registry-Auth header gives credentials for %s more than once", n)
		}
		found[n] = a
	}
	for n := repo; n != ""; n, _ = path.Split(strings.TrimSuffix(n, "/")) {
		if a, ok := found[strings.TrimSuffix(n, "/")]; ok {
			return a.keychain(), nil
		}
	}
	return registryAuth{}.keychain(), nil
}

// credentialName is the registry or repository a key of the credential
// map names, as Podman's image library reads an auth.json key: a URL
// (the docker CLI's form) names its host, and registry-1.docker.io is
// docker.io.
func credentialName(k string) string {
	if rest, ok := strings.CutPrefix(k, "https://"); ok {
		k, _, _ = strings.Cut(rest, "/")
	} else if rest, ok := strings.CutPrefix(k, "http://"); ok {
		k, _, _ = strings.Cut(rest, "/")
	}
	if k == "registry-1.docker.io" {
		return "docker.io"
	}
	return k
}

// parseLibpodRef reads the reference of a libpod pull as Podman does: a
// tag, latest when none is named, or a digest. It must name its
// registry: Podman resolves a short name by its registries.conf, which
// the gate does not read, so it could verify one image and Podman pull
// another.
func parseLibpodRef(ref string) (pullRef, error) {
	first, _, ok := strings.Cut(ref, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return pullRef{}, fmt.Errorf("with a trust policy, a pull must name the registry of its image (such as docker.io/library/busybox): %s names none", ref)
	}
	tag := ""
	if base, _, digest := strings.Cut(ref, "@"); !digest {
		if t, err := name.NewTag(base, name.WithDefaultTag("")); err == nil && t.TagStr() == "" {
			tag = "latest"
		}
	}
	return parsePull(ref, tag)
}

// foldedQuery reads a query string into one value per key, the keys
// lower case, and refuses a key given twice, in any case.
func foldedQuery(raw string) (map[string]string, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("the query: %w", err)
	}
	out := make(map[string]string, len(q))
	for k, v := range q {
		f := lowerFold(k)
		if _, ok := out[f]; ok || len(v) != 1 {
			return nil, fmt.Errorf("the query gives %q more than once", k)
		}
		out[f] = v[0]
	}
	return out, nil
}

// specFields are the top-level fields of Podman 4's create spec
// (specgen.SpecGenerator) a libpod create may carry: the ones the
// workload model reads, and the ones whose effect stays inside the
// container or the engine's own bookkeeping. Any other field is
// refused: the gate does not forward what it has not judged.
var specFields = foldedSet(
	// Read by the workload model (workload.ParseLibpodSpec).
	"name", "image", "raw_image_name", "user", "groups", "cap_add", "cap_drop", "privileged",
	"no_new_privileges", "seccomp_profile_path", "apparmor_profile", "selinux_opts",
	"read_only_filesystem", "mask", "unmask", "netns", "pidns", "ipcns", "utsns", "userns",
	"cgroupns", "Networks", "cni_networks", "mounts", "volumes", "overlay_volumes",
	"image_volumes", "devices", "device_cgroup_rule", "resource_limits", "cgroup_parent",
	"sysctl", "volumes_from", "portmappings", "restart_policy", "restart_tries",
	"healthconfig", "hostadd", "expose", "rootfs", "rootfs_overlay",
	// Inside the container, or the engine's bookkeeping; the ones
	// with values that reach the host are judged by specValues.
	"entrypoint", "command", "env", "env_host", "httpproxy", "terminal", "stdin", "labels",
	"annotations", "stop_signal", "stop_timeout", "timeout", "log_configuration",
	"image_os", "image_arch", "image_variant", "oci_runtime", "systemd", "sdnotifyMode",
	"namespace", "hostname", "hostusers", "remove", "containerCreateCommand",
	"dependencyContainers", "init_container_type", "personality", "envmerge",
	"unsetenv", "unsetenvall", "manage_password", "passwd_entry", "image_volume_mode",
	"init", "shm_size", "work_dir", "create_working_dir", "rootfs_propagation",
	"volatile", "chroot_directories", "seccomp_policy", "idmappings", "umask",
	"procfs_opts", "cgroups_mode", "publish_image_ports", "use_image_resolve_conf",
	"dns_server", "dns_search", "dns_option", "use_image_hosts", "r_limits",
	"oom_score_adj", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice",
	"throttleReadIOPSDevice", "throttleWriteIOPSDevice", "cpu_period",
	"cpu_quota", "health_check_on_failure_action", "timezone",
	// Podman 4.4 and later.
	"read_write_tmpfs",
)

func foldedSet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[lowerFold(k)] = true
	}
	return m
}

// lowerFold is k in lower case, with every rune that case-folds to an
// ASCII letter (ſ, the Kelvin sign) written as that letter: two keys
// Go's decoder or Podman's query decoder read as one share it.
func lowerFold(k string) string { return strings.ToLower(foldKey(k)) }

// specValues refuses the values of known fields that reach the host
// in ways the workload model does not represent.
var specValues = []struct {
	field string
	// bad says why the value v (the field's raw JSON) is refused, or "".
	bad func(v json.RawMessage) string
}{
	{"env_host", isTrue("copies the Podman service's own environment into the container")},
	{"publish_image_ports", isTrue("publishes ports the image declares, which the request does not show, on every interface")},
	{"log_configuration", func(v json.RawMessage) string {
		var l struct{ Path string }
		if json.Unmarshal(v, &l) != nil || l.Path != "" {
			return "a log path makes Podman write the container's output to a file of the host"
		}
		return ""
	}},
	{"seccomp_policy", func(v json.RawMessage) string {
		var p string
		if json.Unmarshal(v, &p) != nil || p != "" && p != "default" {
			return "a seccomp policy other than default takes the profile from the image, unseen"
		}
		return ""
	}},
	{"timezone", func(v json.RawMessage) string {
		var tz string
		if json.Unmarshal(v, &tz) != nil || strings.HasPrefix(tz, "/") || slices.Contains(strings.Split(tz, "/"), "..") {
			return "a time zone names a file Podman copies from the host: only a zone name or local"
		}
		return ""
	}},
}

// specRefused are fields refused whenever they are set (not null,
// empty, false or zero): each makes Podman touch the host or another
// container where the model does not look.
var specRefused = map[string]string{
	"conmon_pid_file":  "makes Podman write a file of the host",
	"init_path":        "mounts a file of the host into the container",
	"pod":              "joins a pod, whose namespaces the gate does not judge",
	"storage_opts":     "sets storage driver options",
	"devices_from":     "copies another container's devices",
	"host_device_list": "adds devices of the host",
	"network_options":  "sets network driver options (such as host loopback access)",
	"secrets":          "reads a Podman secret, which the gate does not judge who may read",
	"secret_env":       "reads a Podman secret, which the gate does not judge who may read",
	"unified":          "writes cgroup files the rules do not judge",
}

func isTrue(why string) func(json.RawMessage) string {
	return func(v json.RawMessage) string {
		var b bool
		if json.Unmarshal(v, &b) != nil || b {
			return why
		}
		return ""
	}
}

// checkSpecFields refuses a create spec with a field the gate does not
// know, one of specRefused set, or a value specValues refuses. Keys are
// matched case folded, as Go's decoder (and so Podman) matches them;
// CheckJSON already refused two keys that fold alike.
func checkSpecFields(body []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return fmt.Errorf("the spec is not a JSON object: %w", err)
	}
	byFold := make(map[string]json.RawMessage, len(fields))
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		f := lowerFold(k)
		if why, ok := specRefused[f]; ok {
			if set(fields[k]) {
				return fmt.Errorf("the field %s is not allowed: it %s", k, why)
			}
			continue
		}
		if !specFields[f] {
			return fmt.Errorf("the field %s is not one the gate knows, so it is refused", k)
		}
		byFold[f] = fields[k]
	}
	for _, c := range specValues {
		if v, ok := byFold[lowerFold(c.field)]; ok && string(v) != "null" {
			if why := c.bad(v); why != "" {
				return fmt.Errorf("the field %s is not allowed: %s", c.field, why)
			}
		}
	}
	return nil
}

// set reports whether a JSON value is more than null, "", false, 0, []
// or {}.
func set(v json.RawMessage) bool {
	switch strings.TrimSpace(string(v)) {
	case "null", `""`, "false", "0", "[]", "{}":
		return false
	}
	return true
}

// checkLogPath refuses a Docker create whose log options name a path:
// Podman's Docker-compatible API reads the option path (in any case) as
// the host file conmon writes the container's output to, as root.
// dockerd knows no such option and refuses it.
func checkLogPath(body []byte) error {
	var req struct {
		HostConfig struct {
			LogConfig struct{ Config map[string]string }
		}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return err
	}
	for k := range req.HostConfig.LogConfig.Config {
		if strings.EqualFold(k, "path") {
			return fmt.Errorf("the log option %s is not allowed: it makes Podman write the container's output to a file of the host", k)
		}
	}
	return nil
}
