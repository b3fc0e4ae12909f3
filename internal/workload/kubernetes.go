package workload

// Kubernetes manifests: a YAML or JSON stream is read as kubectl reads it
// (documents split on "---" lines, a stream starting with "{" read as
// concatenated JSON objects, empty documents skipped, `kind: List` and
// the *List kinds opened), each document decoded strictly into the
// k8s.io/api types (an unknown or duplicate field is an error, as the API
// server's strict field validation makes it), and each container of a
// Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
// ReplicationController or PodTemplate becomes one Workload with the
// settings the kubelet would give it: pod-level securityContext under
// the container's, the defaults the API server and the kubelet fill in
// where the manifest is silent. Every document is also parsed with
// yaml.v3's node API, which alone knows lines, so each setting's Place
// carries the line it was written on.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sjson "sigs.k8s.io/json"
	k8syaml "sigs.k8s.io/yaml"
)

// MaxKubernetesStream is the most bytes ParseKubernetes reads from one
// stream; `helm template` of a large chart is a few MiB.
const MaxKubernetesStream = 16 << 20

// maxAliasGrowth bounds what YAML aliases may add to a document, in
// nodes: a document's aliases expand to at most its own node count plus
// this, so a "billion laughs" document is refused before any decoder
// expands it.
const maxAliasGrowth = 10000

// podKinds are the kinds that hold pods, with the API groups that serve
// them ("extensions" for the Deployments, DaemonSets and ReplicaSets of
// old manifests, which decode into the apps/v1 shapes).
var podKinds = map[string][]string{
	"Pod": {""}, "PodTemplate": {""}, "ReplicationController": {""},
	"Deployment": {"apps", "extensions"}, "DaemonSet": {"apps", "extensions"}, "ReplicaSet": {"apps", "extensions"},
	"StatefulSet": {"apps"},
	"Job":         {"batch"}, "CronJob": {"batch"},
}

// IsKubernetesKind reports whether kind (a Source.Kind) is one of the
// Kubernetes kinds ParseKubernetes reads.
func IsKubernetesKind(kind string) bool {
	_, ok := podKinds[kind]
	return ok
}

// ParseKubernetes reads the workloads of a Kubernetes YAML or JSON stream
// (file names it in Source). Objects that hold no pods (Service,
// ConfigMap, custom resources...) are skipped; a document that is no
// Kubernetes object, or a pod-holding object Kubernetes would refuse to
// decode, is an error that names the file, the document and the field.
func ParseKubernetes(data []byte, file string) ([]Workload, error) {
	ws, _, err := parseKubernetes(data, file)
	return ws, err
}

// parseKubernetes is ParseKubernetes that also names the objects it did
// not judge though they hold containers: custom resources with a pod
// template (an Argo Rollout, a Knative Service), a pod kind of an API
// group that does not serve it.
func parseKubernetes(data []byte, file string) ([]Workload, []string, error) {
	if len(data) > MaxKubernetesStream {
		return nil, nil, fmt.Errorf("%s: %d bytes, more than the %d a Kubernetes stream may have", file, len(data), MaxKubernetesStream)
	}
	docs, err := splitStream(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	r := &k8sReader{file: file, accounts: map[string]accountToken{}, volumes: map[string]corev1.PersistentVolume{}, claims: map[string]corev1.PersistentVolumeClaimSpec{}}
	for _, d := range docs {
		if err := r.document(d); err != nil {
			return nil, nil, fmt.Errorf("%s: document %d: %w", file, d.number, err)
		}
	}
	r.applyAccounts()
	r.applyClaims()
	return r.out, r.notJudged, nil
}

// document is one document of a stream.
type document struct {
	data []byte
	// number is its 1-based place in the stream.
	number int
	// line is the stream's line of its first line.
	line int
	// json is set for a document of a JSON stream.
	json bool
}

// splitStream cuts a stream into documents. A stream whose first
// non-blank byte is "{" is a sequence of JSON objects (kubectl's
// YAMLOrJSONDecoder); any other is YAML, cut at lines that start with
// "---" followed by nothing but a comment (kubectl's YAMLReader refuses
// any other text after it). Blank documents stay, so document numbers
// count every "---", except text before the first one that holds
// nothing but comments (Helm's "---\n# Source: ..." starts document 1).
func splitStream(data []byte) ([]document, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return splitJSON(data)
	}
	var docs []document
	start, startLine, line := 0, 1, 1
	for off := 0; off < len(data); line++ {
		next := len(data)
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			next = off + i + 1
		}
		if l := data[off:next]; bytes.HasPrefix(l, []byte("---")) {
			rest := strings.TrimSpace(string(l[3:]))
			if rest != "" && rest[0] != '#' {
				return nil, fmt.Errorf("line %d: text after the document separator \"---\"", line)
			}
			if len(docs) > 0 || !blankYAML(data[start:off]) {
				docs = append(docs, document{data: data[start:off], number: len(docs) + 1, line: startLine})
			}
			start, startLine = next, line+1
		}
		off = next
	}
	if len(docs) == 0 || start < len(data) {
		docs = append(docs, document{data: data[start:], number: len(docs) + 1, line: startLine})
	}
	return docs, nil
}

// blankYAML reports whether b holds nothing but blank lines and comments.
func blankYAML(b []byte) bool {
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && l[0] != '#' {
			return false
		}
	}
	return true
}

// splitJSON cuts a stream of concatenated JSON values.
func splitJSON(data []byte) ([]document, error) {
	var docs []document
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(docs)+1, err)
		}
		end := int(dec.InputOffset())
		begin := end - len(raw)
		docs = append(docs, document{data: raw, number: len(docs) + 1, line: 1 + bytes.Count(data[:begin], []byte("\n")), json: true})
	}
}

// k8sReader turns documents into workloads.
type k8sReader struct {
	file string
	out  []Workload
	// accounts are the ServiceAccounts of the stream by namespace/name.
	accounts map[string]accountToken
	// pending are the workloads whose token depends on their service
	// account (index into out, account key).
	pending []pendingToken
	// notJudged name the objects that hold containers hull does not
	// read.
	notJudged []string
	// volumes are the stream's PersistentVolumes by name, claims its
	// PersistentVolumeClaims by namespace/name, and claimed the mounts
	// of a claim, whose source the volume it binds decides.
	volumes map[string]corev1.PersistentVolume
	claims  map[string]corev1.PersistentVolumeClaimSpec
	claimed []pendingClaim
}

// pendingClaim is a mount of workload whose source is the volume a claim
// binds: the claim (namespace/name), or the volume it names itself (an
// ephemeral volume's claim template).
type pendingClaim struct {
	workload, mount int
	claim, volume   string
	subPath         string
}

type accountToken struct {
	automount *bool
}

type pendingToken struct {
	workload int
	account  string
}

// document reads one document: nothing for a blank one, an error for
// one that is no Kubernetes object.
func (r *k8sReader) document(d document) error {
	idx := yamlLines{offset: d.line - 1}
	if d.json {
		// JSON has no aliases, and the strict decoder refuses duplicate
		// keys itself; yaml.v3 only finds lines, where it reads it.
		var root yaml.Node
		if yaml.Unmarshal(d.data, &root) == nil {
			idx.root = &root
		}
		return r.object(d.data, "", "", "", d.number, idx)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(d.data, &root); err != nil {
		return streamLines(err, idx.offset)
	}
	if len(root.Content) == 0 || (root.Content[0].Kind == yaml.ScalarNode && root.Content[0].Tag == "!!null") {
		return nil // an empty document, as kubectl skips it
	}
	if err := checkNodes(&root, idx.offset); err != nil {
		return err
	}
	js, err := k8syaml.YAMLToJSONStrict(d.data) // duplicate keys refused
	if err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	idx.root = &root
	return r.object(js, "", "", "", d.number, idx)
}

// object reads one object (a document or an item of a List) at path;
// listAPI and itemKind are the apiVersion and kind the items of a *List
// kind default to (a PodList's items carry none).
func (r *k8sReader) object(js []byte, path, listAPI, itemKind string, doc int, idx yamlLines) error {
	var tm struct {
		metav1.TypeMeta `json:",inline"`
		Items           []json.RawMessage `json:"items"`
	}
	where := ""
	if path != "" {
		where = placeText(path, idx.line(path)) + ": "
	}
	if t := bytes.TrimSpace(js); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("%snot a Kubernetes object: no mapping", where)
	}
	// Duplicate keys refused here too: which "kind" wins must not depend
	// on the decoder.
	strictErrs, err := k8sjson.UnmarshalStrict(js, &tm, k8sjson.DisallowDuplicateFields)
	if err = errors.Join(append([]error{err}, strictErrs...)...); err != nil {
		return fmt.Errorf("%snot a Kubernetes object: %w", where, describeDecodeError(err, path, idx))
	}
	kind, apiVersion := cmp.Or(tm.Kind, itemKind), cmp.Or(tm.APIVersion, listAPI)
	if apiVersion == "" || kind == "" {
		return fmt.Errorf("%snot a Kubernetes object: no apiVersion or kind", where)
	}
	if kind == "List" || (strings.HasSuffix(kind, "List") && podKinds[strings.TrimSuffix(kind, "List")] != nil) {
		itemAPI, items := "", ""
		if kind != "List" {
			itemAPI, items = apiVersion, strings.TrimSuffix(kind, "List")
		}
		for i, it := range tm.Items {
			if err := r.object(it, joinPath(path, fmt.Sprintf("items[%d]", i)), itemAPI, items, doc, idx); err != nil {
				return err
			}
		}
		return nil
	}
	group, _, _ := strings.Cut(apiVersion, "/")
	if !strings.Contains(apiVersion, "/") {
		group = ""
	}
	if !slices.Contains(podKinds[kind], group) {
		switch {
		case group != "":
		case kind == "ServiceAccount":
			return r.account(js)
		case kind == "PersistentVolume" || kind == "PersistentVolumeClaim":
			r.storage(kind, js)
			return nil
		}
		// Not a workload hull reads: a Service, a ConfigMap, or a custom
		// resource, which may still run containers (a Rollout's pod
		// template): those are named, not passed in silence.
		// A ConfigMap's or Secret's data is not decoded for it at all.
		if kind == "ConfigMap" || kind == "Secret" {
			return nil
		}
		if at := imageField(js); at != "" {
			at = joinPath(path, at)
			r.notJudged = append(r.notJudged, fmt.Sprintf("%s: document %d: %s: %s %s (%s) holds containers, but is not a kind hull reads; not judged",
				r.file, doc, placeText(at, idx.line(at)), kind, objectName(js), apiVersion))
		}
		return nil
	}
	src, err := decodePods(kind, js)
	if err != nil {
		return describeDecodeError(err, path, idx)
	}
	if src.template == nil {
		return nil // a ReplicationController may leave its pods to others
	}
	return r.pods(src, path, doc, idx)
}

// imageField returns the path of the first container image an object
// names (an "image" string, or a "containers" list, outside metadata and
// status, at any depth), "" when it names none.
func imageField(js []byte) string {
	var v any
	if json.Unmarshal(js, &v) != nil {
		return ""
	}
	var find func(v any, path string, depth int) string
	find = func(v any, path string, depth int) string {
		if depth > 100 {
			return ""
		}
		switch x := v.(type) {
		case map[string]any:
			if img, ok := x["image"].(string); ok && img != "" {
				return joinPath(path, "image")
			}
			if cs, ok := x["containers"].([]any); ok && len(cs) > 0 {
				return joinPath(path, "containers")
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if depth == 0 && (k == "metadata" || k == "status") {
					continue
				}
				if at := find(x[k], joinPath(path, k), depth+1); at != "" {
					return at
				}
			}
		case []any:
			for i, it := range x {
				if at := find(it, fmt.Sprintf("%s[%d]", path, i), depth+1); at != "" {
					return at
				}
			}
		}
		return ""
	}
	return find(v, "", 0)
}

// objectName is an object's namespace/name as a reader would write it.
func objectName(js []byte) string {
	var o struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	_ = json.Unmarshal(js, &o)
	return podSource{meta: o.Metadata}.name()
}

// account records a ServiceAccount's automountServiceAccountToken. It is
// decoded as strictly as a pod: a field in another case
// ("automountserviceaccounttoken"), unknown or written twice is no field
// of Kubernetes' (which ignores or refuses it), so such a ServiceAccount
// decides nothing and the pods keep the default, a mounted token.
func (r *k8sReader) account(js []byte) error {
	var sa corev1.ServiceAccount
	if strictErrs, err := k8sjson.UnmarshalStrict(js, &sa); err != nil || len(strictErrs) > 0 {
		return nil
	}
	r.accounts[sa.Namespace+"/"+sa.Name] = accountToken{automount: sa.AutomountServiceAccountToken}
	return nil
}

// storage records a PersistentVolume or PersistentVolumeClaim, decoded as
// strictly as a pod (one Kubernetes would refuse binds nothing).
func (r *k8sReader) storage(kind string, js []byte) {
	if kind == "PersistentVolume" {
		var pv corev1.PersistentVolume
		if errs, err := k8sjson.UnmarshalStrict(js, &pv); err == nil && len(errs) == 0 {
			r.volumes[pv.Name] = pv
		}
		return
	}
	var pvc corev1.PersistentVolumeClaim
	if errs, err := k8sjson.UnmarshalStrict(js, &pvc); err == nil && len(errs) == 0 {
		r.claims[pvc.Namespace+"/"+pvc.Name] = pvc.Spec
	}
}

// applyClaims gives the mounts of a claim the source of the
// PersistentVolume in the stream it binds: the one the claim names
// (volumeName), else the one reserved for the claim (claimRef), else the
// one the binder would pick for it (bindable). A hostPath or local
// volume is a bind of its node path, as a hostPath volume of the pod is.
func (r *k8sReader) applyClaims() {
	if len(r.claimed) == 0 {
		return
	}
	// The volumes' names are sorted, each claim's reserved volume (the
	// first by name whose claimRef names it) found and the volume the
	// binder would pick chosen once for all mounts: per mount, a stream
	// of many mounts and volumes took time quadratic in its size.
	names := slices.Sorted(maps.Keys(r.volumes))
	reserved := map[string]string{}
	for _, name := range names {
		if ref := r.volumes[name].Spec.ClaimRef; ref != nil {
			k := ref.Namespace + "/" + ref.Name
			if _, taken := reserved[k]; !taken {
				reserved[k] = name
			}
		}
	}
	// binds is bindable's answer per claim, asked once however many
	// mounts the claim has.
	binds := map[string]struct {
		pv corev1.PersistentVolume
		ok bool
	}{}
	for _, c := range r.claimed {
		spec, known := r.claims[c.claim]
		pv, ok := r.volumes[cmp.Or(c.volume, spec.VolumeName)]
		if name, found := reserved[c.claim]; !ok && c.volume == "" && found {
			pv, ok = r.volumes[name], true
		}
		if !ok && known && spec.VolumeName == "" {
			b, done := binds[c.claim]
			if !done {
				b.pv, b.ok = r.bindable(spec, names)
				binds[c.claim] = b
			}
			pv, ok = b.pv, b.ok
		}
		if !ok {
			continue
		}
		m := &r.out[c.workload].Mounts[c.mount]
		m.Driver = volumeKind(pv.Spec.PersistentVolumeSource)
		host := ""
		switch src := pv.Spec.PersistentVolumeSource; {
		case src.HostPath != nil:
			host = src.HostPath.Path
		case src.Local != nil:
			host = src.Local.Path
		default:
			continue
		}
		m.Type, m.Source = "bind", host
		if c.subPath != "" {
			m.Source = strings.TrimSuffix(host, "/") + "/" + c.subPath
		}
	}
}

// bindable is the PersistentVolume of the stream the binder would bind a
// claim without a volumeName to: one reserved for no other claim, of the
// claim's storage class ("" when it names none, as without a default
// class), with its access modes and at least its storage request; the
// smallest, as the binder picks (the first by name of equal ones; names
// are the volumes' names, sorted).
func (r *k8sReader) bindable(claim corev1.PersistentVolumeClaimSpec, names []string) (corev1.PersistentVolume, bool) {
	var best corev1.PersistentVolume
	found := false
	want := claim.Resources.Requests[corev1.ResourceStorage]
	for _, name := range names {
		pv := r.volumes[name]
		have := pv.Spec.Capacity[corev1.ResourceStorage]
		switch {
		case pv.Spec.ClaimRef != nil, pv.Spec.StorageClassName != ptrValue(claim.StorageClassName),
			slices.ContainsFunc(claim.AccessModes, func(m corev1.PersistentVolumeAccessMode) bool { return !slices.Contains(pv.Spec.AccessModes, m) }),
			have.Cmp(want) < 0:
			continue
		}
		if bestCap := best.Spec.Capacity[corev1.ResourceStorage]; !found || have.Cmp(bestCap) < 0 {
			best, found = pv, true
		}
	}
	return best, found
}

// applyAccounts sets the token of the workloads whose pod leaves it to a
// ServiceAccount the stream defines (same namespace, as written).
func (r *k8sReader) applyAccounts() {
	for _, p := range r.pending {
		if a, ok := r.accounts[p.account]; ok && a.automount != nil {
			v := *a.automount
			r.out[p.workload].ServiceAccountToken = &v
		}
	}
}

// podSource is a pod template found in an object.
type podSource struct {
	kind string
	meta metav1.ObjectMeta
	// template is the pod's metadata and spec; nil when the object has
	// none (a ReplicationController may omit it).
	template *corev1.PodTemplateSpec
	// at is the template's path in the object ("" for a Pod).
	at string
	// controller is set for kinds whose pods Kubernetes always restarts.
	controller bool
	// backoffLimit is a Job's, nil elsewhere.
	backoffLimit *int32
}

func (s podSource) name() string {
	n := cmp.Or(s.meta.Name, s.meta.GenerateName, "(no name)")
	if s.meta.Namespace != "" {
		return s.meta.Namespace + "/" + n
	}
	return n
}

// decodePods decodes a pod-holding kind strictly, as the API server's
// strict field validation does (unknown and duplicate fields refused,
// names matched case-sensitively).
func decodePods(kind string, js []byte) (podSource, error) {
	strict := func(v any) error {
		if err := checkQuantities(js, reflect.TypeOf(v)); err != nil {
			return err
		}
		strictErrs, err := k8sjson.UnmarshalStrict(js, v)
		if err != nil {
			return err
		}
		return errors.Join(strictErrs...)
	}
	s := podSource{kind: kind, at: "spec.template", controller: true}
	switch kind {
	case "Pod":
		var o corev1.Pod
		if err := strict(&o); err != nil {
			return s, err
		}
		s.meta, s.at, s.controller = o.ObjectMeta, "", false
		s.template = &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}
	case "PodTemplate":
		var o corev1.PodTemplate
		if err := strict(&o); err != nil {
			return s, err
		}
		// A PodTemplate's pods belong to whoever uses it; the restart
		// policy is the template's own.
		s.meta, s.template, s.at, s.controller = o.ObjectMeta, &o.Template, "template", false
	case "ReplicationController":
		var o corev1.ReplicationController
		if err := strict(&o); err != nil {
			return s, err
		}
		s.meta, s.template = o.ObjectMeta, o.Spec.Template
	case "Deployment":
		var o appsv1.Deployment
		if err := strict(&o); err != nil {
			return s, err
		}
		s.meta, s.template = o.ObjectMeta, &o.Spec.Template
	case "StatefulSet":
		var o appsv1.StatefulSet
		if err := strict(&o); err != nil {
			return s, err
		}
		s.meta, s.template = o.ObjectMeta, &o.Spec.Template
	case "DaemonSet":
		var o appsv1.DaemonSet
		if err := strict(&o); err != nil {
			return s, err
		}
		s.meta, s.template = o.ObjectMeta, &o.Spec.Template
	case "ReplicaSet":
		var o appsv1.ReplicaSet
		if err := strict(&o); err != nil {
			return s, err
		}
		s.meta, s.template = o.ObjectMeta, &o.Spec.Template
	case "Job":
		var o batchv1.Job
		if err := strict(&o); err != nil {
			return s, err
		}
		s.meta, s.template, s.controller, s.backoffLimit = o.ObjectMeta, &o.Spec.Template, false, o.Spec.BackoffLimit
	case "CronJob":
		var o batchv1.CronJob
		if err := strict(&o); err != nil {
			return s, err
		}
		s.meta, s.template, s.controller, s.backoffLimit = o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template, false, o.Spec.JobTemplate.Spec.BackoffLimit
		s.at = "spec.jobTemplate.spec.template"
	}
	return s, nil
}

// maxQuantity bounds the text of a resource quantity and its exponent:
// apimachinery's ParseQuantity rounds "1e-9999999" with arbitrary
// precision, which takes seconds per value (minutes for a few more
// digits), and no real quantity comes near either bound.
const (
	maxQuantityText     = 64
	maxQuantityExponent = 100
)

var quantityType = reflect.TypeFor[resource.Quantity]()

// checkQuantities refuses, before the typed decoder parses them, the
// resource quantities of js (an object decoding into t) that
// ParseQuantity would take unbounded time on.
func checkQuantities(js []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil // the typed decoder says what is wrong
	}
	return walkQuantities(v, t, "")
}

func walkQuantities(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == quantityType {
		s, ok := v.(string)
		if n, isNum := v.(json.Number); isNum {
			s, ok = string(n), true
		}
		if !ok {
			return nil
		}
		exp := 0
		if i := strings.LastIndexAny(s, "eE"); i >= 0 {
			exp, _ = strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		}
		if len(s) > maxQuantityText || exp > maxQuantityExponent || exp < -maxQuantityExponent {
			return &quantityError{path: path, text: s}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-" || !f.IsExported():
			case f.Anonymous && (name == "" || strings.Contains(opts, "inline")):
				if err := walkQuantities(v, f.Type, path); err != nil {
					return err
				}
			default:
				if val, ok := m[cmp.Or(name, f.Name)]; ok {
					if err := walkQuantities(val, f.Type, joinPath(path, cmp.Or(name, f.Name))); err != nil {
						return err
					}
				}
			}
		}
	case reflect.Slice, reflect.Array:
		items, _ := v.([]any)
		for i, it := range items {
			if err := walkQuantities(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, _ := v.(map[string]any)
		for k, val := range m {
			if err := walkQuantities(val, t.Elem(), joinPath(path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// quantityError is a quantity checkQuantities refused.
type quantityError struct{ path, text string }

func (e *quantityError) Error() string {
	return fmt.Sprintf("%s: quantity %.20q is out of any resource's range", e.path, e.text)
}

// quantityValue is q in units of scale, saturated at the int64 bounds
// (Quantity.ScaledValue wraps around).
func quantityValue(q resource.Quantity, scale resource.Scale) int64 {
	switch f := q.AsApproximateFloat64() * math.Pow10(-int(scale)); {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return q.ScaledValue(scale)
}

// describeDecodeError says which field of the object at path the
// decoder refused, with its line.
func describeDecodeError(err error, path string, idx yamlLines) error {
	var msgs []string
	for _, e := range unjoin(err) {
		var fe k8sjson.FieldError
		var te *json.UnmarshalTypeError
		var qe *quantityError
		switch {
		case errors.As(e, &qe):
			p := joinPath(path, qe.path)
			msgs = append(msgs, fmt.Sprintf("%s: quantity %.20q is out of any resource's range", placeText(p, idx.line(p)), qe.text))
		case errors.As(e, &fe):
			p := joinPath(path, fe.FieldPath())
			what := "field refused"
			switch s := e.Error(); {
			case strings.HasPrefix(s, "unknown field"):
				what = "unknown field"
			case strings.HasPrefix(s, "duplicate field"):
				what = "field written twice"
			}
			msgs = append(msgs, fmt.Sprintf("%s: %s", placeText(p, idx.line(p)), what))
		case errors.As(e, &te) && te.Field != "":
			p := joinPath(path, te.Field)
			// The decoder's path has no list indexes, so no line either.
			msgs = append(msgs, fmt.Sprintf("%s: %s where Kubernetes wants %s", p, article(te.Value), jsonKind(te.Type)))
		default:
			msgs = append(msgs, fmt.Sprintf("%s: %v", cmp.Or(path, "document"), strings.TrimPrefix(e.Error(), "json: ")))
		}
	}
	return &decodeError{msg: strings.Join(msgs, "; "), err: err}
}

// decodeError is the decoder's error said in Kubernetes' field paths.
type decodeError struct {
	msg string
	err error
}

func (e *decodeError) Error() string { return e.msg }
func (e *decodeError) Unwrap() error { return e.err }

// unjoin lists the errors errors.Join put together.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// placeText is "path (line N)", or the path alone when the line is
// unknown.
func placeText(path string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s (line %d)", path, line)
	}
	return path
}

// joinPath joins field path parts with dots.
func joinPath(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 && p[0] != '[' {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// pods makes one workload per container of src.
func (r *k8sReader) pods(src podSource, path string, doc int, idx yamlLines) error {
	spec := &src.template.Spec
	p := podReader{src: src, spec: spec, idx: idx, volumes: map[string]*corev1.Volume{},
		meta: joinPath(path, src.at, "metadata"), at: joinPath(path, src.at, "spec")}
	for i := range spec.Volumes {
		if _, dup := p.volumes[spec.Volumes[i].Name]; !dup {
			p.volumes[spec.Volumes[i].Name] = &spec.Volumes[i]
		}
	}
	if len(spec.Containers) == 0 {
		// Kubernetes refuses a pod without containers; reading nothing
		// would pass it silently.
		return fmt.Errorf("%s %s: %s: no containers", src.kind, src.name(), placeText(p.at+".containers", idx.line(p.at+".containers")))
	}
	type ctr struct {
		word, field string
		c           *corev1.Container
	}
	var all []ctr
	for i := range spec.InitContainers {
		all = append(all, ctr{"initContainer", fmt.Sprintf("initContainers[%d]", i), &spec.InitContainers[i]})
	}
	for i := range spec.Containers {
		all = append(all, ctr{"container", fmt.Sprintf("containers[%d]", i), &spec.Containers[i]})
	}
	for i := range spec.EphemeralContainers {
		// An ephemeral container has a container's fields (some of
		// which the API refuses for it, such as ports and probes).
		c := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		all = append(all, ctr{"ephemeralContainer", fmt.Sprintf("ephemeralContainers[%d]", i), &c})
	}
	for _, c := range all {
		w := p.workload(c.word, joinPath(p.at, c.field), c.c)
		w.Source.File, w.Source.Document = r.file, doc
		r.out = append(r.out, w)
		for i, vm := range c.c.VolumeMounts {
			v := p.volumes[vm.Name]
			switch {
			case v == nil:
			case v.PersistentVolumeClaim != nil:
				r.claimed = append(r.claimed, pendingClaim{workload: len(r.out) - 1, mount: i, subPath: vm.SubPath,
					claim: src.meta.Namespace + "/" + v.PersistentVolumeClaim.ClaimName})
			case v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil:
				if pv := v.Ephemeral.VolumeClaimTemplate.Spec.VolumeName; pv != "" {
					r.claimed = append(r.claimed, pendingClaim{workload: len(r.out) - 1, mount: i, subPath: vm.SubPath, volume: pv})
				}
			}
		}
		if spec.AutomountServiceAccountToken == nil {
			// The pod leaves the token to its ServiceAccount ("default"
			// when it names none).
			r.pending = append(r.pending, pendingToken{workload: len(r.out) - 1,
				account: src.meta.Namespace + "/" + cmp.Or(spec.ServiceAccountName, spec.DeprecatedServiceAccount, "default")})
		}
	}
	return nil
}

// podReader converts the containers of one pod spec.
type podReader struct {
	src  podSource
	spec *corev1.PodSpec
	idx  yamlLines
	// volumes are the pod's volumes by name (the first of a name), for
	// its mounts: a lookup per mount in the list was quadratic.
	volumes map[string]*corev1.Volume
	// meta and at are the paths of the pod's metadata and spec.
	meta, at string
}

// workload converts container c (a "container", "initContainer" or
// "ephemeralContainer" at path).
func (p podReader) workload(word, path string, c *corev1.Container) Workload {
	w := Workload{
		Name:  fmt.Sprintf("%s %s %s %s", p.src.kind, p.src.name(), word, c.Name),
		Stage: StageFile,
		Image: c.Image,
		Source: Source{Kind: p.src.kind, Path: path, Line: p.idx.line(path),
			Fields: map[string]Place{},
			// A pod has no field for its PIDs limit.
			Outside: map[string]string{SetPidsLimit: "a pod's PIDs limit is the kubelet's (podPidsLimit), not the manifest's"}},
	}
	set := func(setting, path string) {
		w.Source.Fields[setting] = Place{Path: path, Line: p.idx.line(path)}
	}
	if c.Image != "" {
		set(SetImage, path+".image")
	}
	p.security(&w, path, c, set)
	p.namespaces(&w, set)
	p.mounts(&w, path, c, set)
	p.ports(&w, path, c, set)
	p.resources(&w, path, c, set)
	p.restart(&w, word, path, c, set)
	pullPolicy(&w, path, c, set)
	for i, ha := range p.spec.HostAliases {
		for _, h := range ha.Hostnames {
			set(fmt.Sprintf("%s[%d]", SetExtraHosts, len(w.ExtraHosts)), fmt.Sprintf("%s.hostAliases[%d]", p.at, i))
			w.ExtraHosts = append(w.ExtraHosts, h+":"+ha.IP)
		}
	}
	if len(p.spec.HostAliases) > 0 {
		set(SetExtraHosts, p.at+".hostAliases")
	}

	// Kubernetes runs no image HEALTHCHECK: a container has a health
	// check when it has a liveness or readiness probe. Only the
	// containers of long-running pods are asked: Kubernetes refuses
	// probes on init and ephemeral containers, and a Job's container is
	// done when it exits.
	if word == "container" && p.src.kind != "Job" && p.src.kind != "CronJob" {
		hc := c.LivenessProbe != nil || c.ReadinessProbe != nil
		w.Healthcheck = &hc
	}
	switch {
	case c.LivenessProbe != nil:
		set(SetHealthcheck, path+".livenessProbe")
	case c.ReadinessProbe != nil:
		set(SetHealthcheck, path+".readinessProbe")
	}
	if word == "container" && p.src.kind != "Job" && p.src.kind != "CronJob" {
		ready := c.ReadinessProbe != nil
		w.Readiness = &ready
		if ready {
			set(SetReadiness, path+".readinessProbe")
		}
	}

	// automountServiceAccountToken: the pod's, else its ServiceAccount's
	// (applyAccounts), else true, Kubernetes' default.
	token := true
	if a := p.spec.AutomountServiceAccountToken; a != nil {
		token = *a
		set(SetServiceAccountToken, p.at+".automountServiceAccountToken")
	}
	w.ServiceAccountToken = &token
	return w
}

// security applies the pod's and the container's securityContext with
// the kubelet's precedence (pkg/securitycontext
// DetermineEffectiveSecurityContext): the container's runAsUser,
// runAsGroup, runAsNonRoot, seLinuxOptions, seccompProfile and
// appArmorProfile override the pod's; capabilities, privileged,
// allowPrivilegeEscalation, readOnlyRootFilesystem and procMount exist
// only on the container.
func (p podReader) security(w *Workload, path string, c *corev1.Container, set func(string, string)) {
	psc := p.spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &corev1.SecurityContext{}
	}
	podAt, ctrAt := p.at+".securityContext", path+".securityContext"

	// User is "UID:GID", "UID", or ":GID" when only the group is set
	// (the image's user with that primary group).
	uid, uidAt := pick(csc.RunAsUser, ctrAt, psc.RunAsUser, podAt)
	gid, gidAt := pick(csc.RunAsGroup, ctrAt, psc.RunAsGroup, podAt)
	if uid != nil {
		w.User = strconv.FormatInt(*uid, 10)
		set(SetUser, uidAt+".runAsUser")
	}
	if gid != nil {
		w.User += ":" + strconv.FormatInt(*gid, 10)
		if uid == nil {
			set(SetUser, gidAt+".runAsGroup")
		}
	}
	if nr, at := pick(csc.RunAsNonRoot, ctrAt, psc.RunAsNonRoot, podAt); nr != nil {
		v := *nr
		w.RunAsNonRoot = &v
		set(SetRunAsNonRoot, at+".runAsNonRoot")
	}
	// The kubelet adds fsGroup to the supplementary groups.
	if psc.FSGroup != nil {
		w.Groups = append(w.Groups, strconv.FormatInt(*psc.FSGroup, 10))
		set(SetGroups, podAt+".fsGroup")
	}
	for _, g := range psc.SupplementalGroups {
		w.Groups = append(w.Groups, strconv.FormatInt(g, 10))
	}
	if len(psc.SupplementalGroups) > 0 {
		set(SetGroups, podAt+".supplementalGroups")
	}
	for i, sc := range psc.Sysctls {
		if w.Sysctls == nil {
			w.Sysctls = map[string]string{}
		}
		w.Sysctls[sc.Name] = sc.Value
		set(fmt.Sprintf("%s[%d]", SetSysctls, i), fmt.Sprintf("%s.sysctls[%d]", podAt, i))
	}
	if len(psc.Sysctls) > 0 {
		set(SetSysctls, podAt+".sysctls")
	}
	if se, at := pick(csc.SELinuxOptions, ctrAt, psc.SELinuxOptions, podAt); se != nil {
		set(SetSELinux, at+".seLinuxOptions")
		// spc_t is the "super privileged container" type: no SELinux
		// separation.
		w.SELinuxDisabled = se.Type == "spc_t"
		w.SELinuxLabel = SELinuxLabel{User: se.User, Role: se.Role, Type: se.Type, Level: se.Level}
	}

	if caps := csc.Capabilities; caps != nil {
		for i, cp := range caps.Add {
			w.CapAdd = append(w.CapAdd, capName(string(cp)))
			set(fmt.Sprintf("%s[%d]", SetCapAdd, i), fmt.Sprintf("%s.capabilities.add[%d]", ctrAt, i))
		}
		for i, cp := range caps.Drop {
			w.CapDrop = append(w.CapDrop, capName(string(cp)))
			set(fmt.Sprintf("%s[%d]", SetCapDrop, i), fmt.Sprintf("%s.capabilities.drop[%d]", ctrAt, i))
		}
		if len(caps.Add) > 0 {
			set(SetCapAdd, ctrAt+".capabilities.add")
		}
		if len(caps.Drop) > 0 {
			set(SetCapDrop, ctrAt+".capabilities.drop")
		}
	}
	if csc.Privileged != nil {
		w.Privileged = *csc.Privileged
		set(SetPrivileged, ctrAt+".privileged")
	}
	// A Windows HostProcess container is a process of the node itself,
	// outside any container boundary: privileged and more. The pod's
	// value applies unless the container sets its own.
	hostProcess := func(wo *corev1.WindowsSecurityContextOptions) *bool {
		if wo == nil {
			return nil
		}
		return wo.HostProcess
	}
	if hp, at := pick(hostProcess(csc.WindowsOptions), ctrAt, hostProcess(psc.WindowsOptions), podAt); hp != nil && *hp {
		w.Privileged = true
		set(SetPrivileged, at+".windowsOptions.hostProcess")
	}
	if csc.ReadOnlyRootFilesystem != nil {
		w.ReadOnlyRootfs = *csc.ReadOnlyRootFilesystem
		set(SetReadOnlyRootfs, ctrAt+".readOnlyRootFilesystem")
	}
	if csc.ProcMount != nil && *csc.ProcMount == corev1.UnmaskedProcMount {
		w.SystemPathsUnconfined = true
		set(SetSystemPaths, ctrAt+".procMount")
	}

	// allowPrivilegeEscalation: Kubernetes' default is true (no_new_privs
	// off); false sets no_new_privs, except that it "is true always when
	// the container is run as Privileged or has CAP_SYS_ADMIN" (the
	// field's API doc; the API server refuses false with either).
	nnp := false
	if ape := csc.AllowPrivilegeEscalation; ape != nil {
		nnp = !*ape
		set(SetNoNewPrivileges, ctrAt+".allowPrivilegeEscalation")
	}
	if nnp && w.Privileged {
		nnp = false
		set(SetNoNewPrivileges, ctrAt+".privileged")
	}
	if i := slices.IndexFunc(w.CapAdd, grantsSysAdmin); nnp && i >= 0 {
		nnp = false
		set(SetNoNewPrivileges, fmt.Sprintf("%s.capabilities.add[%d]", ctrAt, i))
	}
	w.NoNewPrivileges = &nnp

	seccomp(w, csc, psc, ctrAt, podAt, set)
	p.apparmor(w, c.Name, csc, psc, ctrAt, podAt, set)
}

// pick returns the container's value if set, else the pod's, with the
// path it came from.
func pick[T any](ctr *T, ctrAt string, pod *T, podAt string) (*T, string) {
	if ctr != nil {
		return ctr, ctrAt
	}
	return pod, podAt
}

// annotation returns the pod annotation key and its path.
func (p podReader) annotation(key string) (string, string, bool) {
	v, ok := p.src.template.Annotations[key]
	return v, fmt.Sprintf("%s.annotations[%q]", p.meta, key), ok
}

// seccomp sets the seccomp profile as the kubelet picks it
// (getSeccompProfile): the container's field, else the pod's, else
// Unconfined (RuntimeDefault only with the kubelet's seccompDefault,
// which is off by default). The legacy seccomp annotations do nothing
// since Kubernetes 1.27: the API server no longer copies them into the
// fields ("non-functional in v1.27+", its warning says) and the kubelet
// never reads them.
func seccomp(w *Workload, csc *corev1.SecurityContext, psc *corev1.PodSecurityContext, ctrAt, podAt string, set func(string, string)) {
	from := func(sp *corev1.SeccompProfile, at string) bool {
		if sp == nil {
			return false
		}
		switch sp.Type {
		case corev1.SeccompProfileTypeUnconfined:
			w.Seccomp = "unconfined"
		case corev1.SeccompProfileTypeLocalhost:
			w.Seccomp = cmp.Or(ptrValue(sp.LocalhostProfile), "localhost")
		default: // RuntimeDefault: the engine's default profile
			w.Seccomp = ""
		}
		set(SetSeccomp, at+".seccompProfile")
		return true
	}
	if from(csc.SeccompProfile, ctrAt) || from(psc.SeccompProfile, podAt) {
		return
	}
	w.Seccomp = "unconfined" // Kubernetes' default, see above
}

// apparmor sets the AppArmor profile as the kubelet picks it
// (pkg/security/apparmor GetProfile): the container's field, else the
// container's legacy annotation, else the pod's field; with none the
// runtime applies its default profile.
func (p podReader) apparmor(w *Workload, name string, csc *corev1.SecurityContext, psc *corev1.PodSecurityContext, ctrAt, podAt string, set func(string, string)) {
	from := func(ap *corev1.AppArmorProfile, at string) bool {
		if ap == nil {
			return false
		}
		switch ap.Type {
		case corev1.AppArmorProfileTypeUnconfined:
			w.AppArmor = "unconfined"
		case corev1.AppArmorProfileTypeLocalhost:
			w.AppArmor = ptrValue(ap.LocalhostProfile)
		default:
			w.AppArmor = ""
		}
		set(SetAppArmor, at+".appArmorProfile")
		return true
	}
	if from(csc.AppArmorProfile, ctrAt) {
		return
	}
	if v, at, ok := p.annotation(corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + name); ok {
		switch {
		case v == corev1.DeprecatedAppArmorBetaProfileNameUnconfined:
			w.AppArmor = "unconfined"
		case strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix):
			w.AppArmor = strings.TrimPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix)
		default: // runtime/default
			w.AppArmor = ""
		}
		set(SetAppArmor, at)
		return
	}
	from(psc.AppArmorProfile, podAt)
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// namespaces sets the host namespaces the pod shares.
func (p podReader) namespaces(w *Workload, set func(string, string)) {
	if p.spec.HostNetwork {
		w.Namespaces.Network = "host"
		set(SetNetwork, p.at+".hostNetwork")
		// The runtime (CRI) gives a host-network pod the host's UTS
		// namespace too: its hostname is the node's.
		w.Namespaces.UTS = "host"
		set(SetUTS, p.at+".hostNetwork")
	}
	if p.spec.HostPID {
		w.Namespaces.PID = "host"
		set(SetPID, p.at+".hostPID")
	}
	if p.spec.HostIPC {
		w.Namespaces.IPC = "host"
		set(SetIPC, p.at+".hostIPC")
	}
	// hostUsers: false gives the pod a user namespace of its own; unset
	// or true is the host's, Kubernetes' default, which the model writes
	// "" as Docker's default is.
	if h := p.spec.HostUsers; h != nil {
		if !*h {
			w.Namespaces.User = "private"
		}
		set(SetUserNS, p.at+".hostUsers")
	}
}

// mounts converts the container's volumeMounts through the pod's
// volumes: a hostPath is a bind of the host path, an emptyDir in memory
// a tmpfs, any other volume a volume by its name.
func (p podReader) mounts(w *Workload, path string, c *corev1.Container, set func(string, string)) {
	for i, vm := range c.VolumeMounts {
		m := Mount{Type: "volume", Source: vm.Name, Destination: vm.MountPath, ReadOnly: vm.ReadOnly}
		if v := p.volumes[vm.Name]; v != nil {
			m.Driver = volumeKind(v.VolumeSource)
			switch {
			case v.HostPath != nil:
				m.Type, m.Source = "bind", v.HostPath.Path
				if vm.SubPath != "" {
					m.Source = strings.TrimSuffix(m.Source, "/") + "/" + vm.SubPath
				}
			case v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory:
				m.Type, m.Source = "tmpfs", ""
			case v.Secret != nil || v.ConfigMap != nil || v.DownwardAPI != nil || v.Projected != nil:
				// The kubelet mounts these read-only whatever readOnly says.
				m.ReadOnly = true
			}
		}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case corev1.MountPropagationBidirectional:
				m.Propagation = "rshared"
			case corev1.MountPropagationHostToContainer:
				m.Propagation = "rslave"
			}
		}
		w.Mounts = append(w.Mounts, m)
		set(fmt.Sprintf("%s[%d]", SetMounts, i), fmt.Sprintf("%s.volumeMounts[%d]", path, i))
	}
	if len(c.VolumeMounts) > 0 {
		set(SetMounts, path+".volumeMounts")
	}
}

// volumeKind is the name of the field that gives a volume (a
// corev1.VolumeSource or PersistentVolumeSource) its source ("hostPath",
// "nfs", "configMap"...), as the API writes it; "" when none is set.
func volumeKind(v any) string {
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if f := rv.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return ""
}

// ports lists the ports the container listens on (ContainerPorts) and
// those published on the node: those with a hostPort, and on a
// host-network pod every port (the API server defaults hostPort to
// containerPort there).
func (p podReader) ports(w *Workload, path string, c *corev1.Container, set func(string, string)) {
	for i, cp := range c.Ports {
		// TCP is Kubernetes' default protocol.
		proto := strings.ToLower(cmp.Or(string(cp.Protocol), string(corev1.ProtocolTCP)))
		w.ContainerPorts = append(w.ContainerPorts, Port{ContainerPort: strconv.Itoa(int(cp.ContainerPort)), Protocol: proto})
		set(fmt.Sprintf("%s[%d]", SetContainerPorts, i), fmt.Sprintf("%s.ports[%d].containerPort", path, i))
		host := cp.HostPort
		if host == 0 && p.spec.HostNetwork {
			host = cp.ContainerPort
		}
		if host == 0 {
			continue
		}
		at := fmt.Sprintf("%s.ports[%d]", path, i)
		set(fmt.Sprintf("%s[%d]", SetPorts, len(w.Ports)), at)
		w.Ports = append(w.Ports, Port{HostIP: cp.HostIP, HostPort: strconv.Itoa(int(host)),
			ContainerPort: strconv.Itoa(int(cp.ContainerPort)), Protocol: proto})
		if len(w.Ports) == 1 {
			set(SetPorts, at)
		}
	}
	if len(c.Ports) > 0 {
		set(SetContainerPorts, path+".ports")
	}
}

// pullPolicy sets when the image is pulled: imagePullPolicy as written,
// else the API server's default (Always for an image without a tag or
// with :latest and no digest, IfNotPresent otherwise).
func pullPolicy(w *Workload, path string, c *corev1.Container, set func(string, string)) {
	if c.ImagePullPolicy != "" {
		w.PullPolicy = string(c.ImagePullPolicy)
		set(SetPullPolicy, path+".imagePullPolicy")
		return
	}
	if tag, digest := imageParts(c.Image); digest == "" && (tag == "" || tag == "latest") {
		w.PullPolicy = string(corev1.PullAlways)
		return
	}
	w.PullPolicy = string(corev1.PullIfNotPresent)
}

// resources sets the memory, CPU and ephemeral-storage limits and
// requests. A request left out defaults to the limit (API server
// defaulting), and only a request as written is placed in Source.Fields
// (a rule that wants requests written tells the two apart); a container
// without a limit of its own runs under the pod-level one
// (spec.resources) when the pod has it.
func (p podReader) resources(w *Workload, path string, c *corev1.Container, set func(string, string)) {
	type res struct {
		list corev1.ResourceList
		at   string
		// request is set for a requests list.
		request bool
	}
	var limits, requests []res
	limits = append(limits, res{c.Resources.Limits, path + ".resources.limits", false})
	requests = append(requests, res{c.Resources.Requests, path + ".resources.requests", true}, res{c.Resources.Limits, path + ".resources.limits", false})
	if pr := p.spec.Resources; pr != nil {
		limits = append(limits, res{pr.Limits, p.at + ".resources.limits", false})
		requests = append(requests, res{pr.Requests, p.at + ".resources.requests", true}, res{pr.Limits, p.at + ".resources.limits", false})
	}
	get := func(from []res, name corev1.ResourceName, setting string) (resource.Quantity, bool) {
		for _, r := range from {
			if q, ok := r.list[name]; ok {
				// A limit standing in for a request is not a request
				// written: it is not placed.
				if r.request == from[0].request {
					set(setting, r.at+"."+string(name))
				}
				return q, true
			}
		}
		return resource.Quantity{}, false
	}
	if q, ok := get(limits, corev1.ResourceMemory, SetMemory); ok {
		w.Resources.Memory = quantityValue(q, 0)
	}
	if q, ok := get(limits, corev1.ResourceCPU, SetCPU); ok {
		w.Resources.NanoCPUs = quantityValue(q, resource.Nano)
	}
	if q, ok := get(limits, corev1.ResourceEphemeralStorage, SetEphemeralStorage); ok {
		w.Resources.EphemeralStorage = quantityValue(q, 0)
	}
	if q, ok := get(requests, corev1.ResourceMemory, SetMemoryRequest); ok {
		w.Resources.MemoryRequest = quantityValue(q, 0)
	}
	if q, ok := get(requests, corev1.ResourceCPU, SetCPURequest); ok {
		w.Resources.CPURequest = quantityValue(q, resource.Nano)
	}
	if q, ok := get(requests, corev1.ResourceEphemeralStorage, SetEphemeralStorageRequest); ok {
		w.Resources.EphemeralStorageRequest = quantityValue(q, 0)
	}
}

// restart maps the restart policy: the pod's (default Always; the
// controllers of long-running pods allow nothing else), a container's
// own where it has one (a sidecar init container's Always), init
// containers retried until they succeed unless the pod is Never, a
// Job's retries bounded by backoffLimit (default 6), ephemeral
// containers never restarted.
func (p podReader) restart(w *Workload, word, path string, c *corev1.Container, set func(string, string)) {
	policy := cmp.Or(p.spec.RestartPolicy, corev1.RestartPolicyAlways)
	if p.spec.RestartPolicy != "" {
		set(SetRestart, p.at+".restartPolicy")
	}
	if p.src.controller {
		policy = corev1.RestartPolicyAlways
		if word == "container" {
			w.Source.Outside[SetRestart] = fmt.Sprintf("a %s's pods always restart (the API refuses another policy; the kubelet backs off a crashing container)", p.src.kind)
		}
	}
	switch {
	case word == "ephemeralContainer":
		policy = corev1.RestartPolicyNever
	case c.RestartPolicy != nil:
		policy = corev1.RestartPolicy(*c.RestartPolicy)
		set(SetRestart, path+".restartPolicy")
	case word == "initContainer" && policy != corev1.RestartPolicyNever:
		policy = corev1.RestartPolicyOnFailure
	}
	switch policy {
	case corev1.RestartPolicyAlways:
		w.Restart.Policy = "always"
	case corev1.RestartPolicyOnFailure:
		w.Restart.Policy = "on-failure"
		if p.src.kind == "Job" || p.src.kind == "CronJob" {
			// backoffLimit: 6 is Kubernetes' default, 0 no retry at all.
			limit := int32(6)
			if p.src.backoffLimit != nil {
				limit = *p.src.backoffLimit
				set(SetRestart, strings.TrimSuffix(p.at, ".template.spec")+".backoffLimit")
			}
			if limit <= 0 {
				w.Restart.Policy = "no"
			}
			w.Restart.MaxRetries = int(max(limit, 0))
		}
	default:
		w.Restart.Policy = "no"
	}
}

// checkNodes refuses a document that writes a key twice in one mapping
// (the API server's strict decoding refuses it too, and which one wins
// differs between decoders) or whose aliases would expand it by more
// than its own size plus maxAliasGrowth nodes ("billion laughs"): the
// YAML-to-JSON conversion would build every copy. offset turns the
// document's lines into the stream's.
func checkNodes(root *yaml.Node, offset int) error {
	nodes, aliases := 0, false
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		nodes++
		aliases = aliases || n.Kind == yaml.AliasNode
		if n.Kind == yaml.MappingNode {
			seen := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
					continue
				}
				if seen[k.Value] {
					return fmt.Errorf("line %d: key %q written twice in one mapping", k.Line+offset, k.Value)
				}
				seen[k.Value] = true
			}
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil || !aliases {
		return err
	}
	limit := 2*nodes + maxAliasGrowth
	memo := map[*yaml.Node]int{}
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if v, ok := memo[n]; ok {
			return v
		}
		if depth > 10000 {
			return limit + 1 // an alias cycle or nesting no decoder takes
		}
		s := 1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			s += size(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if s > limit {
				break
			}
			s += size(c, depth+1)
		}
		s = min(s, limit+1)
		memo[n] = s
		return s
	}
	if size(root, 0) > limit {
		return errors.New("its YAML aliases expand it too far (a billion laughs document?)")
	}
	return nil
}

// yamlLine finds "line N" in yaml.v3's messages, which count from the
// document's first line.
var yamlLine = regexp.MustCompile(`\bline (\d+)\b`)

// streamLines rewrites the line numbers of yaml.v3 error err as lines
// of the stream.
func streamLines(err error, offset int) error {
	msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
		return "line " + strconv.Itoa(n+offset)
	})
	return fmt.Errorf("not YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// yamlLines finds the line of a field path in a document.
type yamlLines struct {
	root *yaml.Node
	// offset is the stream's line before the document's first.
	offset int
}

// line returns the line of path ("spec.containers[0].image",
// `metadata.annotations["a.b/c"]`): its key's line in a mapping, its
// item's in a list; 0 when the document does not have it.
func (x yamlLines) line(path string) int {
	if x.root == nil {
		return 0
	}
	n, line := x.root, 0
	for rest := path; rest != ""; {
		key, index := "", -1
		switch {
		case strings.HasPrefix(rest, `["`):
			end := strings.Index(rest, `"]`)
			if end < 0 {
				return 0
			}
			k, err := strconv.Unquote(rest[1 : end+1])
			if err != nil {
				return 0
			}
			key, rest = k, rest[end+2:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			i, err := strconv.Atoi(rest[1:max(end, 1)])
			if end < 0 || err != nil {
				return 0
			}
			index, rest = i, rest[end+1:]
		default:
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			key, rest = rest[:end], rest[end:]
		}
		rest = strings.TrimPrefix(rest, ".")
		if n, line = child(n, key, index); n == nil {
			return 0
		}
	}
	if line == 0 {
		return 0
	}
	return line + x.offset
}

// child returns the value of key (or item index) under n and its line,
// through documents, aliases and merge keys (mappingEntry, which the
// Compose converter finds its keys with).
func child(n *yaml.Node, key string, index int) (*yaml.Node, int) {
	if n = deref(n); n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, 0
		}
		n = deref(n.Content[0])
	}
	if n == nil {
		return nil, 0
	}
	if index >= 0 {
		if n.Kind != yaml.SequenceNode || index >= len(n.Content) {
			return nil, 0
		}
		return n.Content[index], n.Content[index].Line
	}
	k, v := mappingEntry(n, key)
	if v == nil {
		return nil, 0
	}
	return v, k.Line
}
