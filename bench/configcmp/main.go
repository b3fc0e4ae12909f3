// Command configcmp compares, rule by rule, what `hull config`,
// kube-score and `trivy config` report on one directory of Kubernetes
// manifests.
//
//	configcmp -dir DIR -map bench/peer-map.tsv -kube-score KS.json -trivy TRIVY.json [-hull HULL.json] [-detail OUT]
//
// Each peer finding is placed on a manifest, a document and a container
// ("" when the peer names the pod, not a container) and mapped through
// peer-map.tsv to the hull rules that cover it. A finding is covered when
// hull reports one of those rules at the same place (any container of the
// document for a pod-level finding). The summary goes to standard output;
// -detail writes, for every manifest and container, what each tool
// reports, as hull rule IDs.
//
// kube-score's JSON (v2) names the container in each comment; trivy's names
// the document by its lines, and the container by its message or by the
// lines of its cause. hull's JSON is read loosely (any object with an "id"
// and a "location" or "target"), so that it keeps working while the
// output of `hull config` settles: the file is found by name in the
// location or target, the container by "containers[N]" in the field path
// or by "container NAME" in the target.
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

func main() {
	dir := flag.String("dir", "", "directory of manifests the tools read")
	mapFile := flag.String("map", "bench/peer-map.tsv", "peer check to hull rule table")
	ksFile := flag.String("kube-score", "", "kube-score --output-format json output")
	trivyFile := flag.String("trivy", "", "trivy config --format json output")
	hullFile := flag.String("hull", "", "hull config --format json output (optional)")
	detail := flag.String("detail", "", "write the per-manifest, per-container listing here")
	flag.Parse()
	if *dir == "" || *ksFile == "" || *trivyFile == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: configcmp -dir DIR -map MAP -kube-score KS.json -trivy TRIVY.json [-hull HULL.json] [-detail OUT]")
		os.Exit(2)
	}
	if err := run(*dir, *mapFile, *ksFile, *trivyFile, *hullFile, *detail, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "configcmp:", err)
		os.Exit(2)
	}
}

// A place is a container of a workload in a document of a manifest;
// Container "" is the pod as a whole.
type place struct {
	File      string
	Doc       int
	Container string
}

func (p place) String() string {
	if p.Container == "" {
		return fmt.Sprintf("%s#%d (pod)", p.File, p.Doc)
	}
	return fmt.Sprintf("%s#%d %s", p.File, p.Doc, p.Container)
}

// A finding is one tool's report at a place, mapped to hull rules.
type finding struct {
	Tool  string
	Check string // the tool's own ID
	At    place
	Row   *row // nil for hull's own findings
	Rule  string
}

type row struct {
	Tool, Check, Match, Status, Note string
	Hull                             []string // alternatives; first counts
}

func readMap(name string) ([]*row, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []*row
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 6 {
			return nil, fmt.Errorf("%s:%d: want 6 tab-separated columns, got %d", name, n, len(c))
		}
		r := &row{Tool: c[0], Check: c[1], Match: c[2], Status: c[3], Note: c[5]}
		if c[4] != "-" {
			r.Hull = strings.Split(c[4], "|")
		}
		switch {
		case r.Status != "COVERED" && r.Status != "NEEDS-RULE" && r.Status != "NOT-A-WORKLOAD-CONCERN":
			return nil, fmt.Errorf("%s:%d: unknown status %q", name, n, r.Status)
		case (r.Status == "NOT-A-WORKLOAD-CONCERN") != (r.Hull == nil):
			return nil, fmt.Errorf("%s:%d: a %s row names hull rules %q", name, n, r.Status, c[4])
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

func lookup(rows []*row, tool, check, summary string) *row {
	for _, r := range rows {
		if r.Tool == tool && r.Check == check && (r.Match == "*" || strings.Contains(summary, r.Match)) {
			return r
		}
	}
	return nil
}

// --- the manifests ---------------------------------------------------------

type doc struct {
	Kind, Name string
	First      int // first and last line
	Last       int
	Containers []ctr
}

type ctr struct {
	Field       string // "initContainers[0]"
	Name        string
	First, Last int
}

type corpus struct {
	docs  map[string][]doc  // file (slash path under dir) -> documents
	bases map[string]string // base name -> file, for names that are unique
}

func readCorpus(dir string) (*corpus, error) {
	c := &corpus{docs: map[string][]doc{}, bases: map[string]string{}}
	seen := map[string]int{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(p) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		docs, err := parseDocs(data)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		c.docs[rel] = docs
		seen[filepath.Base(rel)]++
		c.bases[filepath.Base(rel)] = rel
		return nil
	})
	for b, n := range seen {
		if n > 1 {
			delete(c.bases, b)
		}
	}
	return c, err
}

func parseDocs(data []byte) ([]doc, error) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var docs []doc
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		d := doc{Kind: get(root, "kind").Value, Name: get(get(root, "metadata"), "name").Value, First: root.Line, Last: lastLine(root)}
		spec := get(root, "spec")
		switch d.Kind {
		case "Pod":
		case "CronJob":
			spec = get(get(get(get(spec, "jobTemplate"), "spec"), "template"), "spec")
		default:
			spec = get(get(spec, "template"), "spec")
		}
		for _, key := range []string{"initContainers", "containers", "ephemeralContainers"} {
			for i, cn := range get(spec, key).Content {
				d.Containers = append(d.Containers, ctr{Field: fmt.Sprintf("%s[%d]", key, i), Name: get(cn, "name").Value, First: cn.Line, Last: lastLine(cn)})
			}
		}
		docs = append(docs, d)
	}
	return docs, nil
}

var none = &yaml.Node{}

// get returns the value of key in mapping n; with key "" n itself.
func get(n *yaml.Node, key string) *yaml.Node {
	if key == "" || n == nil {
		return cmp.Or(n, none)
	}
	for i := 0; i+1 < len(n.Content) && n.Kind == yaml.MappingNode; i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return none
}

func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// docAt returns the 1-based document of file holding line, 0 if none.
func (c *corpus) docAt(file string, line int) int {
	docs := c.docs[file]
	for i, d := range docs {
		if line <= d.Last && (line >= d.First || i == 0 || line > docs[i-1].Last) {
			return i + 1
		}
	}
	return 0
}

// workloadDoc returns the first document of file that holds containers.
func (c *corpus) workloadDoc(file string) int {
	for i, d := range c.docs[file] {
		if len(d.Containers) > 0 {
			return i + 1
		}
	}
	return 0
}

func (c *corpus) has(file string, d int, name string) bool {
	docs := c.docs[file]
	return d >= 1 && d <= len(docs) && slices.ContainsFunc(docs[d-1].Containers, func(x ctr) bool { return x.Name == name })
}

// --- kube-score ----------------------------------------------------------

func readKubeScore(name string, c *corpus, rows []*row) ([]finding, error) {
	var objs []struct {
		FileName string `json:"file_name"`
		FileRow  int    `json:"file_row"`
		Checks   []struct {
			Check struct {
				ID string `json:"id"`
			} `json:"check"`
			Grade    int  `json:"grade"`
			Skipped  bool `json:"skipped"`
			Comments []struct {
				Path    string `json:"path"`
				Summary string `json:"summary"`
			} `json:"comments"`
		} `json:"checks"`
	}
	if err := readJSON(name, &objs); err != nil {
		return nil, err
	}
	var out []finding
	for _, o := range objs {
		file := c.file(o.FileName)
		if file == "" {
			return nil, fmt.Errorf("kube-score names %q, not a file of the directory", o.FileName)
		}
		d := c.docAt(file, max(o.FileRow, 1))
		for _, ch := range o.Checks {
			// Grades: 1 critical, 5 warning, 7 "almost OK" (shown as OK), 10 OK.
			if ch.Skipped || ch.Grade > 5 {
				continue
			}
			if len(ch.Comments) == 0 {
				out = append(out, mapped("kube-score", ch.Check.ID, "", place{file, d, ""}, rows))
			}
			for _, cm := range ch.Comments {
				at := place{file, d, ""}
				if c.has(file, d, cm.Path) {
					at.Container = cm.Path
				}
				out = append(out, mapped("kube-score", ch.Check.ID, cm.Summary, at, rows))
			}
		}
	}
	return out, nil
}

func mapped(tool, check, summary string, at place, rows []*row) finding {
	f := finding{Tool: tool, Check: check, At: at, Row: lookup(rows, tool, check, summary)}
	if f.Row != nil && f.Row.Hull != nil {
		f.Rule = f.Row.Hull[0]
	}
	return f
}

// file returns the corpus file a tool's path names.
func (c *corpus) file(p string) string {
	p = filepath.ToSlash(filepath.Clean(p))
	for {
		if _, ok := c.docs[p]; ok {
			return p
		}
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return c.bases[p]
		}
		p = p[i+1:]
	}
}

// --- trivy -----------------------------------------------------------------

var trivyIDRe = regexp.MustCompile(`^(?:AVD-)?KSV-?0*(\d+)$`)

// normTrivy returns KSV-0001 for KSV001, KSV-1 or AVD-KSV-0001: the table's
// spelling, four digits at least.
func normTrivy(id string) string {
	m := trivyIDRe.FindStringSubmatch(id)
	if m == nil {
		return id
	}
	n, _ := strconv.Atoi(m[1])
	return fmt.Sprintf("KSV-%04d", n)
}

var trivyCtrRe = []*regexp.Regexp{
	regexp.MustCompile(`[Cc]ontainer '([^']+)'`),
	regexp.MustCompile(`[Cc]ontainer "([^"]+)"`),
	regexp.MustCompile(`[Cc]ontainer (\S+) of `),
}

func readTrivy(name string, c *corpus, rows []*row) ([]finding, error) {
	var rep struct {
		Results []struct {
			Target            string
			Misconfigurations []struct {
				ID, AVDID, Message, Status string
				CauseMetadata              struct {
					StartLine, EndLine int
				}
			}
		}
	}
	if err := readJSON(name, &rep); err != nil {
		return nil, err
	}
	// KSV-01010 and KSV-0101 differ: the table keeps trivy's spelling for
	// IDs of five digits.
	known := map[string]string{}
	for _, r := range rows {
		if r.Tool == "trivy" {
			known[normTrivy(r.Check)] = r.Check
		}
	}
	var out []finding
	for _, res := range rep.Results {
		file := c.file(res.Target)
		if file == "" {
			return nil, fmt.Errorf("trivy names %q, not a file of the directory", res.Target)
		}
		for _, m := range res.Misconfigurations {
			if m.Status != "FAIL" {
				continue
			}
			id := cmp.Or(known[normTrivy(m.ID)], known[normTrivy(m.AVDID)], m.ID)
			line := max(m.CauseMetadata.StartLine, 1)
			d := c.docAt(file, line)
			at := place{file, d, ""}
			for _, re := range trivyCtrRe {
				if s := re.FindStringSubmatch(m.Message); s != nil && c.has(file, d, s[1]) {
					at.Container = s[1]
					break
				}
			}
			if at.Container == "" && d > 0 {
				for _, x := range c.docs[file][d-1].Containers {
					if line >= x.First && line <= x.Last {
						at.Container = x.Name
					}
				}
			}
			out = append(out, mapped("trivy", id, m.Message, at, rows))
		}
	}
	return out, nil
}

// --- hull ------------------------------------------------------------------

var (
	fieldCtrRe  = regexp.MustCompile(`((?:init|ephemeral)?[cC]ontainers)\[(\d+)\]`)
	targetCtrRe = regexp.MustCompile(`container ([A-Za-z0-9._-]+)`)
	docRe       = regexp.MustCompile(`(?:document|doc) (\d+)`)
)

// readHull returns hull's findings placed in the corpus, and how many it
// could not place (no corpus file named in their location or target).
func readHull(name string, c *corpus) ([]finding, int, error) {
	var v any
	if err := readJSON(name, &v); err != nil {
		return nil, 0, err
	}
	var out []finding
	unplaced := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			id, _ := v["id"].(string)
			_, hasLoc := v["location"].(map[string]any)
			_, hasTarget := v["target"].(string)
			if id == "" || !(hasLoc || hasTarget) {
				for _, k := range slices.Sorted(maps.Keys(v)) {
					walk(v[k])
				}
				return
			}
			if st, ok := v["state"].(string); ok && st == "pass" {
				return
			}
			if f, ok := c.hullFinding(id, v); ok {
				out = append(out, f)
			} else {
				unplaced++
			}
		}
	}
	walk(v)
	return out, unplaced, nil
}

func (c *corpus) hullFinding(id string, v map[string]any) (finding, bool) {
	var strs []string
	if s, ok := v["target"].(string); ok {
		strs = append(strs, s)
	}
	loc, _ := v["location"].(map[string]any)
	for _, k := range slices.Sorted(maps.Keys(loc)) {
		if s, ok := loc[k].(string); ok {
			strs = append(strs, s)
		}
	}
	var at place
	for _, s := range strs {
		for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ':' || r == '#' || r == ',' || r == '(' || r == ')' }) {
			if f := c.file(tok); f != "" && at.File == "" {
				at.File = f
			}
		}
		if m := docRe.FindStringSubmatch(s); m != nil && at.Doc == 0 {
			at.Doc, _ = strconv.Atoi(m[1])
		}
	}
	if at.File == "" {
		return finding{}, false
	}
	if at.Doc == 0 {
		at.Doc = c.workloadDoc(at.File)
	}
	docs := c.docs[at.File]
	for _, s := range strs {
		if at.Container != "" || at.Doc < 1 || at.Doc > len(docs) {
			break
		}
		if m := fieldCtrRe.FindStringSubmatch(s); m != nil {
			field := strings.ToLower(m[1][:1]) + m[1][1:] + "[" + m[2] + "]"
			for _, x := range docs[at.Doc-1].Containers {
				if x.Field == field {
					at.Container = x.Name
				}
			}
		}
		if m := targetCtrRe.FindStringSubmatch(s); m != nil && c.has(at.File, at.Doc, m[1]) {
			at.Container = m[1]
		}
	}
	return finding{Tool: "hull", Check: id, At: at, Rule: id}, true
}

func readJSON(name string, v any) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// --- comparison ----------------------------------------------------------

// same says whether two places name the same container, a pod-level place
// matching every container of its document.
func same(a, b place) bool {
	return a.File == b.File && a.Doc == b.Doc && (a.Container == b.Container || a.Container == "" || b.Container == "")
}

// index holds one tool's findings by file and document.
type index map[place][]finding

func indexOf(fs []finding) index {
	ix := index{}
	for _, f := range fs {
		k := place{f.At.File, f.At.Doc, ""}
		ix[k] = append(ix[k], f)
	}
	return ix
}

// reports says whether the tool reports one of rules at p.
func (ix index) reports(p place, rules []string) bool {
	for _, f := range ix[place{p.File, p.Doc, ""}] {
		if f.Rule != "" && slices.Contains(rules, f.Rule) && same(f.At, p) {
			return true
		}
	}
	return false
}

// covers says whether a peer tool reports something at p that hull's rule
// answers: a peer finding whose row lists rule among its alternatives.
func (ix index) covers(p place, rule string) bool {
	for _, f := range ix[place{p.File, p.Doc, ""}] {
		if f.Row != nil && slices.Contains(f.Row.Hull, rule) && same(f.At, p) {
			return true
		}
	}
	return false
}

type unit struct {
	At   place
	Rule string
}

// units returns the distinct (place, rule) pairs of fs that map to a rule.
func units(fs []finding) []unit {
	seen := map[unit]bool{}
	var out []unit
	for _, f := range fs {
		u := unit{f.At, f.Rule}
		if f.Rule != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

func run(dir, mapFile, ksFile, trivyFile, hullFile, detail string, w io.Writer) error {
	rows, err := readMap(mapFile)
	if err != nil {
		return err
	}
	c, err := readCorpus(dir)
	if err != nil {
		return err
	}
	ks, err := readKubeScore(ksFile, c, rows)
	if err != nil {
		return err
	}
	tv, err := readTrivy(trivyFile, c, rows)
	if err != nil {
		return err
	}
	var hull []finding
	unplaced := 0
	if hullFile != "" {
		if hull, unplaced, err = readHull(hullFile, c); err != nil {
			return err
		}
	}
	ixHull, ixKS, ixTV := indexOf(hull), indexOf(ks), indexOf(tv)

	nDocs, nCtrs := 0, 0
	for _, docs := range c.docs {
		for _, d := range docs {
			if len(d.Containers) > 0 {
				nDocs++
				nCtrs += len(d.Containers)
			}
		}
	}
	fmt.Fprintf(w, "corpus: %d files, %d workloads, %d containers\n", len(c.docs), nDocs, nCtrs)
	if hullFile == "" {
		fmt.Fprintln(w, "hull: not run (no -hull output); the hull columns are empty")
	}
	if unplaced > 0 {
		fmt.Fprintf(w, "hull: %d findings name no manifest of the directory in their location or target and are left out\n", unplaced)
	}

	// Per peer check.
	fmt.Fprintln(w, "\npeer checks that fired, and whether hull reports the rule that covers them at the same place")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tool\tcheck\tstatus\thull rule\tfindings\thull has\thull misses (first)")
	unmapped := map[string]int{}
	for _, peer := range [][]finding{ks, tv} {
		type key struct{ check, status, rules string }
		count := map[key]int{}
		miss := map[key][]place{}
		var order []key
		for _, f := range peer {
			if f.Row == nil {
				unmapped[f.Tool+" "+f.Check]++
				continue
			}
			k := key{f.Check, f.Row.Status, strings.Join(f.Row.Hull, "|")}
			if count[k] == 0 {
				order = append(order, k)
			}
			count[k]++
			if f.Row.Hull != nil && hullFile != "" && !ixHull.reports(f.At, f.Row.Hull) {
				miss[k] = append(miss[k], f.At)
			}
		}
		slices.SortFunc(order, func(a, b key) int { return cmp.Or(cmp.Compare(a.check, b.check), cmp.Compare(a.rules, b.rules)) })
		for _, k := range order {
			has, ex := "-", ""
			if k.rules != "" && hullFile != "" {
				has = strconv.Itoa(count[k] - len(miss[k]))
				if len(miss[k]) > 0 {
					ex = miss[k][0].String()
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", peer[0].Tool, k.check, k.status, cmp.Or(k.rules, "-"), count[k], has, ex)
		}
	}
	tw.Flush()
	for _, k := range slices.Sorted(maps.Keys(unmapped)) {
		fmt.Fprintf(w, "NOT IN THE TABLE: %s (%d findings): add a row to %s\n", k, unmapped[k], mapFile)
	}

	// Per hull rule: who finds what the others miss.
	fmt.Fprintln(w, "\nper hull rule: (place, rule) pairs each tool reports, and what only one tool reports")
	all := map[string]bool{}
	for _, fs := range [][]finding{hull, ks, tv} {
		for _, u := range units(fs) {
			all[u.Rule] = true
		}
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rule\thull\tkube-score\ttrivy\tkube-score, not hull\ttrivy, not hull\thull, no peer\tkube-score, not trivy\ttrivy, not kube-score\t")
	var missed []string
	for _, rule := range slices.Sorted(maps.Keys(all)) {
		var n [3]int
		var ksNotHull, tvNotHull, hullOnly, ksNotTV, tvNotKS int
		for _, u := range units(hull) {
			if u.Rule == rule {
				n[0]++
				if !ixKS.covers(u.At, rule) && !ixTV.covers(u.At, rule) {
					hullOnly++
				}
			}
		}
		for _, f := range ks {
			if f.Rule != rule {
				continue
			}
			if hullFile != "" && !ixHull.reports(f.At, f.Row.Hull) {
				ksNotHull++
				missed = append(missed, fmt.Sprintf("kube-score %s at %s", f.Check, f.At))
			}
		}
		for _, u := range units(ks) {
			if u.Rule == rule {
				n[1]++
				if !ixTV.reports(u.At, []string{rule}) {
					ksNotTV++
				}
			}
		}
		for _, f := range tv {
			if f.Rule == rule && hullFile != "" && !ixHull.reports(f.At, f.Row.Hull) {
				tvNotHull++
				missed = append(missed, fmt.Sprintf("trivy %s at %s", f.Check, f.At))
			}
		}
		for _, u := range units(tv) {
			if u.Rule == rule {
				n[2]++
				if !ixKS.reports(u.At, []string{rule}) {
					tvNotKS++
				}
			}
		}
		h := strconv.Itoa(n[0])
		kh, th, ho := strconv.Itoa(ksNotHull), strconv.Itoa(tvNotHull), strconv.Itoa(hullOnly)
		if hullFile == "" {
			h, kh, th, ho = "-", "-", "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t\n", rule, h, n[1], n[2], kh, th, ho, ksNotTV, tvNotKS)
	}
	tw.Flush()
	fmt.Fprintln(w, "(kube-score and trivy count (place, rule) pairs after mapping; \"not hull\" counts peer findings hull has no covering rule for at that place)")
	if hullFile != "" {
		fmt.Fprintf(w, "\npeer findings hull misses: %d\n", len(missed))
		for i, m := range missed {
			if i == 20 {
				fmt.Fprintf(w, "  ... and %d more (see -detail)\n", len(missed)-20)
				break
			}
			fmt.Fprintln(w, "  "+m)
		}
	}

	if detail != "" {
		return writeDetail(detail, c, hull, ks, tv)
	}
	return nil
}

// writeDetail lists, for every manifest and container, the hull rules each
// tool's findings map to (a peer check without a hull rule is listed by
// its own ID in parentheses).
func writeDetail(name string, c *corpus, hull, ks, tv []finding) error {
	by := map[place]map[string][]string{}
	add := func(fs []finding) {
		for _, f := range fs {
			if by[f.At] == nil {
				by[f.At] = map[string][]string{}
			}
			s := f.Rule
			if s == "" {
				s = "(" + f.Check + ")"
			}
			if !slices.Contains(by[f.At][f.Tool], s) {
				by[f.At][f.Tool] = append(by[f.At][f.Tool], s)
			}
		}
	}
	add(hull)
	add(ks)
	add(tv)
	out, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(out)
	for _, file := range slices.Sorted(maps.Keys(c.docs)) {
		for i, d := range c.docs[file] {
			for _, ctrName := range append([]string{""}, names(d.Containers)...) {
				p := place{file, i + 1, ctrName}
				if by[p] == nil {
					continue
				}
				fmt.Fprintf(bw, "%s (%s %s)\n", p, d.Kind, d.Name)
				for _, tool := range []string{"hull", "kube-score", "trivy"} {
					rs := by[p][tool]
					slices.Sort(rs)
					fmt.Fprintf(bw, "  %-10s %s\n", tool, strings.Join(rs, " "))
				}
			}
		}
	}
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func names(cs []ctr) []string {
	var out []string
	for _, x := range cs {
		out = append(out, x.Name)
	}
	return out
}
