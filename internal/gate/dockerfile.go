package gate

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// A Dockerfile is read here only for the images a classic build pulls:
// the base image of each FROM and the image of each COPY --from that
// names no earlier stage. The parser follows the one dockerd's classic
// builder uses (moby/buildkit's frontend/dockerfile/parser): parser
// directives at the top (escape), comments, line continuations, and
// ARG before the first FROM with the request's build arguments for the
// variables a FROM names. What it cannot read as the builder does (a
// quote or escape in an image word, an unset variable, a substitution
// form it does not know) is an error, so the build is refused.

// maxDockerfile bounds the Dockerfile the gate reads.
const maxDockerfile = 1 << 20

// dfInstr is one instruction of a Dockerfile: its logical line, with
// continuations joined as the parser joins them, and the span of source
// bytes it was read from.
type dfInstr struct {
	line       string
	start, end int
}

// dfImage is an image a Dockerfile names: in the instruction instr, the
// word (a FROM's image, or a COPY's --from=value) that reads as ref once
// its variables are substituted.
type dfImage struct {
	instr int
	// word is the index of the image's word in the instruction's words;
	// copyFrom: the word is a --from=value flag.
	word     int
	copyFrom bool
	ref      string
	// stage is the index of the stage a FROM begins.
	stage int
}

// dfParsed is what parseDockerfile read.
type dfParsed struct {
	instrs []dfInstr
	images []dfImage
	// stages are the stage names (lower case, "" for none), one a FROM.
	stages []string
}

var directiveRE = regexp.MustCompile(`^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$`)

// splitDockerfile reads src into instructions as the builder's parser
// does, with the escape character its directive sets.
func splitDockerfile(src []byte) ([]dfInstr, error) {
	if len(src) > maxDockerfile {
		return nil, fmt.Errorf("the Dockerfile is larger than %d bytes", maxDockerfile)
	}
	escape := byte('\\')
	pos := 0
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		pos = 3
	}
	next := func() (string, int, bool) {
		if pos >= len(src) {
			return "", pos, false
		}
		start := pos
		i := bytes.IndexByte(src[pos:], '\n')
		if i < 0 {
			pos = len(src)
		} else {
			pos += i + 1
		}
		return strings.TrimRight(string(src[start:pos]), "\r\n"), start, true
	}
	trimLeft := func(s string) string { return strings.TrimLeftFunc(s, unicode.IsSpace) }
	isComment := func(s string) bool { return strings.HasPrefix(trimLeft(s), "#") }
	// cont reports whether line ends with the escape character (and
	// blanks), and returns it without them. Two escape characters at the
	// end continue the line for older builders, not for newer ones:
	// refused.
	cont := func(line string) (string, bool, error) {
		t := strings.TrimRight(line, " \t")
		if strings.HasSuffix(t, string([]byte{escape, escape})) {
			return "", false, fmt.Errorf("the Dockerfile's line %q ends with two escape characters, which builders read two ways", line)
		}
		if strings.HasSuffix(t, string(escape)) {
			return t[:len(t)-1], true, nil
		}
		return line, false, nil
	}
	directives := true
	seen := map[string]bool{}
	var out []dfInstr
	for {
		raw, start, ok := next()
		if !ok {
			return out, nil
		}
		if directives {
			if m := directiveRE.FindStringSubmatch(trimLeft(raw)); m != nil {
				key := strings.ToLower(m[1])
				if seen[key] {
					return nil, fmt.Errorf("the Dockerfile has the parser directive %s twice", key)
				}
				seen[key] = true
				if key == "escape" {
					if m[2] != "\\" && m[2] != "`" {
						return nil, fmt.Errorf("the Dockerfile's escape directive %q is not \\ or `", m[2])
					}
					escape = m[2][0]
				}
				continue
			}
			directives = false
		}
		if isComment(raw) || strings.TrimSpace(raw) == "" {
			continue
		}
		line, more, err := cont(trimLeft(raw))
		if err != nil {
			return nil, err
		}
		for more {
			r, _, ok := next()
			if !ok {
				break
			}
			if isComment(r) || strings.TrimSpace(r) == "" {
				continue
			}
			// A continued line is joined as it is, leading blanks kept:
			// --from=a, a backslash, and " b" on the next line are
			// --from=a and b.
			l, m, err := cont(r)
			if err != nil {
				return nil, err
			}
			line, more = line+l, m
		}
		out = append(out, dfInstr{line: line, start: start, end: pos})
	}
}

// stageNameRE is what the builder takes as a stage name.
var stageNameRE = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)

// parseDockerfile finds the images a classic build of src pulls, with
// args (the request's buildargs; a nil value is an argument without a
// value) for the ARGs declared before the first FROM.
func parseDockerfile(src []byte, args map[string]*string) (dfParsed, error) {
	instrs, err := splitDockerfile(src)
	if err != nil {
		return dfParsed{}, err
	}
	p := dfParsed{instrs: instrs}
	// meta are the ARGs declared before the first FROM, with their values
	// (nil: no value).
	meta := map[string]*string{}
	for i, in := range instrs {
		words := strings.Fields(in.line)
		if len(words) == 0 {
			continue
		}
		cmd := strings.ToLower(words[0])
		switch {
		case cmd == "arg" && len(p.stages) == 0:
			if err := declareArgs(words[1:], args, meta); err != nil {
				return dfParsed{}, err
			}
		case cmd == "from":
			img, name, err := parseFrom(words, i, meta, p.stages)
			if err != nil {
				return dfParsed{}, err
			}
			if img.ref != "" {
				img.stage = len(p.stages)
				p.images = append(p.images, img)
			}
			p.stages = append(p.stages, name)
		case cmd == "copy":
			if len(p.stages) == 0 {
				return dfParsed{}, errors.New("the Dockerfile has a COPY before its first FROM")
			}
			// The stage a COPY is in is not one it can copy from: the
			// builder names a stage only once it is built, so
			// --from=NAME of the stage itself names an image.
			img, err := parseCopyFrom(words, i, p.stages[:len(p.stages)-1])
			if err != nil {
				return dfParsed{}, err
			}
			if img.ref != "" {
				p.images = append(p.images, img)
			}
		}
	}
	if len(p.stages) == 0 {
		return dfParsed{}, errors.New("the Dockerfile has no FROM")
	}
	return p, nil
}

// declareArgs reads the words of an ARG before the first FROM: NAME or
// NAME=default, a build argument overriding the default.
func declareArgs(words []string, args, meta map[string]*string) error {
	if len(words) == 0 {
		return errors.New("the Dockerfile has an ARG without a name")
	}
	for _, w := range words {
		k, v, hasDefault := strings.Cut(w, "=")
		if !isVarName(k) {
			return fmt.Errorf("the Dockerfile's ARG %q is not one the gate can read", w)
		}
		var val *string
		if hasDefault {
			val = unreadable
			if s, err := substitute(v, meta); err == nil {
				val = &s
			}
		}
		if a, ok := args[k]; ok && a != nil {
			val = a
		}
		meta[k] = val
	}
	return nil
}

// parseFrom reads FROM [--platform=P] IMAGE [AS name]: the image (none
// for scratch or an earlier stage) and the stage's name.
func parseFrom(words []string, instr int, meta map[string]*string, stages []string) (dfImage, string, error) {
	i := 1
	for ; i < len(words) && strings.HasPrefix(words[i], "--"); i++ {
		if !strings.HasPrefix(words[i], "--platform=") {
			return dfImage{}, "", fmt.Errorf("the Dockerfile's FROM has the flag %q, which the gate does not know", words[i])
		}
	}
	rest := words[i:]
	name := ""
	switch {
	case len(rest) == 3 && strings.EqualFold(rest[1], "as"):
		name = strings.ToLower(rest[2])
		if !stageNameRE.MatchString(name) {
			return dfImage{}, "", fmt.Errorf("the Dockerfile's stage name %q is not a valid name", rest[2])
		}
	case len(rest) != 1:
		return dfImage{}, "", fmt.Errorf("the Dockerfile's %q is not FROM [--platform=...] IMAGE [AS name]", strings.Join(words, " "))
	}
	ref, err := substitute(rest[0], meta)
	if err != nil {
		return dfImage{}, "", fmt.Errorf("the Dockerfile's FROM %s: %w", rest[0], err)
	}
	if ref == "" {
		return dfImage{}, "", fmt.Errorf("the Dockerfile's FROM %s names no image", rest[0])
	}
	if ref == "scratch" || isStage(ref, stages) {
		return dfImage{}, name, nil
	}
	return dfImage{instr: instr, word: i, ref: ref}, name, nil
}

// parseCopyFrom reads the --from flag of a COPY: the image it names
// unless it names an earlier stage (by name or index).
func parseCopyFrom(words []string, instr int, stages []string) (dfImage, error) {
	var img dfImage
	for i := 1; i < len(words) && strings.HasPrefix(words[i], "--"); i++ {
		flag, val, _ := strings.Cut(words[i][2:], "=")
		if strings.ContainsAny(words[i], "\"'`\\$") {
			return dfImage{}, fmt.Errorf("the Dockerfile's COPY flag %s has quotes, escapes or variables, which the gate does not read", words[i])
		}
		if !strings.EqualFold(flag, "from") {
			continue
		}
		if img.copyFrom {
			return dfImage{}, errors.New("the Dockerfile has a COPY with --from twice")
		}
		if val == "" {
			return dfImage{}, fmt.Errorf("the Dockerfile's COPY flag %s names nothing", words[i])
		}
		img = dfImage{instr: instr, word: i, copyFrom: true, ref: val}
	}
	if !img.copyFrom {
		return dfImage{}, nil
	}
	if n, err := strconv.Atoi(img.ref); err == nil {
		if n < 0 || n >= len(stages) {
			return dfImage{}, fmt.Errorf("the Dockerfile's COPY --from=%d names no stage", n)
		}
		return dfImage{}, nil
	}
	if isStage(img.ref, stages) {
		return dfImage{}, nil
	}
	return img, nil
}

func isStage(ref string, stages []string) bool {
	for _, s := range stages {
		if s != "" && s == strings.ToLower(ref) {
			return true
		}
	}
	return false
}

func isVarName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}

// unreadable is the value of an ARG whose default the gate does not
// read (quotes, say): an error only when a FROM uses it.
var unreadable = new(string)

// substitute replaces $VAR, ${VAR}, ${VAR:-word} and ${VAR:+word} in w
// with the values of vars. An unset variable, a quote, an escape or any
// other form is an error: the gate does not guess what the builder's
// word would be.
func substitute(w string, vars map[string]*string) (string, error) {
	if strings.ContainsAny(w, "\"'`\\") {
		return "", fmt.Errorf("%q has quotes or escapes, which the gate does not read", w)
	}
	var b strings.Builder
	for i := 0; i < len(w); {
		c := w[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		var name, op, word string
		if i < len(w) && w[i] == '{' {
			end := strings.IndexByte(w[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("%q has an unclosed ${", w)
			}
			inner := w[i+1 : i+end]
			i += end + 1
			name = inner
			if j := strings.IndexByte(inner, ':'); j >= 0 {
				name, op, word = inner[:j], inner[j:min(j+2, len(inner))], inner[min(j+2, len(inner)):]
				if op != ":-" && op != ":+" {
					return "", fmt.Errorf("%q has the substitution ${%s}, which the gate does not read", w, inner)
				}
				if strings.ContainsAny(word, "${}") {
					return "", fmt.Errorf("%q has a nested substitution, which the gate does not read", w)
				}
			}
		} else {
			j := i
			for j < len(w) && isVarName(w[i:j+1]) {
				j++
			}
			name, i = w[i:j], j
		}
		if !isVarName(name) {
			return "", fmt.Errorf("%q has a $ the gate cannot read as a variable", w)
		}
		v, set := vars[name]
		if v == unreadable {
			return "", fmt.Errorf("%q uses the variable %s, whose default the gate does not read", w, name)
		}
		set = set && v != nil
		switch {
		case op == ":-" && (!set || *v == ""):
			b.WriteString(word)
		case op == ":+":
			if set && *v != "" {
				b.WriteString(word)
			}
		case !set:
			return "", fmt.Errorf("the variable %s has no value (declare it with ARG before the first FROM, with a default or a build argument)", name)
		default:
			b.WriteString(*v)
		}
	}
	return b.String(), nil
}

// pinDockerfile returns src with each of p's images replaced by
// pinned[i], the verified reference of p.images[i]: the instruction is
// written again as one line, its other words as the parser read them.
func pinDockerfile(src []byte, p dfParsed, pinned []string) []byte {
	var out bytes.Buffer
	last := 0
	for i, img := range p.images {
		in := p.instrs[img.instr]
		words := strings.Fields(in.line)
		if img.copyFrom {
			words[img.word] = "--from=" + pinned[i]
		} else {
			words[img.word] = pinned[i]
		}
		out.Write(src[last:in.start])
		out.WriteString(strings.Join(words, " "))
		out.WriteByte('\n')
		last = in.end
	}
	out.Write(src[last:])
	return out.Bytes()
}
