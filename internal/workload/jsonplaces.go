package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// jsonPlaces reads a JSON document's structure and returns the line of
// every field, by field path ("process.user.uid", "mounts[2]"), so that
// a finding can point at it. A key given twice in one object is an error:
// Go's decoder would keep the last, a runtime might keep the first, and
// the judged value would then not be the one that runs. It walks with an
// explicit stack, so a deeply nested document costs memory, not the
// goroutine's stack.
func jsonPlaces(data []byte) (map[string]int, error) {
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		path    string
		object  bool
		wantKey bool
		index   int
		keys    map[string]bool
	}
	places := map[string]int{}
	var stack []*frame
	var pending string // the path of an object's value, set by its key
	// end is called when the top-level value is read: one document only,
	// anything after it is an error.
	end := func() (map[string]int, error) {
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, errors.New("more than one JSON value")
		}
		return places, nil
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("unexpected end of JSON")
		}
		if err != nil {
			return nil, plainJSONError(err, data)
		}
		if len(stack) > 0 {
			if top := stack[len(stack)-1]; top.object && top.wantKey {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					if stack = stack[:len(stack)-1]; len(stack) == 0 {
						return end()
					}
					continue
				}
				key := tok.(string) // the decoder allows nothing else here
				if top.keys[key] {
					return nil, fmt.Errorf("line %d: %q is given twice in %s", lines.at(dec.InputOffset()), key, orRoot(top.path))
				}
				top.keys[key] = true
				top.wantKey = false
				pending = join(top.path, key)
				places[pending] = lines.at(dec.InputOffset())
				continue
			}
		}
		path := pending
		if len(stack) > 0 && !stack[len(stack)-1].object {
			if d, ok := tok.(json.Delim); ok && d == ']' {
				if stack = stack[:len(stack)-1]; len(stack) == 0 {
					return end()
				}
				continue
			}
			top := stack[len(stack)-1]
			path = top.path + "[" + strconv.Itoa(top.index) + "]"
			top.index++
			places[path] = lines.at(firstByte(data, start))
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{path: path, object: true, wantKey: true, keys: map[string]bool{}})
			case '[':
				stack = append(stack, &frame{path: path})
			}
		}
		if len(stack) == 0 {
			return end()
		}
	}
}

// firstByte is the offset of the first byte of the token after off,
// past white space and separators.
func firstByte(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "the top-level object"
	}
	return path
}

// lineIndex maps byte offsets to 1-based lines.
type lineIndex []int64

func newLineIndex(data []byte) lineIndex {
	var nl lineIndex
	for i, b := range data {
		if b == '\n' {
			nl = append(nl, int64(i))
		}
	}
	return nl
}

// at is the line of the byte at off.
func (l lineIndex) at(off int64) int {
	return sort.Search(len(l), func(i int) bool { return l[i] >= off }) + 1
}

// plainJSONError words a JSON decoding error for a person: where, and
// what was expected, in JSON's words rather than Go's.
func plainJSONError(err error, data []byte) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at line %d: %s", newLineIndex(data).at(syn.Offset), syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the document"
		}
		return fmt.Errorf("line %d: %s is %s, want %s", newLineIndex(data).at(typ.Offset), field, article(typ.Value), jsonKind(typ.Type))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("unexpected end of JSON")
	}
	return err
}

// article names the JSON value the decoder found ("string", "number
// -1", "array").
func article(v string) string {
	switch {
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "bool":
		return "true or false"
	case strings.HasPrefix(v, "number "):
		return "the number " + strings.TrimPrefix(v, "number ")
	}
	return "a " + v
}

// jsonKind names what JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number of 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another kind of value"
}
