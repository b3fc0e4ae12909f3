package secrets

import (
	"crypto/sha256"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Masked is a text with every credential in it masked, and what was
// masked. Callers print Text, never the text they masked.
type Masked struct {
	Text  string
	Found []Found
}

// Found is one credential masked out of a text.
type Found struct {
	// Kind is a rule ID (github-token, private-key...) or one of
	// url-password, authorization-header, command-password,
	// secret-assignment.
	Kind string
	// Name is the variable, flag or key the value was assigned to, or "".
	Name string
	// sum identifies the value without holding it.
	sum [sha256.Size]byte
}

// SameValue reports whether f and g masked the same value under the same
// name.
func (f Found) SameValue(g Found) bool { return f.Name == g.Name && f.sum == g.sum }

// Kinds of credential that no Scan rule names.
const (
	kindURLPassword = "url-password"
	kindAuthHeader  = "authorization-header"
	kindCmdPassword = "command-password"
	kindAssignment  = "secret-assignment"
)

// maskPatterns find credentials by where they stand rather than by their
// shape. In each, the submatch named "v" is the value to mask and "n",
// when present, the name it is assigned to.
type maskPattern struct {
	kind string
	re   *regexp.Regexp
}

// A shell word: quoted, or up to a blank or a shell operator.
const word = `(?:"[^"]*"|'[^']*'|[^\s;&|'"()]+)`

var maskPatterns = sync.OnceValue(func() []maskPattern {
	// Up to the end of one shell command: the flags of the command a
	// pattern names, not of the next one.
	const sameCmd = `[^;&|\n]*?`
	ps := []struct{ kind, expr string }{
		// scheme://user:password@host
		{kindURLPassword, `\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'"]*:(?P<v>[^/\s@'"]+)@`},
		// Authorization: Bearer TOKEN, and the API-key headers.
		{kindAuthHeader, `(?i)\b(?P<n>(?:proxy-)?authorization)\s*:\s*(?:(?:bearer|basic|token|digest|negotiate|bot)\s+)?(?P<v>[^\s"',;]+)`},
		{kindAuthHeader, `(?i)\b(?P<n>x-api-key|x-auth-token|private-token|job-token|x-vault-token|api-key)\s*:\s*(?P<v>[^\s"',;]+)`},
		// mysql -pPASSWORD (a separate -p makes mysql prompt instead).
		{kindCmdPassword, `\b(?:mysql|mysqladmin|mysqldump|mysqlimport|mysqlshow|mysqlcheck|mariadb|mariadb-dump|mariadb-admin)\b` + sameCmd + `\s-p['"]?(?P<v>[^\s;&|'"]+)`},
		// docker login -p PASSWORD, and the tools that copy it.
		{kindCmdPassword, `\b(?:docker|podman|buildah|skopeo|nerdctl|helm|oras|crane)\b` + sameCmd + `\blogin\b` + sameCmd + `\s-p(?:\s+|=)?(?P<v>` + word + `)`},
		{kindCmdPassword, `\bsshpass\b` + sameCmd + `\s-p\s*(?P<v>` + word + `)`},
		{kindCmdPassword, `\bredis-cli\b` + sameCmd + `\s-a\s+(?P<v>` + word + `)`},
		// curl -u user:password, wget --user=u --password=p (below).
		{kindCmdPassword, `\bcurl\b` + sameCmd + `\s(?:-u\s*|--user[=\s]\s*)['"]?[^:\s'"]*:(?P<v>[^\s;&|'"]+)`},
		// NAME=value, NAME: value, --name=value, --name value.
		{kindAssignment, `(?:^|[\s;&|'"(,{])(?:--?)?(?P<n>[A-Za-z_][A-Za-z0-9_.-]*)["']?(?:=|:[ \t]?)(?P<v>` + word + `)`},
		{kindAssignment, `(?:^|\s)--(?P<n>[A-Za-z][A-Za-z0-9_-]*)\s+(?P<v>[^\s\-;&|'"()][^\s;&|'"()]*|"[^"]*"|'[^']*')`},
		// ENV NAME value and ENV NAME=value: the value runs to the end of
		// the line.
		{kindAssignment, `(?m)\bENV\s+(?P<n>[A-Za-z_][A-Za-z0-9_.-]*)[=\s](?P<v>.+)$`},
	}
	out := make([]maskPattern, len(ps))
	for i, p := range ps {
		out[i] = maskPattern{p.kind, regexp.MustCompile(p.expr)}
	}
	return out
})

// span is one part of a text to mask.
type span struct {
	start, end int
	kind, name string
}

// Mask returns text with every credential in it masked: each Scan rule's
// values (all of them, not only the first), passwords in URLs, the value
// of Authorization and API-key headers, passwords on the command lines of
// mysql, docker login, sshpass, redis-cli and curl -u, the values
// assigned to secret-named variables, flags and keys (NAME=value,
// --password value, ENV NAME value), and the bodies of private keys.
// References to other variables ($VAR) are not values and stay.
func Mask(text string) Masked {
	var spans []span
	for _, h := range find([]byte(text), -1) {
		end := h.End
		if h.Rule.ID == "private-key" {
			end = privateKeyEnd(text, h.End)
		}
		spans = append(spans, span{h.Start, end, h.Rule.ID, ""})
	}
	for _, p := range maskPatterns() {
		vi, ni := p.re.SubexpIndex("v"), p.re.SubexpIndex("n")
		for _, m := range p.re.FindAllStringSubmatchIndex(text, -1) {
			start, end := m[2*vi], m[2*vi+1]
			name := ""
			if ni >= 0 && m[2*ni] >= 0 {
				name = text[m[2*ni]:m[2*ni+1]]
			}
			// An Authorization header's scheme is no secret; its
			// credentials are the header pattern's.
			if p.kind == kindAssignment && (!Name(name) || strings.HasSuffix(strings.ToLower(name), "authorization")) {
				continue
			}
			// Mask inside quotes, so the evidence still reads as the
			// command did.
			if end-start >= 2 && (text[start] == '"' || text[start] == '\'') && text[end-1] == text[start] {
				start, end = start+1, end-1
			}
			v := strings.TrimSpace(text[start:end])
			if v == "" || strings.HasPrefix(v, "$") || noValue[strings.ToLower(v)] {
				continue
			}
			spans = append(spans, span{start, end, p.kind, name})
		}
	}
	return apply(text, spans)
}

// noValue are values that say there is no credential ("Authorization:
// none"), which masking would only make unreadable.
var noValue = map[string]bool{"none": true, "null": true, "nil": true, "empty": true, "unset": true, "-": true}

// MaskValue masks the value of a named setting (an environment variable,
// a label): all of it when the name says secret, else the credentials
// Mask finds in it.
func MaskValue(name, value string) Masked {
	if !Name(name) || value == "" {
		return Mask(value)
	}
	spans := []span{{0, len(value), kindAssignment, name}}
	for _, h := range find([]byte(value), -1) {
		spans = append(spans, span{h.Start, h.End, h.Rule.ID, name})
	}
	return apply(value, spans)
}

// privateKeyEnd is where the key whose header ends at from ends: after
// its END line, or at the end of text.
func privateKeyEnd(text string, from int) int {
	i := strings.Index(text[from:], "-----END ")
	if i < 0 {
		return len(text)
	}
	j := strings.Index(text[from+i+len("-----END "):], "-----")
	if j < 0 {
		return len(text)
	}
	return from + i + len("-----END ") + j + len("-----")
}

// apply masks the spans of text, merging those that overlap; a merged
// span keeps the most specific kind and any name.
func apply(text string, spans []span) Masked {
	if len(spans) == 0 {
		return Masked{Text: text}
	}
	slices.SortStableFunc(spans, func(a, b span) int { return a.start - b.start })
	merged := []span{spans[0]}
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s.start >= last.end {
			merged = append(merged, s)
			continue
		}
		last.end = max(last.end, s.end)
		if last.kind == kindAssignment && s.kind != kindAssignment {
			last.kind = s.kind
		}
		if last.name == "" {
			last.name = s.name
		}
	}
	var b strings.Builder
	out := Masked{}
	prev := 0
	for _, s := range merged {
		v := text[s.start:s.end]
		b.WriteString(text[prev:s.start])
		b.WriteString(Redact(v))
		prev = s.end
		out.Found = append(out.Found, Found{Kind: s.kind, Name: s.name, sum: sha256.Sum256([]byte(v))})
	}
	b.WriteString(text[prev:])
	out.Text = b.String()
	return out
}

// Names of variables, flags and keys that hold secrets, and those that
// only point at one or are public.
var names = sync.OnceValue(func() [2]*regexp.Regexp {
	return [2]*regexp.Regexp{
		regexp.MustCompile(`(?i)(pass(wd|word)?|secret|token|api_?key|access_?key|private_?key|credential|auth|(^|_)key$|^key_)`),
		regexp.MustCompile(`(?i)(_file|_path|_dir|_url|_uri|_endpoint|_id|_name|_user(name)?|_host|_port|_len|_length|_type|_method|_mode)$|^gpg_keys?$|(^|_)public_key|(^|_)authors?$|^(bypass|compass|passthrough|passive)$`),
	}
})

// Name reports whether a variable, flag or key of this name holds a
// secret: DB_PASSWORD, api-key, auth.token; not PASSWORD_FILE or
// GPG_KEYS, which point at one or are public.
func Name(n string) bool {
	n = strings.NewReplacer("-", "_", ".", "_").Replace(n)
	re := names()
	return re[0].MatchString(n) && !re[1].MatchString(n)
}
