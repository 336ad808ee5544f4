package apidocs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Node is a JSON value that keeps the order of object members, which
// encoding/json's maps lose: the page lists fields in the document's order,
// and tests rewrite the document without reordering it.
type Node struct {
	Kind  Kind
	Keys  []string // object member names, in order
	Vals  []*Node  // object member values, in order
	Items []*Node  // array elements
	Str   string   // string value, or a number's exact text
	Bool  bool
}

// Kind is the JSON type of a Node.
type Kind byte

// The kinds of Node.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// ParseNode reads one JSON value.
func ParseNode(data []byte) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("apidocs: data after the JSON value")
	}
	return n, nil
}

func parseNode(dec *json.Decoder) (*Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			n := &Node{Kind: Array, Items: []*Node{}}
			for dec.More() {
				item, err := parseNode(dec)
				if err != nil {
					return nil, err
				}
				n.Items = append(n.Items, item)
			}
			_, err := dec.Token() // ]
			return n, err
		}
		n := &Node{Kind: Object}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			val, err := parseNode(dec)
			if err != nil {
				return nil, err
			}
			n.Keys = append(n.Keys, key.(string))
			n.Vals = append(n.Vals, val)
		}
		_, err := dec.Token() // }
		return n, err
	case string:
		return &Node{Kind: String, Str: t}, nil
	case json.Number:
		return &Node{Kind: Number, Str: t.String()}, nil
	case bool:
		return &Node{Kind: Bool, Bool: t}, nil
	default:
		return &Node{Kind: Null}, nil
	}
}

// Get returns an object's member, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for i, k := range n.Keys {
		if k == key {
			return n.Vals[i]
		}
	}
	return nil
}

// Path follows Get through keys.
func (n *Node) Path(keys ...string) *Node {
	for _, k := range keys {
		n = n.Get(k)
	}
	return n
}

// Set replaces an object's member, or appends it.
func (n *Node) Set(key string, val *Node) {
	for i, k := range n.Keys {
		if k == key {
			n.Vals[i] = val
			return
		}
	}
	n.Keys = append(n.Keys, key)
	n.Vals = append(n.Vals, val)
}

// Text returns a string's value ("" for any other kind).
func (n *Node) Text() string {
	if n == nil || n.Kind != String {
		return ""
	}
	return n.Str
}

// Strings returns the strings of an array, or of a single string.
func (n *Node) Strings() []string {
	if n == nil {
		return nil
	}
	if n.Kind == String {
		return []string{n.Str}
	}
	var out []string
	for _, it := range n.Items {
		if it.Kind == String {
			out = append(out, it.Str)
		}
	}
	return out
}

// Format writes n as the document's canonical JSON: two-space indents,
// arrays of plain values on one line, no HTML escaping, and a final
// newline. The document in the repository is in this form
// (TestDocumentIsCanonical), so that a rewrite changes only what changed.
func (n *Node) Format() []byte {
	var b bytes.Buffer
	n.format(&b, "")
	b.WriteByte('\n')
	return b.Bytes()
}

// Compact writes n without any whitespace, as json.Marshal would order it
// (member order kept).
func (n *Node) Compact() []byte {
	var b bytes.Buffer
	n.compact(&b)
	return b.Bytes()
}

func (n *Node) compact(b *bytes.Buffer) {
	switch n.Kind {
	case Object:
		b.WriteByte('{')
		for i, k := range n.Keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			n.Vals[i].compact(b)
		}
		b.WriteByte('}')
	case Array:
		b.WriteByte('[')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.compact(b)
		}
		b.WriteByte(']')
	default:
		n.scalar(b)
	}
}

func (n *Node) format(b *bytes.Buffer, indent string) {
	inner := indent + "  "
	switch n.Kind {
	case Object:
		if len(n.Keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range n.Keys {
			b.WriteString(inner)
			writeString(b, k)
			b.WriteString(": ")
			n.Vals[i].format(b, inner)
			if i < len(n.Keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case Array:
		flat := true
		for _, it := range n.Items {
			flat = flat && it.Kind != Object && it.Kind != Array
		}
		if flat {
			b.WriteByte('[')
			for i, it := range n.Items {
				if i > 0 {
					b.WriteString(", ")
				}
				it.scalar(b)
			}
			b.WriteByte(']')
			return
		}
		b.WriteString("[\n")
		for i, it := range n.Items {
			b.WriteString(inner)
			it.format(b, inner)
			if i < len(n.Items)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		n.scalar(b)
	}
}

func (n *Node) scalar(b *bytes.Buffer) {
	switch n.Kind {
	case String:
		writeString(b, n.Str)
	case Number:
		b.WriteString(n.Str)
	case Bool:
		fmt.Fprint(b, n.Bool)
	default:
		b.WriteString("null")
	}
}

func writeString(b *bytes.Buffer, s string) {
	var q bytes.Buffer
	enc := json.NewEncoder(&q)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.WriteString(strings.TrimSuffix(q.String(), "\n"))
}
