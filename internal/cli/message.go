package cli

import (
	"regexp"
	"strings"
)

// jsonTypeError is encoding/json's UnmarshalTypeError as it reads once
// wrapped into a message: "json: cannot unmarshal string into Go struct
// field IndexManifest.manifests of type []v1.Descriptor".
var jsonTypeError = regexp.MustCompile(`json: cannot unmarshal (\w+)(?: [^ ]+)? into Go (?:struct field (\S*) of type|value of type) (\S+)`)

// Message is what hull prints for err: its text, with the Go type names
// that library errors carry worded plainly ("json: a string where a list
// is expected (at manifests)"), so that no message shows Go syntax.
func Message(err error) string {
	return jsonTypeError.ReplaceAllStringFunc(err.Error(), func(m string) string {
		s := jsonTypeError.FindStringSubmatch(m)
		out := "json: " + jsonKinds[s[1]] + " where " + goKind(s[3]) + " is expected"
		if jsonKinds[s[1]] == "" {
			out = "json: a " + s[1] + " where " + goKind(s[3]) + " is expected"
		}
		if field := s[2]; field != "" {
			if i := strings.IndexByte(field, '.'); i >= 0 {
				field = field[i+1:]
			}
			if field != "" {
				out += " (at " + field + ")"
			}
		}
		return out
	})
}

var jsonKinds = map[string]string{"string": "a string", "number": "a number", "array": "a list", "object": "an object", "bool": "true or false", "null": "null"}

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
