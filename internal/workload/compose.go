package workload

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// maxComposeFile bounds each Compose file read: the file given and every
// file an `extends` names, and the .env beside it.
const maxComposeFile = 4 << 20

// ComposeOptions say what a Compose file is resolved against. The zero
// value resolves it as `docker compose config` does in the process's
// environment.
type ComposeOptions struct {
	// Environment is what interpolation sees before the .env file beside
	// the Compose file (whose values it overrides); nil means the
	// process's environment.
	Environment map[string]string
	// Profiles are the active profiles; nil means COMPOSE_PROFILES from
	// the environment or the .env file, as docker compose reads it.
	Profiles []string
}

// ParseCompose reads the services of a Compose file at path (data is its
// content; path "-" is standard input, resolved against the working
// directory) in the process's environment.
func ParseCompose(ctx context.Context, path string, data []byte) ([]Workload, error) {
	return ParseComposeWith(ctx, path, data, ComposeOptions{})
}

// ParseComposeWith reads the services of a Compose file as `docker
// compose config` resolves them: interpolation from the environment and
// the .env file beside it, `extends` (in the file and in other files,
// relative to the file that names them), profiles, merge rules and
// defaults. Every container the project runs is one Workload at
// StageFile: each service a profile leaves active ("compose.yaml service
// web"), each of its pre_start hook containers ("compose.yaml service web
// pre_start[0]") and each job ("compose.yaml job backup"); a privileged
// post_start or pre_stop hook makes its service's workload privileged.
//
// A Compose file that docker compose finds by default in its directory
// (compose.yaml...) is merged with the override file beside it
// (compose.override.yml...), as docker compose run there without -f
// merges them.
//
// Only files under the Compose file's directory are read, each at most
// 4 MiB and regular: the .env file, the override file and the files
// `extends` names. An
// `extends` outside it is an error, `include` is refused (its env files
// and project directories may lie anywhere), and env_file and label_file
// are not read, as no setting judged here comes from them. Nothing
// touches the network or a container engine.
func ParseComposeWith(ctx context.Context, path string, data []byte, opts ComposeOptions) ([]Workload, error) {
	ws, _, err := parseCompose(ctx, path, data, opts)
	return ws, err
}

// parseCompose is ParseComposeWith that also names the services and jobs
// no active profile enables: not judged, but one --profile away from
// running.
func parseCompose(ctx context.Context, path string, data []byte, opts ComposeOptions) ([]Workload, []string, error) {
	if len(data) > maxComposeFile {
		return nil, nil, fmt.Errorf("compose file %s: larger than %d bytes", path, maxComposeFile)
	}
	dir, filename, err := composeDir(path)
	if err != nil {
		return nil, nil, err
	}
	root, err := newComposeRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	lines := newComposeLines(root, path, filename, data)
	main, err := lines.doc(filename)
	if err != nil {
		return nil, nil, err
	}
	env, err := composeEnvironment(root, opts.Environment)
	if err != nil {
		return nil, nil, err
	}
	files := []types.ConfigFile{{Filename: filename, Content: data}}
	for _, f := range composeMerged(dir, filename, env) {
		if f == filename {
			// COMPOSE_FILE puts the file itself at its place in the merge
			// (files[0] until then).
			files = append(files[1:], files[0])
			continue
		}
		fd, err := root.read(f)
		if err != nil {
			return nil, nil, err
		}
		docs, err := lines.parse(f, fd)
		if err != nil {
			return nil, nil, fmt.Errorf("compose file %s: %w", f, err)
		}
		main = append(slices.Clip(main), docs...)
		files = append(files, types.ConfigFile{Filename: f, Content: fd})
	}
	if anyDocHas(main, "include") {
		return nil, nil, fmt.Errorf("compose file %s: include is not supported; resolve it first with docker compose config", path)
	}
	lines.env = env
	profiles := opts.Profiles
	if profiles == nil {
		for _, p := range strings.Split(env["COMPOSE_PROFILES"], ",") {
			profiles = append(profiles, strings.TrimSpace(p))
		}
	}
	project, err := loadCompose(ctx, types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: files,
		Environment: env,
	}, func(o *loader.Options) {
		if name := env["COMPOSE_PROJECT_NAME"]; name != "" {
			o.SetProjectName(name, true)
		} else if !anyDocHas(main, "name") {
			o.SetProjectName(loader.NormalizeProjectName(filepath.Base(dir)), false)
		}
		o.Profiles = profiles
		o.SkipInclude = true
		o.SkipResolveEnvironment = true
		o.SkipResolveLabels = true
		o.ResourceLoaders = []loader.ResourceLoader{root}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("compose file %s: %w", path, err)
	}
	var off []string
	notJudged := func(word, name string, profiles []string) {
		off = append(off, fmt.Sprintf("%s: %s %s: only in profile %s, which is not active; not judged (COMPOSE_PROFILES=%s judges it)",
			path, word, name, strings.Join(profiles, ", "), strings.Join(profiles, ",")))
	}
	for _, name := range slices.Sorted(maps.Keys(project.DisabledServices)) {
		notJudged("service", name, project.DisabledServices[name].Profiles)
	}
	for _, name := range slices.Sorted(maps.Keys(project.DisabledJobs)) {
		notJudged("job", name, project.DisabledJobs[name].Profiles)
	}
	ws := composeWorkloads(project, path, lines)
	for i := range ws {
		// docker compose reads a seccomp=FILE profile (relative to the
		// project directory) and sends its content: one that filters
		// nothing is no seccomp at all.
		if sp := ws[i].Seccomp; sp != "" && sp != "unconfined" && sp != "builtin" {
			if pd, err := root.read(sp); err == nil && seccompProfileAllowsAll(pd) {
				ws[i].Seccomp = "unconfined"
			}
		}
	}
	return ws, off, nil
}

// loadCompose runs compose-go's loader, turning its panic into an error:
// it asserts the kind of some values before it validates the file (a
// number as extends.file crashes it, and docker compose with it), and a
// hostile file must not crash hull.
func loadCompose(ctx context.Context, d types.ConfigDetails, opts func(*loader.Options)) (p *types.Project, err error) {
	defer func() {
		if recover() != nil {
			p, err = nil, errors.New("the Compose loader broke on it: a value is of a kind it does not take (docker compose breaks on it too)")
		}
	}()
	return loader.LoadWithContext(ctx, d, opts)
}

// anyDocHas says whether a top-level key is in any of the documents.
func anyDocHas(docs []*yaml.Node, key string) bool {
	return slices.ContainsFunc(docs, func(d *yaml.Node) bool { return mappingValue(d, key) != nil })
}

// composeDefaults returns the Compose file and the override file docker
// compose finds in dir when it is run there without -f (the first of
// compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml, and
// of their .override names), "" for none.
func composeDefaults(dir string) (winner, override string) {
	first := func(names []string) string {
		for _, n := range names {
			if p := filepath.Join(dir, n); fileExists(p) {
				return p
			}
		}
		return ""
	}
	winner = first(composeNames)
	if winner == "" {
		return "", ""
	}
	return winner, first(composeOverrideNames)
}

// composeNames and composeOverrideNames are the names composeDefaults
// looks for, in docker compose's order.
var (
	composeNames         = []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}
	composeOverrideNames = []string{"compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"}
)

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// composeMerged lists the files docker compose, run in dir without -f,
// reads with filename, in merge order, when filename is the Compose file
// it finds there by default: those COMPOSE_FILE names (from the
// environment or the .env file; filename among them where it is listed),
// else the override file beside it.
func composeMerged(dir, filename string, env map[string]string) []string {
	winner, override := composeDefaults(dir)
	if winner != filename {
		return nil
	}
	list := env["COMPOSE_FILE"]
	if list == "" {
		if override == "" {
			return nil
		}
		return []string{override}
	}
	var out []string
	for _, f := range strings.Split(list, cmp.Or(env["COMPOSE_PATH_SEPARATOR"], string(os.PathListSeparator))) {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// composeDir returns the project directory and the file name compose-go
// is told, as docker compose derives them.
func composeDir(path string) (dir, filename string, err error) {
	if path == "-" {
		dir, err = os.Getwd()
		if err != nil {
			return "", "", fmt.Errorf("compose file from standard input: working directory: %w", err)
		}
		return dir, "-", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("compose file %s: %w", path, err)
	}
	return filepath.Dir(abs), abs, nil
}

// composeEnvironment is the environment interpolation sees: the given one
// (or the process's), then the .env file beside the Compose file for what
// it leaves unset, unless COMPOSE_DISABLE_ENV_FILE says not to.
func composeEnvironment(root composeRoot, given map[string]string) (map[string]string, error) {
	env := make(map[string]string, len(given))
	if given == nil {
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	} else {
		for k, v := range given {
			env[k] = v
		}
	}
	if v, ok := env["COMPOSE_DISABLE_ENV_FILE"]; ok {
		disable, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("COMPOSE_DISABLE_ENV_FILE %q: not true or false", v)
		}
		if disable {
			return env, nil
		}
	}
	dotEnv := filepath.Join(root.dir, ".env")
	if fi, err := os.Stat(dotEnv); errors.Is(err, os.ErrNotExist) || err == nil && fi.IsDir() {
		// docker compose reads no .env when there is none or it is a
		// directory.
		return env, nil
	}
	if err := root.check(dotEnv); err != nil {
		return nil, err
	}
	fromFile, err := dotenv.GetEnvFromFile(env, []string{dotEnv})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dotEnv, err)
	}
	for k, v := range fromFile {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	return env, nil
}

// composeRoot confines what compose-go reads to the project directory. It
// is the first resource loader compose-go asks: it claims every path it
// refuses (outside the directory, not a regular file, too large) and fails
// loading it, and leaves the rest to compose-go's own local loader, so
// relative paths resolve exactly as docker compose resolves them.
type composeRoot struct {
	// dir is the project directory as given; real is it with symbolic
	// links resolved.
	dir, real string
}

func newComposeRoot(dir string) (composeRoot, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return composeRoot{}, fmt.Errorf("compose project directory %s: %w", dir, err)
	}
	return composeRoot{dir: dir, real: real}, nil
}

// check says why path (relative to the project directory, or absolute)
// may not be read, nil if it may.
func (r composeRoot) check(path string) error {
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.dir, path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if rel, err := filepath.Rel(r.real, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("read %s: outside the project directory %s; hull reads only files under it", path, r.dir)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("read %s: not a regular file", path)
	}
	if fi.Size() > maxComposeFile {
		return fmt.Errorf("read %s: larger than %d bytes", path, maxComposeFile)
	}
	return nil
}

// read returns a file under the project directory after check.
func (r composeRoot) read(path string) ([]byte, error) {
	if err := r.check(path); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.dir, path)
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer file.Close()
	// The file may have grown since check: read no more than the bound.
	data, err := readLimited(file, maxComposeFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// Accept claims the paths compose-go may not read.
func (r composeRoot) Accept(path string) bool { return r.check(path) != nil }

// Load fails for every path Accept claimed.
func (r composeRoot) Load(_ context.Context, path string) (string, error) {
	return "", r.check(path)
}

// Dir is never used: Load never succeeds.
func (r composeRoot) Dir(path string) string { return filepath.Dir(path) }

// composeWorkloads converts every container a project runs: each
// service, the pre_start hook containers that run before it, and each job.
func composeWorkloads(project *types.Project, path string, lines *composeLines) []Workload {
	file := filepath.Base(path)
	if path == "-" {
		file = "-"
	}
	var out []Workload
	var joins []composeJoin
	services, containers := map[string]int{}, map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(project.Services)) {
		s := project.Services[name]
		svc := lines.service("services", name)
		services[name] = len(out)
		if s.ContainerName != "" {
			containers[s.ContainerName] = len(out)
		}
		joins = append(joins, composeJoin{len(out), svc})
		w := composeContainer(project, s.ContainerSpec, file+" service "+name, "compose service", "services."+name, path, svc)
		composeWorkloadSpec(&w, s.WorkloadSpec, svc)
		composeDeploy(&w, s, svc)
		// A post_start or pre_stop hook with privileged: true runs a
		// process with every capability in the service's container.
		for _, hooks := range []struct {
			key  string
			list []types.ServiceHook
		}{{"post_start", s.PostStart}, {"pre_stop", s.PreStop}} {
			for i, h := range hooks.list {
				if h.Privileged {
					w.Privileged = true
					svc.setItem(w.Source.Fields, SetPrivileged, hooks.key, i, "privileged")
				}
			}
		}
		out = append(out, w)
		for i, h := range s.PreStart {
			hook := "pre_start[" + strconv.Itoa(i) + "]"
			hl := svc.hook(i)
			joins = append(joins, composeJoin{len(out), hl})
			out = append(out, composeContainer(project, h.ContainerSpec, file+" service "+name+" "+hook, "compose pre_start hook", "services."+name+"."+hook, path, hl))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(project.Jobs)) {
		j := project.Jobs[name]
		jl := lines.service("jobs", name)
		joins = append(joins, composeJoin{len(out), jl})
		w := composeContainer(project, j.ContainerSpec, file+" job "+name, "compose job", "jobs."+name, path, jl)
		composeWorkloadSpec(&w, j.WorkloadSpec, jl)
		out = append(out, w)
	}
	resolveJoins(out, joins, services, containers)
	return out
}

// composeJoin is a container of the project and the places of its
// settings.
type composeJoin struct {
	workload int
	lines    serviceLines
}

// joinRef finds the container a "service:NAME" or "container:NAME"
// reference names in the project (a service, or a service's
// container_name), -1 when it names none.
func joinRef(ref string, services, containers map[string]int) int {
	if name, ok := strings.CutPrefix(ref, types.ServicePrefix); ok {
		if i, ok := services[name]; ok {
			return i
		}
	}
	if name, ok := strings.CutPrefix(ref, types.ContainerPrefix); ok {
		if i, ok := containers[name]; ok {
			return i
		}
	}
	return -1
}

// resolveJoins gives each container what it takes from the others of
// the project, as docker compose starts it: a namespace mode that joins
// another service's container (network_mode, pid, ipc, uts, cgroup:
// "service:NAME" or "container:NAME") that is in the host's namespace,
// through any chain, is the host's; volumes_from adds the mounts of the
// containers it names (theirs, and what they take with volumes_from),
// every one read-only with ":ro". A reference to a container outside
// the project stays as written.
func resolveJoins(out []Workload, joins []composeJoin, services, containers map[string]int) {
	orig := make([]Workload, len(out))
	copy(orig, out)
	modes := []func(w *Workload) *string{
		func(w *Workload) *string { return &w.Namespaces.Network },
		func(w *Workload) *string { return &w.Namespaces.PID },
		func(w *Workload) *string { return &w.Namespaces.IPC },
		func(w *Workload) *string { return &w.Namespaces.UTS },
		func(w *Workload) *string { return &w.Namespaces.Cgroup },
	}
	for _, j := range joins {
		for _, mode := range modes {
			cur := *mode(&orig[j.workload])
			for range maxJoinDepth {
				next := joinRef(cur, services, containers)
				if next < 0 {
					break
				}
				cur = *mode(&orig[next])
			}
			if cur == "host" {
				*mode(&out[j.workload]) = "host"
			}
		}
	}
	memo := map[int][]Mount{}
	var mountsOf func(i, depth int) []Mount
	mountsOf = func(i, depth int) []Mount {
		if m, ok := memo[i]; ok {
			return m
		}
		ms := slices.DeleteFunc(slices.Clone(orig[i].Mounts), func(m Mount) bool { return m.Type == types.VolumeTypeTmpfs })
		if depth < maxJoinDepth {
			for _, vf := range orig[i].VolumesFrom {
				ms = append(ms, volumesFrom(vf, depth, services, containers, mountsOf)...)
			}
		}
		// Only the first mount at a destination is ever taken (see
		// below): the later ones are dropped here, or a chain of
		// services each naming the last twice would grow its list
		// exponentially with the chain's depth.
		seen := map[string]bool{}
		ms = slices.DeleteFunc(ms, func(m Mount) bool {
			dup := seen[m.Destination]
			seen[m.Destination] = true
			return dup
		})
		memo[i] = ms
		return ms
	}
	for _, j := range joins {
		w := &out[j.workload]
		for k, vf := range orig[j.workload].VolumesFrom {
			for _, m := range volumesFrom(vf, 0, services, containers, mountsOf) {
				if slices.ContainsFunc(w.Mounts, func(x Mount) bool { return x.Destination == m.Destination }) {
					continue // the container's own mount there wins
				}
				j.lines.setListItem(w.Source.Fields, fmt.Sprintf("%s[%d]", SetMounts, len(w.Mounts)), "volumes_from", k)
				w.Mounts = append(w.Mounts, m)
			}
		}
	}
}

// volumesFrom is the mounts one volumes_from entry ("NAME", "NAME:ro",
// "container:NAME:rw") gives.
func volumesFrom(entry string, depth int, services, containers map[string]int, mountsOf func(i, depth int) []Mount) []Mount {
	ref, mode := entry, ""
	if i := strings.LastIndexByte(entry, ':'); i >= 0 && (entry[i+1:] == "ro" || entry[i+1:] == "rw") {
		ref, mode = entry[:i], entry[i+1:]
	}
	if !strings.HasPrefix(ref, types.ContainerPrefix) {
		ref = types.ServicePrefix + ref
	}
	src := joinRef(ref, services, containers)
	if src < 0 {
		return nil
	}
	ms := slices.Clone(mountsOf(src, depth+1))
	for i := range ms {
		ms[i].ReadOnly = ms[i].ReadOnly || mode == "ro"
	}
	return ms
}

// composeContainer converts the container settings services, jobs and
// pre_start hooks share.
func composeContainer(project *types.Project, c types.ContainerSpec, name, kind, at, path string, svc serviceLines) Workload {
	w := Workload{
		Name:  name,
		Stage: StageFile,
		Source: Source{
			File:   path,
			Kind:   kind,
			Path:   at,
			Line:   svc.line(),
			Fields: map[string]Place{},
		},
		Image:             c.Image,
		User:              c.User,
		Groups:            c.GroupAdd,
		CapAdd:            normalizeCaps(c.CapAdd),
		CapDrop:           normalizeCaps(c.CapDrop),
		Privileged:        c.Privileged,
		DeviceCgroupRules: c.DeviceCgroupRules,
		ReadOnlyRootfs:    c.ReadOnly,
		CgroupParent:      c.CgroupParent,
		Sysctls:           c.Sysctls,
		VolumesFrom:       c.VolumesFrom,
		Namespaces: Namespaces{
			Network: c.NetworkMode,
			PID:     c.Pid,
			IPC:     c.Ipc,
			UTS:     c.Uts,
			User:    c.UserNSMode,
			Cgroup:  c.Cgroup,
		},
	}
	f := w.Source.Fields
	svc.set(f, SetImage, "image")
	svc.set(f, SetUser, "user")
	svc.set(f, SetCapAdd, "cap_add")
	svc.set(f, SetCapDrop, "cap_drop")
	svc.set(f, SetPrivileged, "privileged")
	svc.set(f, SetPID, "pid")
	svc.set(f, SetIPC, "ipc")
	svc.set(f, SetUTS, "uts")
	svc.set(f, SetUserNS, "userns_mode")
	svc.set(f, SetCgroupNS, "cgroup")
	svc.set(f, SetDeviceCgroupRules, "device_cgroup_rules")
	svc.set(f, SetReadOnlyRootfs, "read_only")
	svc.set(f, SetCgroupParent, "cgroup_parent")
	svc.set(f, SetSysctls, "sysctls")
	svc.set(f, SetVolumesFrom, "volumes_from")
	capID := scalarIDs(func(n string) []string { return normalizeCaps([]string{n}) })
	svc.items(f, "capAdd", "cap_add", w.CapAdd, capID)
	svc.items(f, "capDrop", "cap_drop", w.CapDrop, capID)

	for _, name := range c.NetworksByPriority() {
		if n, ok := project.Networks[name]; ok && n.Name != "" {
			name = n.Name
		}
		w.Networks = append(w.Networks, name)
	}
	if w.Namespaces.Network == "" && len(w.Networks) > 0 {
		w.Namespaces.Network = w.Networks[0]
		svc.set(f, SetNetwork, "networks")
	} else {
		svc.set(f, SetNetwork, "network_mode")
	}

	applySecurityOpts(&w, c.SecurityOpt)
	for _, set := range []string{SetSeccomp, SetAppArmor, SetSELinux, SetSystemPaths, SetNoNewPrivileges} {
		svc.setSecurityOpt(f, set)
	}

	svc.set(f, SetGroups, "group_add")
	w.PullPolicy = composePullPolicy(c.PullPolicy)
	svc.set(f, SetPullPolicy, "pull_policy")
	if len(c.ExtraHosts) > 0 {
		w.ExtraHosts = slices.Sorted(slices.Values(c.ExtraHosts.AsList(":")))
		svc.set(f, SetExtraHosts, "extra_hosts")
	}
	if size, ok := c.StorageOpt["size"]; ok {
		// Docker's --storage-opt size=, in its units (20G is 20 GiB).
		var b types.UnitBytes
		if b.DecodeMapstructure(size) == nil {
			w.Resources.EphemeralStorage = int64(b)
			svc.set(f, SetEphemeralStorage, "storage_opt", "size")
		}
	}

	composeMounts(&w, project, c, svc)
	composeDevices(&w, c, svc)
	composeLimits(&w, c, svc)
	return w
}

// composePullPolicy maps a Compose pull_policy to Kubernetes' words: a
// policy that may run a copy already on the host (missing, a refresh
// period) is IfNotPresent, one that never pulls (never, build) Never.
func composePullPolicy(p string) string {
	switch p {
	case "":
		return ""
	case types.PullPolicyAlways:
		return "Always"
	case types.PullPolicyNever, types.PullPolicyBuild:
		return "Never"
	}
	return "IfNotPresent"
}

// composeWorkloadSpec converts what services and jobs add to a container:
// the ports it listens on and publishes, and the health check.
func composeWorkloadSpec(w *Workload, s types.WorkloadSpec, svc serviceLines) {
	composePorts(w, s, svc)
	listen := func(p Port) {
		if !slices.Contains(w.ContainerPorts, p) {
			w.ContainerPorts = append(w.ContainerPorts, p)
		}
	}
	for _, e := range s.Expose {
		port, proto, _ := strings.Cut(e, "/")
		listen(Port{ContainerPort: port, Protocol: cmp.Or(proto, "tcp")})
	}
	for _, p := range w.Ports {
		listen(Port{ContainerPort: p.ContainerPort, Protocol: cmp.Or(p.Protocol, "tcp")})
	}
	if len(s.Expose) > 0 {
		svc.set(w.Source.Fields, SetContainerPorts, "expose")
	} else {
		svc.set(w.Source.Fields, SetContainerPorts, "ports")
	}
	if on := healthcheckOn(s.HealthCheck != nil && s.HealthCheck.Disable, s.HealthCheck != nil, healthTest(s.HealthCheck)); on != nil {
		w.Healthcheck = on
		svc.set(w.Source.Fields, SetHealthcheck, "healthcheck")
	}
}

// composeDeploy applies a service's restart policy and deploy section.
func composeDeploy(w *Workload, s types.ServiceConfig, svc serviceLines) {
	composeRestart(w, s, svc)
	if s.Deploy == nil {
		return
	}
	composeDeployLimits(w, s.Deploy.Resources.Limits, svc)
	if r := s.Deploy.Resources.Reservations; r != nil {
		if r.MemoryBytes != 0 {
			w.Resources.MemoryRequest = int64(r.MemoryBytes)
			svc.set(w.Source.Fields, SetMemoryRequest, "deploy", "resources", "reservations", "memory")
		}
		if r.NanoCPUs != 0 {
			w.Resources.CPURequest = int64(r.NanoCPUs * 1e9)
			svc.set(w.Source.Fields, SetCPURequest, "deploy", "resources", "reservations", "cpus")
		}
	}
}

func healthTest(hc *types.HealthCheckConfig) []string {
	if hc == nil {
		return nil
	}
	return hc.Test
}

// healthcheckOn says whether a container has a health check: disabled, or
// a test of NONE, is none; a test is one; a health check without a test
// (only its timing) keeps the image's, which a file does not show (nil).
func healthcheckOn(disabled, written bool, test []string) *bool {
	var on bool
	switch {
	case !written:
		return nil
	case disabled || len(test) > 0 && test[0] == "NONE":
		on = false
	case len(test) > 0:
		on = true
	default:
		return nil
	}
	return &on
}

// normalizeCaps writes capabilities as the model does: upper case, no
// CAP_ prefix.
func normalizeCaps(caps []string) []string {
	if caps == nil {
		return nil
	}
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
	}
	return out
}

func composeMounts(w *Workload, project *types.Project, s types.ContainerSpec, svc serviceLines) {
	for _, v := range s.Volumes {
		m := Mount{Type: v.Type, Source: v.Source, Destination: v.Target, ReadOnly: v.ReadOnly}
		if v.Type == types.VolumeTypeVolume && v.Source != "" {
			if vol, ok := project.Volumes[v.Source]; ok {
				m.Source, m.Driver = cmp.Or(vol.Name, m.Source), vol.Driver
				if host := localVolumeHost(vol); host != "" {
					m.Type, m.Source = types.VolumeTypeBind, host
				}
			}
		}
		if v.Bind != nil {
			m.Propagation = v.Bind.Propagation
		}
		w.Mounts = append(w.Mounts, m)
	}
	for _, t := range s.Tmpfs {
		dest, _, _ := strings.Cut(t, ":")
		w.Mounts = append(w.Mounts, Mount{Type: types.VolumeTypeTmpfs, Destination: dest})
	}
	f := w.Source.Fields
	if len(s.Volumes) > 0 {
		svc.set(f, SetMounts, "volumes")
	} else if len(s.Tmpfs) > 0 {
		svc.set(f, SetMounts, "tmpfs")
	}
	dests := make([]string, len(w.Mounts))
	for i, m := range w.Mounts {
		dests[i] = m.Destination
	}
	svc.items(f, "mounts", "volumes", dests[:len(s.Volumes)], volumeTarget)
	svc.itemsFrom(f, "mounts", "tmpfs", len(s.Volumes), dests[len(s.Volumes):], scalarIDs(func(n string) []string {
		dest, _, _ := strings.Cut(n, ":")
		return []string{dest}
	}))
}

// localVolumeHost is the host path a named volume of the local driver
// mounts, "" for any other volume: Docker's local driver mounts its
// driver_opts device with its type and o options, so `type: none, o:
// bind, device: /` is a bind of the host's root and `type: ext4, device:
// /dev/sda1` the host disk's filesystem (an NFS or CIFS share, or a
// device that is no host path such as tmpfs, is neither).
func localVolumeHost(v types.VolumeConfig) string {
	if v.External || (v.Driver != "" && v.Driver != "local") {
		return ""
	}
	device := v.DriverOpts["device"]
	switch v.DriverOpts["type"] {
	case "nfs", "nfs4", "cifs", "smb3":
		return ""
	}
	if !strings.HasPrefix(device, "/") {
		return ""
	}
	return device
}

func composeDevices(w *Workload, s types.ContainerSpec, svc serviceLines) {
	dests := make([]string, 0, len(s.Devices))
	for _, d := range s.Devices {
		w.Devices = append(w.Devices, Device{PathOnHost: d.Source, PathInContainer: d.Target, Permissions: d.Permissions})
		dests = append(dests, d.Target)
	}
	svc.set(w.Source.Fields, SetDevices, "devices")
	svc.items(w.Source.Fields, "devices", "devices", dests, deviceTarget)
}

// composeLimits reads the container-level limits: mem_limit, cpus,
// cpu_shares, cpu_quota, pids_limit.
func composeLimits(w *Workload, s types.ContainerSpec, svc serviceLines) {
	f := w.Source.Fields
	r := &w.Resources
	r.Memory = int64(s.MemLimit)
	svc.set(f, SetMemory, "mem_limit")
	r.CPUShares = s.CPUShares
	r.CPUQuota = s.CPUQuota
	r.NanoCPUs = int64(s.CPUS * 1e9)
	for _, k := range []string{"cpu_quota", "cpu_shares", "cpus"} {
		svc.set(f, SetCPU, k)
	}
	if s.PidsLimit != 0 {
		r.PidsLimit = &s.PidsLimit
		svc.set(f, SetPidsLimit, "pids_limit")
	}
}

// composeDeployLimits applies deploy.resources.limits over the
// container-level limits, as docker compose does.
func composeDeployLimits(w *Workload, l *types.Resource, svc serviceLines) {
	if l == nil {
		return
	}
	f := w.Source.Fields
	r := &w.Resources
	if l.MemoryBytes != 0 {
		r.Memory = int64(l.MemoryBytes)
		svc.set(f, SetMemory, "deploy", "resources", "limits", "memory")
	}
	if l.NanoCPUs != 0 {
		r.NanoCPUs = int64(l.NanoCPUs * 1e9)
		svc.set(f, SetCPU, "deploy", "resources", "limits", "cpus")
	}
	if l.Pids > 0 {
		pids := l.Pids
		r.PidsLimit = &pids
		svc.set(f, SetPidsLimit, "deploy", "resources", "limits", "pids")
	}
}

func composePorts(w *Workload, s types.WorkloadSpec, svc serviceLines) {
	keys := make([]string, 0, len(s.Ports))
	for _, p := range s.Ports {
		port := Port{HostIP: p.HostIP, HostPort: p.Published, ContainerPort: strconv.FormatUint(uint64(p.Target), 10), Protocol: p.Protocol}
		w.Ports = append(w.Ports, port)
		keys = append(keys, portKey(p))
	}
	svc.set(w.Source.Fields, SetPorts, "ports")
	svc.items(w.Source.Fields, "ports", "ports", keys, portIDs)
}

// portKey identifies a published port between the resolved model and the
// YAML item it came from.
func portKey(p types.ServicePortConfig) string {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	return fmt.Sprintf("%s|%s|%d/%s", p.HostIP, p.Published, p.Target, proto)
}

// composeRestart follows docker compose: restart, then
// deploy.restart_policy over it.
func composeRestart(w *Workload, s types.ServiceConfig, svc serviceLines) {
	if s.Restart != "" {
		name, attempts, _ := strings.Cut(s.Restart, ":")
		w.Restart.Policy = composeRestartPolicy(name)
		w.Restart.MaxRetries, _ = strconv.Atoi(attempts)
		svc.set(w.Source.Fields, SetRestart, "restart")
	}
	if s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		p := s.Deploy.RestartPolicy
		w.Restart = Restart{Policy: composeRestartPolicy(p.Condition)}
		if p.MaxAttempts != nil {
			w.Restart.MaxRetries = int(min(*p.MaxAttempts, uint64(1<<31-1)))
		}
		svc.set(w.Source.Fields, SetRestart, "deploy", "restart_policy")
	}
}

// composeRestartPolicy maps a Compose restart condition to the engine's
// policy, as docker compose does.
func composeRestartPolicy(condition string) string {
	switch condition {
	case "none", "no":
		return "no"
	case "any", "always":
		return "always"
	}
	return condition
}
