package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// MaxVEXBytes bounds a VEX document.
const MaxVEXBytes = 16 << 20

// VEX is what a Vulnerability Exploitability eXchange document says:
// per vulnerability and product, whether it affects it. OpenVEX (v0.0.1
// and v0.2) and CycloneDX VEX are read.
type VEX struct {
	statements []vexStatement
}

type vexStatement struct {
	vulns    []string
	products []string // package URLs
	// suppress: not_affected or fixed (OpenVEX); not_affected,
	// false_positive or resolved (CycloneDX analysis states).
	suppress bool
}

// ParseVEX reads an OpenVEX or CycloneDX VEX document.
func ParseVEX(r io.Reader) (*VEX, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxVEXBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxVEXBytes {
		return nil, fmt.Errorf("VEX document larger than %d bytes", MaxVEXBytes)
	}
	var doc struct {
		Context    string            `json:"@context"`
		Statements []json.RawMessage `json:"statements"`
		BOMFormat  string            `json:"bomFormat"`
		Vulns      []struct {
			ID       string `json:"id"`
			Analysis struct {
				State string `json:"state"`
			} `json:"analysis"`
			Affects []struct {
				Ref string `json:"ref"`
			} `json:"affects"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("VEX: %v", err)
	}
	v := &VEX{}
	switch {
	case strings.HasPrefix(doc.Context, "https://openvex.dev/ns"):
		for i, raw := range doc.Statements {
			st, err := parseOpenVEXStatement(raw)
			if err != nil {
				return nil, fmt.Errorf("VEX statement %d: %v", i, err)
			}
			v.statements = append(v.statements, st)
		}
	case doc.BOMFormat == "CycloneDX":
		for _, x := range doc.Vulns {
			st := vexStatement{vulns: []string{x.ID}}
			switch x.Analysis.State {
			case "not_affected", "false_positive", "resolved", "resolved_with_pedigree":
				st.suppress = true
			}
			for _, a := range x.Affects {
				st.products = append(st.products, a.Ref)
			}
			v.statements = append(v.statements, st)
		}
	default:
		return nil, fmt.Errorf("VEX: neither an OpenVEX document (@context https://openvex.dev/ns/...) nor CycloneDX")
	}
	return v, nil
}

func parseOpenVEXStatement(raw json.RawMessage) (vexStatement, error) {
	var s struct {
		Vulnerability json.RawMessage   `json:"vulnerability"`
		Products      []json.RawMessage `json:"products"`
		Status        string            `json:"status"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return vexStatement{}, err
	}
	st := vexStatement{}
	// v0.0.1 names a vulnerability and products by strings; v0.2 by
	// objects with a name (and aliases) and an @id.
	var name string
	if json.Unmarshal(s.Vulnerability, &name) == nil {
		st.vulns = []string{name}
	} else {
		var obj struct {
			Name    string   `json:"name"`
			Aliases []string `json:"aliases"`
		}
		if err := json.Unmarshal(s.Vulnerability, &obj); err != nil {
			return st, fmt.Errorf("vulnerability: %v", err)
		}
		st.vulns = append([]string{obj.Name}, obj.Aliases...)
	}
	for _, p := range s.Products {
		var id string
		if json.Unmarshal(p, &id) != nil {
			var obj struct {
				ID string `json:"@id"`
			}
			if err := json.Unmarshal(p, &obj); err != nil {
				return st, fmt.Errorf("product: %v", err)
			}
			id = obj.ID
		}
		st.products = append(st.products, id)
	}
	switch s.Status {
	case "not_affected", "fixed":
		st.suppress = true
	case "affected", "under_investigation":
	default:
		return st, fmt.Errorf("unknown status %q", s.Status)
	}
	return st, nil
}

// NotAffected reports whether the last statement about any of ids for the
// package purl says it does not affect it. A product matches the same
// package URL, the same without qualifiers, or the same without version.
func (v *VEX) NotAffected(ids []string, purl string) bool {
	verdict := false
	for _, st := range v.statements {
		if !slices.ContainsFunc(st.vulns, func(id string) bool { return slices.Contains(ids, id) }) {
			continue
		}
		if slices.ContainsFunc(st.products, func(p string) bool { return productMatches(p, purl) }) {
			verdict = st.suppress
		}
	}
	return verdict
}

func productMatches(product, purl string) bool {
	if product == "" {
		return false
	}
	if product == purl {
		return true
	}
	bare, _, _ := strings.Cut(purl, "?")
	if product == bare {
		return true
	}
	noVersion, _, _ := strings.Cut(bare, "@")
	return product == noVersion
}
