package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaFile is a published JSON schema as some Go module ships it. The
// module is not a dependency of hull: tests fetch it with `go mod
// download`, which checks it against the checksum database, and check
// the file's digest on top.
type schemaFile struct {
	module, version, path, sha256 string
	// id is the URL the schema is known by (its $id or id), which
	// $refs of other schemas resolve to.
	id string
}

// compileSchema compiles the first schema, with the others added as
// resources its $refs may name, and format assertions on.
func compileSchema(files ...schemaFile) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, f := range files {
		raw, err := f.read()
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		m, _ := doc.(map[string]any)
		id, _ := m["$id"].(string)
		if id == "" {
			id, _ = m["id"].(string)
		}
		if id != f.id {
			return nil, fmt.Errorf("%s: schema id is %q, want %q", f.path, id, f.id)
		}
		if err := c.AddResource(f.id, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile(files[0].id)
}

func (f schemaFile) read() ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "hull-schema")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	mod := f.module + "@" + f.version
	// Run outside hull's module so go.mod and go.sum stay untouched.
	cmd := exec.Command(goBin, "mod", "download", "-json", mod)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || runErr != nil || info.Error != "" || info.Dir == "" {
		return nil, errors.New("go mod download " + mod + ": " + errors.Join(runErr, err).Error() + " " + info.Error + " " + stderr.String())
	}
	raw, err := os.ReadFile(filepath.Join(info.Dir, filepath.FromSlash(f.path)))
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != f.sha256 {
		return nil, errors.New(f.path + " in " + mod + " has an unexpected sha256 " + hex.EncodeToString(sum[:]))
	}
	return raw, nil
}
