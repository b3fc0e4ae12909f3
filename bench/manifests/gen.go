// Command manifests writes a directory of Kubernetes manifests for
// benchmarking `hull config` against kube-score and `trivy config`.
//
//	go run ./bench/manifests -n 1000 -out DIR [-seed 1]
//
// Each file holds one workload (Deployment, StatefulSet, DaemonSet, Job,
// CronJob, ReplicaSet or Pod), some followed by a Service in the same
// file (multi-document YAML). Every pod draws a posture (hardened, typical
// or careless) and then each security-relevant setting on its own, so the
// corpus mixes good and bad values of: pod and container securityContext
// (runAsUser, runAsGroup, runAsNonRoot, fsGroup, supplementalGroups,
// privileged, allowPrivilegeEscalation, capabilities added and dropped,
// readOnlyRootFilesystem, procMount, seccompProfile, appArmorProfile,
// seLinuxOptions, sysctls, windowsOptions.hostProcess), the seccomp and
// AppArmor annotations, hostNetwork/hostPID/hostIPC/hostUsers, hostPath
// volumes (engine sockets, /, /etc, /proc ...) and mount propagation,
// hostPort and hostIP, resources (limits and requests present or not),
// probes, image references (untagged, :latest, tags, digests) and
// imagePullPolicy, automountServiceAccountToken, init and ephemeral
// containers.
//
// The output is the same byte for byte for the same -n and -seed: file i
// draws from its own generator seeded with (seed, i), and keys are
// written in a fixed order.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

func main() {
	n := flag.Int("n", 1000, "number of files")
	out := flag.String("out", "", "directory to write (created if missing)")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	if *out == "" || *n < 1 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: manifests -n N -out DIR [-seed S]")
		os.Exit(2)
	}
	if err := write(*out, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "manifests:", err)
		os.Exit(1)
	}
}

func write(dir string, n int, seed uint64) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	for i := range n {
		g := &gen{r: rand.New(rand.NewPCG(seed, uint64(i))), i: i}
		name, docs := g.file()
		var buf bytes.Buffer
		for j, d := range docs {
			if j > 0 {
				buf.WriteString("---\n")
			}
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(node(d)); err != nil {
				return fmt.Errorf("encode %s: %w", name, err)
			}
			if err := enc.Close(); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// obj is a mapping written in the order given.
type obj []kv

type kv struct {
	k string
	v any
}

// set appends k: v unless v is nil.
func (o *obj) set(k string, v any) {
	if v != nil {
		*o = append(*o, kv{k, v})
	}
}

func node(v any) *yaml.Node {
	switch v := v.(type) {
	case obj:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, e := range v {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.k}, node(e.v))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range v {
			n.Content = append(n.Content, node(e))
		}
		return n
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	}
	panic(fmt.Sprintf("manifests: no YAML for %T", v))
}

type app struct {
	name, image string
	tags        []string
	port        int
}

var apps = []app{
	{"web", "nginx", []string{"1.27.3", "1.25-alpine", "stable"}, 80},
	{"api", "ghcr.io/acme/api", []string{"v2.14.0", "2.13"}, 8080},
	{"worker", "registry.example.com/shop/worker", []string{"3.1.4", "3.0"}, 9090},
	{"cache", "redis", []string{"7.2.5", "7.2-alpine"}, 6379},
	{"db", "postgres", []string{"16.4", "15"}, 5432},
	{"exporter", "quay.io/prometheus/node-exporter", []string{"v1.8.2"}, 9100},
	{"logs", "cr.fluentbit.io/fluent/fluent-bit", []string{"3.1.9"}, 2020},
	{"frontend", "docker.io/acme/frontend", []string{"4.0.1", "4"}, 3000},
	{"payments", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments", []string{"2024.11.2"}, 8443},
	{"auth", "acme.azurecr.io/auth", []string{"1.9.0"}, 8080},
	{"search", "gcr.io/acme-prod/search", []string{"5.2.0"}, 9200},
	{"backup", "library/busybox", []string{"1.36.1", "1.36"}, 0},
	{"proxy", "envoyproxy/envoy", []string{"v1.31.2"}, 10000},
	{"queue", "rabbitmq", []string{"3.13-management"}, 5672},
}

var namespaces = []string{"shop", "payments", "monitoring", "platform", "data"}

type gen struct {
	r *rand.Rand
	i int
	// bad is the chance that a setting takes a bad value: the pod's
	// posture.
	bad float64
}

func (g *gen) p(x float64) bool { return g.r.Float64() < x }

func pick[T any](g *gen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

// file returns a file name and its documents.
func (g *gen) file() (string, []obj) {
	g.bad = pick(g, 0.02, 0.25, 0.25, 0.6)
	a := apps[g.r.IntN(len(apps))]
	name := a.name
	if g.p(0.5) {
		name += "-" + pick(g, "eu", "us", "blue", "green", "canary", "v2")
	}
	// Names are unique in the corpus: kube-score scores objects of one
	// kind, namespace and name as one, and selectors would cross files.
	name += "-" + strconv.Itoa(g.i)
	kind := pick(g, "Deployment", "Deployment", "Deployment", "Deployment", "StatefulSet", "StatefulSet",
		"DaemonSet", "DaemonSet", "Job", "CronJob", "CronJob", "Pod", "Pod", "ReplicaSet")
	meta := obj{{"name", name}}
	switch {
	case g.p(0.15): // no namespace
	case g.p(0.1):
		meta.set("namespace", "default")
	case g.p(0.05):
		meta.set("namespace", "kube-system")
	default:
		meta.set("namespace", pick(g, namespaces...))
	}
	labels := obj{{"app.kubernetes.io/name", name}}
	if g.p(0.5) {
		labels.set("app.kubernetes.io/part-of", pick(g, "shop", "platform", "observability"))
	}
	meta.set("labels", labels)
	selector := obj{{"matchLabels", obj{{"app.kubernetes.io/name", name}}}}
	pod := g.podSpec(a, name, kind)
	podMeta := g.podMeta(labels, pod)
	tmpl := obj{{"metadata", podMeta}, {"spec", pod}}

	var spec obj
	api := "apps/v1"
	switch kind {
	case "Deployment", "ReplicaSet":
		spec.set("replicas", pick(g, 1, 2, 3, 5))
		if kind == "Deployment" && g.p(0.3) {
			spec.set("strategy", obj{{"type", pick(g, "RollingUpdate", "Recreate")}})
		}
		spec.set("selector", selector)
		spec.set("template", tmpl)
	case "StatefulSet":
		spec.set("serviceName", name)
		spec.set("replicas", pick(g, 1, 3))
		spec.set("selector", selector)
		spec.set("template", tmpl)
		spec.set("volumeClaimTemplates", []any{obj{
			{"metadata", obj{{"name", "data"}}},
			{"spec", obj{{"accessModes", []any{"ReadWriteOnce"}}, {"resources", obj{{"requests", obj{{"storage", "10Gi"}}}}}}},
		}})
	case "DaemonSet":
		spec.set("selector", selector)
		spec.set("template", tmpl)
	case "Job":
		api = "batch/v1"
		spec.set("backoffLimit", pick(g, 0, 3, 6))
		if g.p(0.5) {
			spec.set("ttlSecondsAfterFinished", 3600)
		}
		spec.set("template", tmpl)
	case "CronJob":
		api = "batch/v1"
		spec.set("schedule", pick(g, "*/15 * * * *", "0 3 * * *", "30 1 * * 0"))
		if g.p(0.5) {
			spec.set("startingDeadlineSeconds", 300)
		}
		spec.set("concurrencyPolicy", pick(g, "Forbid", "Allow", "Replace"))
		jobSpec := obj{{"template", tmpl}}
		if g.p(0.4) {
			jobSpec = append(obj{{"activeDeadlineSeconds", 1800}}, jobSpec...)
		}
		spec.set("jobTemplate", obj{{"spec", jobSpec}})
	case "Pod":
		api = "v1"
	}
	var doc obj
	if kind == "Pod" {
		var pm obj
		for _, e := range meta {
			if e.k != "labels" {
				pm = append(pm, e)
			}
		}
		pm = append(pm, podMeta...)
		doc = obj{{"apiVersion", api}, {"kind", kind}, {"metadata", pm}, {"spec", pod}}
	} else {
		doc = obj{{"apiVersion", api}, {"kind", kind}, {"metadata", meta}, {"spec", spec}}
	}
	docs := []obj{doc}
	if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet") && a.port > 0 && g.p(0.4) {
		docs = append(docs, g.service(name, meta, a.port, kind == "StatefulSet"))
	}
	ext := pick(g, "yaml", "yaml", "yaml", "yml")
	return fmt.Sprintf("%04d-%s-%s.%s", g.i, strings.TrimSuffix(name, "-"+strconv.Itoa(g.i)), lower(kind), ext), docs
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

func (g *gen) service(name string, meta obj, port int, headless bool) obj {
	var m obj
	for _, e := range meta {
		if e.k != "labels" {
			m = append(m, e)
		}
	}
	spec := obj{}
	switch {
	case headless:
		spec.set("clusterIP", "None")
	case g.p(0.2):
		spec.set("type", "NodePort")
	case g.p(0.1):
		spec.set("type", "LoadBalancer")
	}
	if g.p(0.05) {
		spec.set("externalIPs", []any{"203.0.113.10"})
	}
	spec.set("selector", obj{{"app.kubernetes.io/name", name}})
	spec.set("ports", []any{obj{{"name", "http"}, {"port", 80}, {"targetPort", port}}})
	return obj{{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", m}, {"spec", spec}}
}

// podMeta returns the pod template's metadata: labels and the legacy
// seccomp and AppArmor annotations.
func (g *gen) podMeta(labels obj, pod obj) obj {
	m := obj{{"labels", labels}}
	var ann obj
	if g.p(0.15) {
		ann.set("seccomp.security.alpha.kubernetes.io/pod", pick(g, "runtime/default", "docker/default", "unconfined"))
	}
	for _, c := range containerNames(pod) {
		if g.p(0.1) {
			ann.set("container.seccomp.security.alpha.kubernetes.io/"+c, pick(g, "runtime/default", "unconfined", "localhost/profiles/audit.json"))
		}
		if g.p(0.2) {
			v := "runtime/default"
			if g.p(g.bad) {
				v = pick(g, "unconfined", "localhost/k8s-apparmor-example-deny-write")
			}
			ann.set("container.apparmor.security.beta.kubernetes.io/"+c, v)
		}
	}
	if g.p(0.1) {
		ann.set("prometheus.io/scrape", "true")
	}
	if len(ann) > 0 {
		m.set("annotations", ann)
	}
	return m
}

func containerNames(pod obj) []string {
	var names []string
	for _, e := range pod {
		if e.k == "containers" || e.k == "initContainers" {
			for _, c := range e.v.([]any) {
				names = append(names, c.(obj)[0].v.(string))
			}
		}
	}
	return names
}

var hostPaths = []string{"/var/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/crio/crio.sock",
	"/", "/etc", "/proc", "/sys", "/dev", "/var/log", "/var/lib/kubelet", "/data/" + "app", "/etc/ssl/certs", "/run"}

func (g *gen) podSpec(a app, name, kind string) obj {
	var pod obj
	if g.p(0.5) {
		pod.set("serviceAccountName", name)
	}
	switch {
	case g.p((1 - g.bad) * 0.5):
		pod.set("automountServiceAccountToken", false)
	case g.p(g.bad * 0.3):
		pod.set("automountServiceAccountToken", true)
	}
	hostNet := g.p(g.bad * 0.15)
	if kind == "DaemonSet" && g.p(g.bad*0.3) {
		hostNet = true
	}
	if hostNet {
		pod.set("hostNetwork", true)
		if g.p(0.5) {
			pod.set("dnsPolicy", "ClusterFirstWithHostNet")
		}
	} else if g.p(0.05) {
		pod.set("hostNetwork", false)
	}
	if g.p(g.bad * 0.12) {
		pod.set("hostPID", true)
	}
	if g.p(g.bad * 0.1) {
		pod.set("hostIPC", true)
	}
	if !hostNet && g.p((1-g.bad)*0.1) {
		pod.set("hostUsers", false)
	}
	switch kind {
	case "Job", "CronJob":
		rp := pick(g, "OnFailure", "Never", "OnFailure")
		if kind == "CronJob" && g.p(0.03) {
			rp = "Always" // invalid for a Job: kube-score's cronjob-restartpolicy
		}
		pod.set("restartPolicy", rp)
	case "Pod":
		if g.p(0.5) {
			pod.set("restartPolicy", pick(g, "Always", "OnFailure", "Never"))
		}
	}
	if g.p(0.04) {
		pod.set("hostAliases", []any{obj{{"ip", "10.0.0.5"}, {"hostnames", []any{"db.internal"}}}})
	}
	if psc := g.podSecurityContext(hostNet); len(psc) > 0 {
		pod.set("securityContext", psc)
	}
	if g.p(0.2) && (kind == "Deployment" || kind == "StatefulSet") {
		pod.set("affinity", obj{{"podAntiAffinity", obj{{"preferredDuringSchedulingIgnoredDuringExecution", []any{obj{
			{"weight", 100},
			{"podAffinityTerm", obj{{"labelSelector", obj{{"matchLabels", obj{{"app.kubernetes.io/name", name}}}}}, {"topologyKey", "kubernetes.io/hostname"}}},
		}}}}}})
	}

	vols, mounts := g.volumes(hostNet)
	n := 1
	if g.p(0.3) {
		n += 1 + g.r.IntN(2)
	}
	var ctrs, inits []any
	for j := range n {
		cname := a.name
		im := a
		if j > 0 {
			im = apps[g.r.IntN(len(apps))]
			cname = pick(g, "sidecar", "proxy", "metrics", "log-shipper") + strconv.Itoa(j)
		}
		// The first container mounts every volume the pod declares.
		ctrs = append(ctrs, g.container(cname, im, mounts, j == 0, true, hostNet))
	}
	if g.p(0.3) {
		inits = append(inits, g.container("init-"+pick(g, "migrate", "perms", "wait"), apps[11], mounts, false, false, hostNet))
	}
	if len(inits) > 0 {
		pod.set("initContainers", inits)
	}
	pod.set("containers", ctrs)
	if kind == "Pod" && g.p(0.05) {
		pod.set("ephemeralContainers", []any{g.container("debugger", apps[11], nil, false, false, hostNet)})
	}
	if len(vols) > 0 {
		pod.set("volumes", vols)
	}
	return pod
}

func (g *gen) podSecurityContext(hostNet bool) obj {
	var sc obj
	if g.p(0.4) {
		sc.set("runAsUser", g.uid())
	}
	if g.p(0.3) {
		sc.set("runAsGroup", g.gid())
	}
	switch {
	case g.p((1 - g.bad) * 0.5):
		sc.set("runAsNonRoot", true)
	case g.p(g.bad * 0.2):
		sc.set("runAsNonRoot", false)
	}
	if g.p(0.3) {
		sc.set("fsGroup", pick(g, 0, 2000, 10001))
	}
	if g.p(0.1) {
		sc.set("supplementalGroups", []any{pick(g, 0, 4000, 20000)})
	}
	if s := g.seccomp(0.35); s != nil {
		sc.set("seccompProfile", s)
	}
	if s := g.appArmor(0.1); s != nil {
		sc.set("appArmorProfile", s)
	}
	if s := g.seLinux(); s != nil {
		sc.set("seLinuxOptions", s)
	}
	if g.p(0.1) {
		var sys []any
		sys = append(sys, obj{{"name", "net.ipv4.ip_local_port_range"}, {"value", "32768 60999"}})
		if g.p(g.bad) {
			sys = append(sys, obj{{"name", pick(g, "kernel.msgmax", "net.core.somaxconn", "kernel.shm_rmid_forced", "vm.max_map_count")}, {"value", "65536"}})
		}
		sc.set("sysctls", sys)
	}
	if hostNet && g.p(0.05) {
		sc.set("windowsOptions", obj{{"hostProcess", true}, {"runAsUserName", "NT AUTHORITY\\SYSTEM"}})
	}
	return sc
}

func (g *gen) uid() int {
	if g.p(g.bad * 0.5) {
		return pick(g, 0, 0, 101, 999)
	}
	return pick(g, 1000, 10001, 65534, 20000)
}

func (g *gen) gid() int {
	if g.p(g.bad * 0.5) {
		return pick(g, 0, 0, 101, 999)
	}
	return pick(g, 1000, 10001, 65534, 30000)
}

func (g *gen) seccomp(x float64) obj {
	if !g.p(x) {
		return nil
	}
	switch {
	case g.p(g.bad * 0.4):
		return obj{{"type", "Unconfined"}}
	case g.p(0.15):
		return obj{{"type", "Localhost"}, {"localhostProfile", "profiles/app.json"}}
	}
	return obj{{"type", "RuntimeDefault"}}
}

func (g *gen) appArmor(x float64) obj {
	if !g.p(x) {
		return nil
	}
	switch {
	case g.p(g.bad * 0.5):
		return obj{{"type", "Unconfined"}}
	case g.p(0.2):
		return obj{{"type", "Localhost"}, {"localhostProfile", "k8s-apparmor-example-deny-write"}}
	}
	return obj{{"type", "RuntimeDefault"}}
}

func (g *gen) seLinux() obj {
	switch {
	case g.p(g.bad * 0.08):
		return obj{{"type", "spc_t"}}
	case g.p(g.bad * 0.05):
		return obj{{"user", "system_u"}, {"role", "system_r"}}
	case g.p(0.05):
		return obj{{"level", "s0:c123,c456"}}
	}
	return nil
}

type mount struct {
	name, path string
	host       bool
}

func (g *gen) volumes(hostNet bool) ([]any, []mount) {
	var vols []any
	var ms []mount
	if g.p(0.5) {
		vols = append(vols, obj{{"name", "config"}, {"configMap", obj{{"name", "app-config"}}}})
		ms = append(ms, mount{"config", "/etc/app", false})
	}
	if g.p(0.3) {
		vols = append(vols, obj{{"name", "tmp"}, {"emptyDir", obj{}}})
		ms = append(ms, mount{"tmp", "/tmp", false})
	}
	if g.p(0.2) {
		vols = append(vols, obj{{"name", "creds"}, {"secret", obj{{"secretName", "app-creds"}}}})
		ms = append(ms, mount{"creds", "/var/run/secrets/app", false})
	}
	if g.p(0.03) {
		vols = append(vols, obj{{"name", "shared"}, {"nfs", obj{{"server", "nfs.example.com"}, {"path", "/exports/shared"}}}})
		ms = append(ms, mount{"shared", "/shared", false})
	}
	nh := 0
	if g.p(g.bad * 0.5) {
		nh = 1 + g.r.IntN(2)
	}
	if hostNet && g.p(0.5) {
		nh++
	}
	for k := range nh {
		p := pick(g, hostPaths...)
		v := obj{{"path", p}}
		if g.p(0.4) {
			v.set("type", pick(g, "Directory", "DirectoryOrCreate", "Socket", "File"))
		}
		vn := "host-" + strconv.Itoa(k)
		vols = append(vols, obj{{"name", vn}, {"hostPath", v}})
		dest := "/host" + p
		if p == "/" {
			dest = "/host"
		}
		ms = append(ms, mount{vn, dest, true})
	}
	return vols, ms
}

func (g *gen) image(a app) string {
	switch {
	case g.p(g.bad * 0.25):
		return a.image
	case g.p(g.bad * 0.3):
		return a.image + ":latest"
	case g.p(0.2):
		return a.image + "@sha256:" + g.hex(64)
	case g.p(0.05):
		return a.image + ":" + pick(g, a.tags...) + "@sha256:" + g.hex(64)
	}
	return a.image + ":" + pick(g, a.tags...)
}

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

// container returns a container; mountAll mounts every volume, else
// each one by chance; a main container serves its app's port and has
// probes.
func (g *gen) container(name string, a app, mounts []mount, mountAll, main, hostNet bool) obj {
	c := obj{{"name", name}, {"image", g.image(a)}}
	if g.p(0.6) {
		c.set("imagePullPolicy", pick(g, "Always", "IfNotPresent", "IfNotPresent", "Never"))
	}
	if !main && g.p(0.5) {
		c.set("command", []any{"sh", "-c", "until nslookup db; do sleep 2; done"})
	}
	if main && a.port > 0 {
		port := obj{{"name", "http"}, {"containerPort", a.port}}
		if hostNet || g.p(g.bad*0.25) {
			port.set("hostPort", pick(g, a.port, 80, 443, 22, 8080))
			if g.p(0.3) {
				port.set("hostIP", pick(g, "127.0.0.1", "0.0.0.0"))
			}
		}
		port.set("protocol", "TCP")
		c.set("ports", []any{port})
	}
	if g.p(0.6) {
		env := []any{obj{{"name", "LOG_LEVEL"}, {"value", pick(g, "info", "debug")}}}
		if g.p(0.3) {
			env = append(env, obj{{"name", "DB_PASSWORD"}, {"valueFrom", obj{{"secretKeyRef", obj{{"name", "db"}, {"key", "password"}}}}}})
		}
		if g.p(0.04) {
			env = append(env, obj{{"name", "LOG_LEVEL"}, {"value", "warn"}})
		}
		c.set("env", env)
	}
	if r := g.resources(); len(r) > 0 {
		c.set("resources", r)
	}
	if main {
		g.probes(&c, a.port)
	}
	var vm []any
	for _, m := range mounts {
		if !mountAll && !g.p(0.5) {
			continue
		}
		o := obj{{"name", m.name}, {"mountPath", m.path}}
		if m.host && g.p(0.4) {
			o.set("readOnly", true)
		}
		if m.host && g.p(0.15) {
			o.set("mountPropagation", pick(g, "HostToContainer", "Bidirectional"))
		}
		vm = append(vm, o)
	}
	if len(vm) > 0 {
		c.set("volumeMounts", vm)
	}
	if sc := g.securityContext(); len(sc) > 0 {
		c.set("securityContext", sc)
	}
	return c
}

func (g *gen) resources() obj {
	var r obj
	cpu := pick(g, "100m", "250m", "500m", "1")
	mem := pick(g, "128Mi", "256Mi", "512Mi", "1Gi")
	eph := pick(g, "1Gi", "2Gi")
	same := g.p(0.3)
	var lim, req obj
	if g.p(1 - g.bad*0.6) {
		if g.p(0.8) {
			lim.set("cpu", cpu)
		}
		if g.p(0.9) {
			lim.set("memory", mem)
		}
		if g.p(0.3) {
			lim.set("ephemeral-storage", eph)
		}
	}
	if g.p(1 - g.bad*0.5) {
		if same {
			req = append(req, lim...)
		} else {
			if g.p(0.9) {
				req.set("cpu", pick(g, "50m", "100m"))
			}
			if g.p(0.9) {
				req.set("memory", pick(g, "64Mi", "128Mi"))
			}
			if g.p(0.3) {
				req.set("ephemeral-storage", "512Mi")
			}
		}
	}
	if len(lim) > 0 {
		r.set("limits", lim)
	}
	if len(req) > 0 {
		r.set("requests", req)
	}
	return r
}

func (g *gen) probes(c *obj, port int) {
	probe := func() obj {
		switch {
		case port == 0:
			return obj{{"exec", obj{{"command", []any{"cat", "/tmp/healthy"}}}}, {"periodSeconds", 10}}
		case g.p(0.6):
			return obj{{"httpGet", obj{{"path", pick(g, "/healthz", "/ready", "/")}, {"port", port}}}, {"periodSeconds", pick(g, 5, 10)}}
		}
		return obj{{"tcpSocket", obj{{"port", port}}}, {"initialDelaySeconds", 5}}
	}
	live := g.p(1 - g.bad*0.7)
	ready := g.p(1 - g.bad*0.6)
	var lp obj
	if live {
		lp = probe()
		c.set("livenessProbe", lp)
	}
	if ready {
		if live && g.p(0.2) {
			c.set("readinessProbe", lp)
		} else {
			c.set("readinessProbe", probe())
		}
	}
	if g.p(0.1) {
		c.set("startupProbe", probe())
	}
}

func (g *gen) securityContext() obj {
	if g.p(g.bad * 0.3) {
		return nil
	}
	var sc obj
	switch {
	case g.p(g.bad * 0.25):
		sc.set("privileged", true)
	case g.p(0.3):
		sc.set("privileged", false)
	}
	switch {
	case g.p((1 - g.bad) * 0.8):
		sc.set("allowPrivilegeEscalation", false)
	case g.p(g.bad * 0.3):
		sc.set("allowPrivilegeEscalation", true)
	}
	switch {
	case g.p((1 - g.bad) * 0.7):
		sc.set("readOnlyRootFilesystem", true)
	case g.p(0.15):
		sc.set("readOnlyRootFilesystem", false)
	}
	if g.p(0.5) {
		sc.set("runAsUser", g.uid())
	}
	if g.p(0.4) {
		sc.set("runAsGroup", g.gid())
	}
	switch {
	case g.p((1 - g.bad) * 0.4):
		sc.set("runAsNonRoot", true)
	case g.p(g.bad * 0.15):
		sc.set("runAsNonRoot", false)
	}
	var caps obj
	if g.p(g.bad * 0.5) {
		var add []any
		for range 1 + g.r.IntN(2) {
			add = append(add, pick(g, "NET_BIND_SERVICE", "CHOWN", "SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_MODULE", "ALL", "SETUID", "CAP_SYS_TIME"))
		}
		caps.set("add", add)
	} else if g.p(0.1) {
		caps.set("add", []any{"NET_BIND_SERVICE"})
	}
	switch {
	case g.p((1 - g.bad) * 0.7):
		caps.set("drop", []any{"ALL"})
	case g.p(0.1):
		caps.set("drop", []any{"NET_RAW"})
	}
	if len(caps) > 0 {
		sc.set("capabilities", caps)
	}
	switch {
	case g.p(g.bad * 0.08):
		sc.set("procMount", "Unmasked")
	case g.p(0.03):
		sc.set("procMount", "Default")
	}
	if s := g.seccomp(0.3); s != nil {
		sc.set("seccompProfile", s)
	}
	if s := g.appArmor(0.1); s != nil {
		sc.set("appArmorProfile", s)
	}
	if s := g.seLinux(); s != nil {
		sc.set("seLinuxOptions", s)
	}
	return sc
}
