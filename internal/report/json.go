package report

import (
	"encoding/json"
	"io"
)

// EncodeJSON writes the report as indented JSON.
func EncodeJSON(w io.Writer, r Report, _ Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sorted(r))
}
