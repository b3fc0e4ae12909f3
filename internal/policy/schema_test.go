package policy

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("policy.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("policy.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func yamlToJSON(t *testing.T, doc string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const fullPolicy = `apiVersion: hull.dev/v1
lint:
  failOn: medium
  ignore:
    - id: no-healthcheck
      reason: probed by the orchestrator
scan:
  failOn: critical
  ignore:
    - id: CVE-2021-23337
      reason: the template function is not used
workload:
  failOn: medium
  ignore:
    - id: container-healthcheck
      reason: probes are added by the chart
  exceptions:
    - rule: container-privileged
      workloads: ["DaemonSet kube-system/node-agent*"]
      reason: the agent loads eBPF programs
    - rule: container-host-network
      files: ["deploy/ingress/*"]
      workloads: ["*ingress*"]
      reason: the ingress controller binds the node's ports
trust:
  default: reject
  lookaside:
    - scope: registry.example.com
      path: /srv/sigstore
    - scope: other.example.com:5000/team
      url: https://sigs.example.com
  rules:
    - scope: registry.example.com/team
      require: any
      signers:
        - name: release
          gpg:
            keyring: release.pub
            fingerprints: [0123456789ABCDEF0123456789ABCDEF01234567]
        - name: ci
          cosign:
            key: ci.pub
        - name: notary
          notation:
            trustStore: [root.crt]
            identities: ["x509.subject: C=US, O=Acme, CN=release"]
            tsaStore: [tsa-root.crt]
            verifyTimestamp: afterCertExpiry
        - name: workflow
          keyless:
            trustedRoot: trusted_root.json
            issuer: https://token.actions.githubusercontent.com
            subjectRegExp: ^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v
    - scope: registry.example.com/team/legacy
      reject: true
    - scope: docker.io/library
      insecureAcceptAnything: true
`

// TestSchemaAgreesWithLoad: what Load accepts the schema accepts, and
// the schema rejects what Load rejects for the same reason.
func TestSchemaAgreesWithLoad(t *testing.T) {
	s := compileSchema(t)
	if _, err := Load(strings.NewReader(fullPolicy)); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := s.Validate(yamlToJSON(t, fullPolicy)); err != nil {
		t.Fatalf("schema rejects a valid policy: %v", err)
	}
	// Every severity --fail-on takes is a failOn both agree on.
	for _, sev := range []string{"unknown", "info", "low", "medium", "high", "critical"} {
		for _, section := range []string{"lint", "scan", "workload"} {
			doc := "apiVersion: hull.dev/v1\n" + section + ":\n  failOn: " + sev + "\n"
			_, lerr := Load(strings.NewReader(doc))
			if serr := s.Validate(yamlToJSON(t, doc)); (lerr == nil) != (serr == nil) {
				t.Errorf("%s.failOn %s: Load says %v, the schema %v", section, sev, lerr, serr)
			}
		}
	}
	for name, doc := range map[string]string{
		"unknown field":                "apiVersion: hull.dev/v1\nlint:\n  ignroe: []\n",
		"bad severity":                 "apiVersion: hull.dev/v1\nlint:\n  failOn: severe\n",
		"no reason":                    "apiVersion: hull.dev/v1\nlint:\n  ignore:\n    - id: root-user\n",
		"two rule kinds":               "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n      reject: true\n      insecureAcceptAnything: true\n",
		"no rule kind":                 "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n",
		"two signer kinds":             "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n      signers:\n        - name: x\n          cosign: {key: k}\n          gpg: {keyring: k, fingerprints: [0123456789ABCDEF0123456789ABCDEF01234567]}\n",
		"short fingerprint":            "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n      signers:\n        - name: x\n          gpg: {keyring: k, fingerprints: [ABCD]}\n",
		"lookaside glob":               "apiVersion: hull.dev/v1\ntrust:\n  lookaside:\n    - scope: r.example/*\n      path: /x\n",
		"path glob":                    "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/team/*\n      reject: true\n",
		"bare star":                    "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: \"*\"\n      reject: true\n",
		"upper-case host":              "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: R.example/a\n      reject: true\n",
		"tag in scope":                 "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a:1\n      reject: true\n",
		"digest in scope":              "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a@sha256:0123\n      reject: true\n",
		"wildcard with a path":         "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: \"*.example.com/team\"\n      reject: true\n",
		"no registry host":             "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: busybox\n      reject: true\n",
		"lookaside no store":           "apiVersion: hull.dev/v1\ntrust:\n  lookaside:\n    - scope: r.example\n",
		"bad default":                  "apiVersion: hull.dev/v1\ntrust:\n  default: accept\n",
		"keyless no subject":           "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n      signers:\n        - name: x\n          keyless: {trustedRoot: t.json, issuer: i}\n",
		"keyless two issuers":          "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n      signers:\n        - name: x\n          keyless: {trustedRoot: t.json, issuer: i, issuerRegExp: i, subject: s}\n",
		"keyless no root":              "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n      signers:\n        - name: x\n          keyless: {issuer: i, subject: s}\n",
		"wrong version":                "apiVersion: hull.dev/v2\n",
		"workload unknown key":         "apiVersion: hull.dev/v1\nworkload:\n  exceptoins: []\n",
		"workload ignore no reason":    "apiVersion: hull.dev/v1\nworkload:\n  ignore:\n    - id: container-privileged\n",
		"workload blank reason":        "apiVersion: hull.dev/v1\nworkload:\n  ignore:\n    - id: container-privileged\n      reason: \"  \"\n",
		"exception no reason":          "apiVersion: hull.dev/v1\nworkload:\n  exceptions:\n    - rule: container-privileged\n      workloads: [a]\n",
		"exception matches nothing":    "apiVersion: hull.dev/v1\nworkload:\n  exceptions:\n    - rule: container-privileged\n      reason: r\n",
		"exception empty lists":        "apiVersion: hull.dev/v1\nworkload:\n  exceptions:\n    - rule: container-privileged\n      workloads: []\n      files: []\n      reason: r\n",
		"exception blank pattern":      "apiVersion: hull.dev/v1\nworkload:\n  exceptions:\n    - rule: container-privileged\n      workloads: [\" \"]\n      reason: r\n",
		"exception no rule":            "apiVersion: hull.dev/v1\nworkload:\n  exceptions:\n    - workloads: [a]\n      reason: r\n",
		"exception unknown key":        "apiVersion: hull.dev/v1\nworkload:\n  exceptions:\n    - rule: container-privileged\n      workload: [a]\n      reason: r\n",
		"bad verifyTimestamp":          "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n      signers:\n        - name: x\n          notation: {trustStore: [r.crt], identities: [\"*\"], tsaStore: [t.crt], verifyTimestamp: never}\n",
		"verifyTimestamp, no tsaStore": "apiVersion: hull.dev/v1\ntrust:\n  rules:\n    - scope: r.example/a\n      signers:\n        - name: x\n          notation: {trustStore: [r.crt], identities: [\"*\"], verifyTimestamp: always}\n",
	} {
		if _, err := Load(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: Load accepted it", name)
		}
		if err := s.Validate(yamlToJSON(t, doc)); err == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}

// TestSchemaCoversEveryField guards against drift: every YAML field of
// the policy types is a property in the schema.
func TestSchemaCoversEveryField(t *testing.T) {
	var walk func(reflect.Type)
	seen := map[reflect.Type]bool{}
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || seen[rt] {
			return
		}
		seen[rt] = true
		for i := range rt.NumField() {
			f := rt.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag != "" && !bytes.Contains(Schema, []byte(`"`+tag+`": {`)) {
				t.Errorf("%s.%s (yaml %q) is not in schema.json", rt.Name(), f.Name, tag)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Policy{}))
	if len(seen) < 8 {
		t.Fatalf("walked only %d types", len(seen))
	}
}
