// Package jsonstrict holds the member-name rule every sesguard JSON decoder applies on top of
// encoding/json: names are exact-case, and a member appears at most once. encoding/json matches
// a member to a struct field ignoring case (Unicode simple folding: "ſend" is "send") and keeps
// the last of duplicate members, while other readers of the same bytes (Python's json, jq, the
// fast path) see exact names and may keep the first: {"eventType":"Send","EventType":"Delivery"}
// would be a Delivery to encoding/json and a Send to Python. Check refuses such input instead, so
// every reader that accepts a document agrees on what it says.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Check reports the first member of data (valid JSON, already decoded into a value of type t
// without error) that breaks the rule, with its dotted path ("mail.tags.ses:source-ip",
// "bounce.bouncedRecipients[0].emailAddress"):
//   - a member of an object decoded into a struct whose name matches a field only when case is
//     folded;
//   - a member that appears twice in an object decoded into a struct or a map.
//
// Members encoding/json ignores, and values of types with their own UnmarshalJSON (such as
// json.RawMessage, decoded and checked later by whoever reads them), are not looked into.
func Check(data []byte, t reflect.Type) (field string, err error) {
	c := checker{data: data}
	c.ws()
	if err := c.value(t, ""); err != nil {
		return err.field, err.err
	}
	return "", nil
}

type failure struct {
	field string
	err   error
}

type checker struct {
	data []byte
	pos  int
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// value checks the value at pos, to be decoded into t, and consumes it.
func (c *checker) value(t reflect.Type, path string) *failure {
	for t != nil && t.Kind() == reflect.Pointer {
		if t.Implements(unmarshaler) {
			t = nil
			break
		}
		t = t.Elem()
	}
	if t != nil && (t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler)) {
		t = nil
	}
	if c.pos >= len(c.data) {
		return nil
	}
	switch {
	case t == nil:
		c.skip()
	case c.data[c.pos] == '{' && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map):
		return c.object(t, path)
	case c.data[c.pos] == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		return c.array(t.Elem(), path)
	default:
		c.skip()
	}
	return nil
}

func (c *checker) object(t reflect.Type, path string) *failure {
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = map[string]reflect.Type{}
		structFields(t, fields)
	}
	seen := map[string]bool{}
	c.pos++ // '{'
	for {
		c.ws()
		if c.pos >= len(c.data) || c.data[c.pos] == '}' {
			c.pos++
			return nil
		}
		if c.data[c.pos] == ',' {
			c.pos++
			c.ws()
		}
		name := c.name()
		c.ws()
		c.pos++ // ':'
		c.ws()
		sub := name
		if path != "" {
			sub = path + "." + name
		}
		var ft reflect.Type
		if fields != nil {
			var ok bool
			if ft, ok = fields[name]; !ok {
				for f := range fields {
					if strings.EqualFold(f, name) {
						return &failure{sub, fmt.Errorf("member %q is %q in another case (member names are case-sensitive)", name, f)}
					}
				}
				c.skip() // ignored by encoding/json too
				continue
			}
		} else {
			ft = t.Elem()
		}
		if seen[name] {
			return &failure{sub, fmt.Errorf("duplicate member %q", name)}
		}
		seen[name] = true
		if f := c.value(ft, sub); f != nil {
			return f
		}
	}
}

func (c *checker) array(elem reflect.Type, path string) *failure {
	c.pos++ // '['
	for i := 0; ; i++ {
		c.ws()
		if c.pos >= len(c.data) || c.data[c.pos] == ']' {
			c.pos++
			return nil
		}
		if c.data[c.pos] == ',' {
			c.pos++
			c.ws()
		}
		if f := c.value(elem, path+"["+strconv.Itoa(i)+"]"); f != nil {
			return f
		}
	}
}

// structFields maps the JSON names of t's fields (embedded structs' promoted) to their types.
func structFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structFields(ft, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := out[name]; !dup {
			out[name] = f.Type
		}
	}
}

// name consumes a member name and returns it unescaped.
func (c *checker) name() string {
	start := c.pos
	c.str()
	raw := c.data[start:c.pos]
	if bytes.IndexByte(raw, '\\') < 0 && len(raw) >= 2 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // valid: the caller decoded data
	return s
}

// str consumes a string.
func (c *checker) str() {
	c.pos++ // '"'
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case '\\':
			c.pos += 2
			continue
		case '"':
			c.pos++
			return
		}
		c.pos++
	}
}

// skip consumes one value of any type.
func (c *checker) skip() {
	depth := 0
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case '"':
			c.str()
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return // the enclosing value's end
			}
			depth--
			if depth == 0 {
				c.pos++
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		}
		c.pos++
	}
}

func (c *checker) ws() {
	for c.pos < len(c.data) {
		switch c.data[c.pos] {
		case ' ', '\t', '\r', '\n':
			c.pos++
		default:
			return
		}
	}
}
