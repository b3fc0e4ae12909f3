package inventory

import (
	"sort"
	"strings"
)

// purl builds a package URL: pkg:type/namespace/name@version?qualifiers.
// Every part is percent-encoded except the unreserved characters, which
// the spec always allows; qualifiers are sorted by key and empty ones
// dropped.
func purl(typ, namespace, name, version string, qualifiers map[string]string) string {
	var b strings.Builder
	b.WriteString("pkg:")
	b.WriteString(typ)
	b.WriteByte('/')
	if namespace != "" {
		for _, seg := range strings.Split(namespace, "/") {
			if seg != "" {
				b.WriteString(escape(seg))
				b.WriteByte('/')
			}
		}
	}
	b.WriteString(escape(name))
	if version != "" {
		b.WriteByte('@')
		b.WriteString(escape(version))
	}
	keys := make([]string, 0, len(qualifiers))
	for k, v := range qualifiers {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(escape(qualifiers[k]))
	}
	return b.String()
}

// MavenPURL is the package URL of Maven package "groupId:artifactId" at
// a version.
func MavenPURL(name, version string) string {
	group, artifact, _ := strings.Cut(name, ":")
	return purl("maven", group, artifact, version, nil)
}

func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
