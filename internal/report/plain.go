package report

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// jsonTypeError is encoding/json's UnmarshalTypeError as it reads inside
// a message: "json: cannot unmarshal string into Go struct field
// IndexManifest.manifests of type []v1.Descriptor".
var jsonTypeError = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`json: cannot unmarshal (\w+)(?: [^ ]+)? into Go (?:struct field (\S*) of type|value of type) (\S+)`)
})

var (
	registryDetail = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`; map\[([^\[\]]*)\]`) })
	httpURLError   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\b(Get|Head|Post|Put|Patch|Delete) "([a-z]+://[^"\s]+)":`)
	})
	headStatus = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`unexpected status code (\d{3}[^(]*?) \(HEAD responses have no body, use GET for details\)`)
	})
)

var jsonKinds = map[string]string{"string": "a string", "number": "a number", "array": "a list", "object": "an object", "bool": "true or false", "null": "null"}

// Plain words a message without the Go type names library errors carry
// ("json: a string where a list is expected (at manifests)"), so that no
// output of hull shows Go syntax.
func Plain(msg string) string {
	// go-containerregistry's registry errors: "MANIFEST_UNKNOWN: manifest
	// unknown; map[Tag:nope]" and a HEAD's "unexpected status code 404 Not
	// Found (HEAD responses have no body, use GET for details)".
	msg = registryDetail().ReplaceAllString(msg, " ($1)")
	msg = headStatus().ReplaceAllString(msg, "the registry answered $1")
	// net/http's `Get "https://r/v2/": ...`, as the rest say "GET https://r/v2/".
	msg = httpURLError().ReplaceAllStringFunc(msg, func(m string) string {
		s := httpURLError().FindStringSubmatch(m)
		return strings.ToUpper(s[1]) + " " + s[2] + ":"
	})
	return jsonTypeError().ReplaceAllStringFunc(msg, func(m string) string {
		s := jsonTypeError().FindStringSubmatch(m)
		got := jsonKinds[s[1]]
		if got == "" {
			got = "a " + s[1]
		}
		out := "json: " + got + " where " + goKind(s[3]) + " is expected"
		field := s[2]
		if i := strings.IndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		if field != "" {
			out += " (at " + field + ")"
		}
		return out
	})
}

// goKind names the JSON a Go type is decoded from.
func goKind(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "an object"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "another kind of value"
}

// plain returns r with every reason and evidence worded by Plain; r's
// own slices are left as they were.
func plain(r Report) Report {
	r.Findings = slices.Clone(r.Findings)
	for i := range r.Findings {
		r.Findings[i].Evidence = Plain(r.Findings[i].Evidence)
	}
	r.Checks = slices.Clone(r.Checks)
	for i := range r.Checks {
		r.Checks[i].Reason = Plain(r.Checks[i].Reason)
	}
	r.Notes = slices.Clone(r.Notes)
	for i := range r.Notes {
		r.Notes[i] = Plain(r.Notes[i])
	}
	r.Verdicts = slices.Clone(r.Verdicts)
	for i := range r.Verdicts {
		v := &r.Verdicts[i]
		v.Reason = Plain(v.Reason)
		v.Signatures = slices.Clone(v.Signatures)
		for j := range v.Signatures {
			v.Signatures[j].Reason = Plain(v.Signatures[j].Reason)
		}
	}
	return r
}

// Count says how many of noun there are, in plain English: "1 finding",
// "3 findings", "0 images".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
