package policy

import (
	"errors"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

var (
	yamlUnknownField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(line \d+: )?field (\S+) not found in type \S+$`) })
	yamlWrongType    = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile("^(line \\d+: )?cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
	})
)

// yamlTags names YAML's node tags, and goKinds the Go types the policy
// decodes into, in plain words.
var yamlTags = map[string]string{"!!str": "a string", "!!int": "a number", "!!float": "a number", "!!bool": "true or false",
	"!!map": "a mapping", "!!seq": "a list", "!!null": "nothing", "!!timestamp": "a date", "!!binary": "binary data"}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "a mapping"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	}
	return "a number"
}

// plainYAMLError words the decoder's errors without Go's type names
// ("field x not found in type policy.Lint", "into []policy.Ignore").
func plainYAMLError(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		switch {
		case yamlUnknownField().MatchString(m):
			s := yamlUnknownField().FindStringSubmatch(m)
			m = s[1] + "unknown field " + s[2]
		case yamlWrongType().MatchString(m):
			s := yamlWrongType().FindStringSubmatch(m)
			got := yamlTags[s[2]]
			if got == "" {
				got = s[2]
			}
			if s[3] != "" {
				got += " (" + s[3] + ")"
			}
			m = s[1] + got + " where " + goKind(s[4]) + " is expected"
		}
		msgs[i] = m
	}
	return strings.Join(msgs, "; ")
}
