package workload

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// compose-go resolves a Compose file into values without positions, so the
// places of its settings are found again in the YAML as written: a
// service's key, else the same key in the service it extends (in the same
// file or another), else in a mapping merged with `<<`.

// maxExtendsDepth bounds the chain of `extends` followed for positions.
const maxExtendsDepth = 32

// composeLines holds the YAML documents of a Compose file and of the files
// its services extend.
type composeLines struct {
	root composeRoot
	// path is the Compose file as the caller named it, main as compose-go
	// is told it (absolute, or "-").
	path, main string
	docs       map[string][]*yaml.Node
	// mainErr is why the Compose file itself is not YAML.
	mainErr error
	// env interpolates list items before they are matched with the
	// resolved model.
	env map[string]string
}

func newComposeLines(root composeRoot, path, main string, data []byte) *composeLines {
	l := &composeLines{root: root, path: path, main: main, docs: map[string][]*yaml.Node{}}
	if docs, err := parseYAMLDocs(data); err == nil {
		l.docs[main] = docs
	} else {
		l.docs[main] = nil
		l.mainErr = err
	}
	return l
}

// parseYAMLDocs returns the top-level mapping of each document. Aliases
// stay nodes (never expanded), so an alias bomb costs its size only.
func parseYAMLDocs(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 && n.Content[0].Kind == yaml.MappingNode {
			docs = append(docs, n.Content[0])
		}
	}
}

// doc returns the documents of file (the Compose file, or one under the
// project directory).
func (l *composeLines) doc(file string) ([]*yaml.Node, error) {
	if docs, ok := l.docs[file]; ok {
		if file == l.main && l.mainErr != nil {
			return nil, fmt.Errorf("compose file %s: %w", file, l.mainErr)
		}
		return docs, nil
	}
	data, err := l.root.read(file)
	if err != nil {
		l.docs[file] = nil
		return nil, err
	}
	return l.parse(file, data)
}

// parse records the documents of file, whose content the caller read as
// data, so that the lines found are those of the bytes compose-go loads.
func (l *composeLines) parse(file string, data []byte) ([]*yaml.Node, error) {
	docs, err := parseYAMLDocs(data)
	l.docs[file] = docs
	return docs, err
}

// link is one service in an extends chain.
type link struct {
	// file holds it; prefix is its path there ("services.web").
	file, prefix string
	node         *yaml.Node
	keyLine      int
}

// shown names a file under the project directory as the caller named
// the Compose file: relative to it when that was relative.
func (l *composeLines) shown(file string) string {
	rel, err := filepath.Rel(l.root.dir, file)
	if err != nil || filepath.IsAbs(l.path) {
		return file
	}
	if l.path == "-" {
		return rel
	}
	return filepath.Join(filepath.Dir(l.path), rel)
}

// serviceLines finds the places of one service's settings.
type serviceLines struct {
	lines *composeLines
	chain []link
}

// service returns the extends chain of an entry of section ("services",
// "jobs") of the Compose file, as far as it can be followed.
func (l *composeLines) service(section, name string) serviceLines {
	s := serviceLines{lines: l}
	file := l.main
	seen := map[[2]string]bool{}
	for len(s.chain) < maxExtendsDepth && !seen[[2]string{file, name}] {
		seen[[2]string{file, name}] = true
		docs, err := l.doc(file)
		if err != nil {
			break
		}
		var lk link
		for _, d := range docs {
			if key, n := mappingEntry(mappingValue(d, section), name); n != nil && n.Kind == yaml.MappingNode {
				lk = link{file: file, prefix: section + "." + name, node: n, keyLine: key.Line}
			}
		}
		if lk.node == nil {
			break
		}
		s.chain = append(s.chain, lk)
		ext := mappingValue(lk.node, "extends")
		switch {
		case ext == nil:
			return s
		case ext.Kind == yaml.ScalarNode:
			name = ext.Value
		case ext.Kind == yaml.MappingNode:
			svc := mappingValue(ext, "service")
			if svc == nil {
				return s
			}
			name = svc.Value
			if f := mappingValue(ext, "file"); f != nil {
				next := f.Value
				if !filepath.IsAbs(next) {
					base := l.root.dir
					if file != "-" {
						base = filepath.Dir(file)
					}
					next = filepath.Join(base, next)
				}
				file = next
			}
		default:
			return s
		}
	}
	return s
}

// hook returns the places of the i-th pre_start hook container, from the
// first service in the chain that lists that many.
func (s serviceLines) hook(i int) serviceLines {
	h := serviceLines{lines: s.lines}
	for _, lk := range s.chain {
		_, list := mappingEntry(lk.node, "pre_start")
		if list = deref(list); list != nil && list.Kind == yaml.SequenceNode && i < len(list.Content) {
			item := deref(list.Content[i])
			prefix := lk.prefix + ".pre_start[" + strconv.Itoa(i) + "]"
			h.chain = []link{{file: lk.file, prefix: prefix, node: item, keyLine: item.Line}}
			break
		}
	}
	return h
}

func (s serviceLines) line() int {
	if len(s.chain) == 0 {
		return 0
	}
	return s.chain[0].keyLine
}

// place is where a field of a service in the chain was written.
func (s serviceLines) place(lk link, path string, line int) Place {
	p := Place{Path: lk.prefix + "." + path, Line: line}
	if lk.file != s.lines.main {
		p.File = s.lines.shown(lk.file)
	}
	return p
}

// find returns the place of the key path and its value node, from the
// first service in the chain that writes it.
func (s serviceLines) find(keys ...string) (Place, *yaml.Node, bool) {
	for _, lk := range s.chain {
		n := lk.node
		var key *yaml.Node
		for _, k := range keys {
			key, n = mappingEntry(n, k)
			if n == nil {
				break
			}
		}
		if n != nil {
			return s.place(lk, strings.Join(keys, "."), key.Line), n, true
		}
	}
	return Place{}, nil, false
}

// set records the place of setting when the service (or one it extends)
// writes the key path.
func (s serviceLines) set(f map[string]Place, setting string, keys ...string) {
	if p, _, ok := s.find(keys...); ok {
		f[setting] = p
	}
}

// setItem records where key of the i-th item of list was written.
func (s serviceLines) setItem(f map[string]Place, setting, list string, i int, key string) {
	s.eachItem(list, func(lk link, j int, item *yaml.Node) bool {
		if j != i {
			return false
		}
		if k, _ := mappingEntry(item, key); k != nil {
			f[setting] = s.place(lk, list+"["+strconv.Itoa(i)+"]."+key, k.Line)
		}
		return true
	})
}

// setListItem records where the i-th item of list was written.
func (s serviceLines) setListItem(f map[string]Place, setting, list string, i int) {
	s.eachItem(list, func(lk link, j int, item *yaml.Node) bool {
		if j != i {
			return false
		}
		f[setting] = s.place(lk, list+"["+strconv.Itoa(i)+"]", item.Line)
		return true
	})
}

// setSecurityOpt records which security_opt item wrote setting.
func (s serviceLines) setSecurityOpt(f map[string]Place, setting string) {
	s.eachItem("security_opt", func(lk link, i int, item *yaml.Node) bool {
		if item.Kind != yaml.ScalarNode {
			return false
		}
		o, err := parseSecurityOpt(i, item.Value)
		if err != nil || o.apply(&Workload{}) != setting {
			return false
		}
		f[setting] = s.place(lk, "security_opt["+strconv.Itoa(i)+"]", item.Line)
		return true
	})
}

// eachItem calls fn on each item of the list at key, service by service
// along the chain, until fn returns true.
func (s serviceLines) eachItem(key string, fn func(lk link, i int, item *yaml.Node) bool) {
	for _, lk := range s.chain {
		_, list := mappingEntry(lk.node, key)
		list = deref(list)
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for i, item := range list.Content {
			if item = deref(item); item.Kind == yaml.ScalarNode {
				v, err := template.Substitute(item.Value, func(k string) (string, bool) {
					v, ok := s.lines.env[k]
					return v, ok
				})
				if err == nil {
					c := *item
					c.Value = v
					item = &c
				}
			}
			if fn(lk, i, item) {
				return
			}
		}
	}
}

// items records the place of each resolved list item ("ports[2]") by
// matching its identity (resolved[i]) with the identities ids gives each
// item as written.
func (s serviceLines) items(f map[string]Place, prefix, key string, resolved []string, ids func(*yaml.Node) []string) {
	s.itemsFrom(f, prefix, key, 0, resolved, ids)
}

// itemsFrom is items for a list whose resolved items start at offset in
// the model's list.
func (s serviceLines) itemsFrom(f map[string]Place, prefix, key string, offset int, resolved []string, ids func(*yaml.Node) []string) {
	if len(resolved) == 0 {
		return
	}
	written := map[string]Place{}
	s.eachItem(key, func(lk link, i int, item *yaml.Node) bool {
		for _, id := range ids(item) {
			if _, ok := written[id]; !ok {
				written[id] = s.place(lk, key+"["+strconv.Itoa(i)+"]", item.Line)
			}
		}
		return false
	})
	for i, id := range resolved {
		if p, ok := written[id]; ok {
			f[prefix+"["+strconv.Itoa(offset+i)+"]"] = p
		}
	}
}

// scalarIDs adapts an identity of a scalar item.
func scalarIDs(id func(string) []string) func(*yaml.Node) []string {
	return func(n *yaml.Node) []string {
		if n.Kind != yaml.ScalarNode {
			return nil
		}
		return id(n.Value)
	}
}

// volumeTarget identifies a volumes item by its target.
func volumeTarget(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := format.ParseVolume(n.Value)
		if err != nil {
			return nil
		}
		return []string{v.Target}
	case yaml.MappingNode:
		if t := mappingValue(n, "target"); t != nil {
			return []string{t.Value}
		}
	}
	return nil
}

// deviceTarget identifies a devices item by its path in the container.
func deviceTarget(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		parts := strings.Split(n.Value, ":")
		if len(parts) > 1 {
			return []string{parts[1]}
		}
		return []string{parts[0]}
	case yaml.MappingNode:
		if t := mappingValue(n, "target"); t != nil {
			return []string{t.Value}
		}
		if t := mappingValue(n, "source"); t != nil {
			return []string{t.Value}
		}
	}
	return nil
}

// portIDs identifies a ports item by the ports it publishes.
func portIDs(n *yaml.Node) []string {
	var ps []types.ServicePortConfig
	switch n.Kind {
	case yaml.ScalarNode:
		var err error
		if ps, err = types.ParsePortConfig(n.Value); err != nil {
			return nil
		}
	case yaml.MappingNode:
		var p types.ServicePortConfig
		if v := mappingValue(n, "host_ip"); v != nil {
			p.HostIP = v.Value
		}
		if v := mappingValue(n, "published"); v != nil {
			p.Published = v.Value
		}
		if v := mappingValue(n, "protocol"); v != nil {
			p.Protocol = v.Value
		}
		if v := mappingValue(n, "target"); v != nil {
			t, err := strconv.ParseUint(v.Value, 10, 32)
			if err != nil {
				return nil
			}
			p.Target = uint32(t)
		}
		ps = []types.ServicePortConfig{p}
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = portKey(p)
	}
	return ids
}

// deref follows an alias to its anchor.
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

// mappingValue returns the value of key in mapping m, nil if absent.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	_, v := mappingEntry(m, key)
	return v
}

// mappingEntry returns the key and value nodes of key in mapping m (or in
// a mapping it merges with `<<`), nils if absent.
func mappingEntry(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	return mappingEntryDepth(m, key, 0)
}

func mappingEntryDepth(m *yaml.Node, key string, depth int) (*yaml.Node, *yaml.Node) {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > maxExtendsDepth {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value == key && k.Tag != "!!merge" {
			return k, deref(v)
		}
		if k.Tag == "!!merge" {
			if v = deref(v); v != nil && v.Kind == yaml.SequenceNode {
				merges = append(merges, v.Content...)
			} else {
				merges = append(merges, v)
			}
		}
	}
	for _, mm := range merges {
		if k, v := mappingEntryDepth(mm, key, depth+1); v != nil {
			return k, v
		}
	}
	return nil, nil
}
