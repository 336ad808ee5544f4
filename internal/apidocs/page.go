package apidocs

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"slices"
	"strings"
)

// The page is built from the document alone: what /docs shows is what the
// suite validates against, so the page cannot drift either.

//go:embed page.tmpl
var pageTemplate string

var tmpl = template.Must(template.New("page").Parse(pageTemplate))

type page struct {
	Style       template.CSS
	Title       string
	Summary     string
	Version     string
	Description []block
	Servers     []server
	Security    []security
	Groups      []group
	Common      []response
	Codes       []code
}

type server struct {
	URL         string
	Description []span
}

type security struct {
	Name        string
	Description []span
}

type group struct {
	Name        string
	Description []span
	Operations  []operation
}

type operation struct {
	Anchor      string
	Method      string
	Path        string
	Summary     string
	Description []block
	Auth        bool
	Parameters  []field
	Body        []field
	BodyNote    []span
	Examples    []example
	Responses   []response
}

type response struct {
	Status      string
	Name        string
	Description []span
	Headers     []field
	MediaType   string
	Fields      []field
	Codes       []code
	Examples    []example
}

type field struct {
	Name        string
	Type        string
	Required    bool
	Rules       []string
	Description []span
}

type code struct {
	Code        string
	Status      string
	Description []span
}

type example struct {
	Name string
	JSON string
}

// block is a paragraph of a description; span is a run of its text, code
// or not. Descriptions use CommonMark's `code` and **bold** only.
type block []span

type span struct {
	Text string
	Code bool
	Bold bool
}

// everyAnswer are the headers on every answer; the page names them once
// rather than under each answer.
var everyAnswer = map[string]bool{"X-Request-Id": true, "Cache-Control": true, "X-Content-Type-Options": true,
	"Referrer-Policy": true, "X-Frame-Options": true, "Content-Security-Policy": true, "Strict-Transport-Security": true}

var methods = []string{"get", "head", "post", "put", "patch", "delete"}

func render(doc []byte) ([]byte, error) {
	root, err := ParseNode(doc)
	if err != nil {
		return nil, err
	}
	r := renderer{root: root, codes: map[string]code{}}
	info := root.Get("info")
	p := page{
		Style:       template.CSS(style),
		Title:       info.Get("title").Text(),
		Summary:     info.Get("summary").Text(),
		Version:     info.Get("version").Text(),
		Description: blocks(info.Get("description").Text()),
	}
	if s := root.Get("servers"); s != nil {
		for _, sv := range s.Items {
			p.Servers = append(p.Servers, server{URL: sv.Get("url").Text(), Description: spans(sv.Get("description").Text())})
		}
	}
	schemes := root.Path("components", "securitySchemes")
	for i, name := range schemes.Keys {
		p.Security = append(p.Security, security{Name: name, Description: spans(schemes.Vals[i].Get("description").Text())})
	}
	codeList := root.Path("components", "schemas", "ErrorCode", "x-codes")
	if codeList == nil {
		return nil, fmt.Errorf("apidocs: components.schemas.ErrorCode has no x-codes")
	}
	for i, c := range codeList.Keys {
		v := codeList.Vals[i]
		cd := code{Code: c, Status: v.Get("status").Str, Description: spans(v.Get("description").Text())}
		r.codes[c] = cd
		p.Codes = append(p.Codes, cd)
	}
	groups := map[string]*group{}
	tags := root.Get("tags")
	for _, t := range tags.Items {
		p.Groups = append(p.Groups, group{Name: t.Get("name").Text(), Description: spans(t.Get("description").Text())})
	}
	for i := range p.Groups {
		groups[p.Groups[i].Name] = &p.Groups[i]
	}
	paths := root.Get("paths")
	for i, path := range paths.Keys {
		item := paths.Vals[i]
		for _, m := range methods {
			op := item.Get(m)
			if op == nil {
				continue
			}
			o, err := r.operation(path, m, op)
			if err != nil {
				return nil, err
			}
			tag := op.Get("tags").Strings()
			if len(tag) == 0 || groups[tag[0]] == nil {
				return nil, fmt.Errorf("apidocs: %s %s has no known tag", m, path)
			}
			groups[tag[0]].Operations = append(groups[tag[0]].Operations, o)
		}
	}
	common := root.Path("components", "responses")
	for i, name := range common.Keys {
		resp, err := r.response(name, common.Vals[i])
		if err != nil {
			return nil, err
		}
		resp.Name = name
		p.Common = append(p.Common, resp)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type renderer struct {
	root  *Node
	codes map[string]code
}

// resolve follows a local $ref; a description next to it wins.
func (r *renderer) resolve(n *Node) *Node {
	for n != nil && n.Get("$ref") != nil {
		target := r.root
		for _, part := range strings.Split(strings.TrimPrefix(n.Get("$ref").Text(), "#/"), "/") {
			target = target.Get(part)
		}
		if d := n.Get("description"); d != nil && target != nil {
			merged := *target
			merged.Keys = slices.Clone(target.Keys)
			merged.Vals = slices.Clone(target.Vals)
			merged.Set("description", d)
			target = &merged
		}
		n = target
	}
	return n
}

func (r *renderer) operation(path, method string, op *Node) (operation, error) {
	o := operation{
		Anchor:      op.Get("operationId").Text(),
		Method:      strings.ToUpper(method),
		Path:        path,
		Summary:     op.Get("summary").Text(),
		Description: blocks(op.Get("description").Text()),
		Auth:        op.Get("security") == nil || len(op.Get("security").Items) > 0,
	}
	if o.Anchor == "" {
		return o, fmt.Errorf("apidocs: %s %s has no operationId", method, path)
	}
	if params := op.Get("parameters"); params != nil {
		for _, pr := range params.Items {
			pr = r.resolve(pr)
			f := field{Name: pr.Get("name").Text() + " (" + pr.Get("in").Text() + ")", Description: spans(pr.Get("description").Text())}
			f.Required = pr.Get("required") != nil && pr.Get("required").Bool
			f.Type, f.Rules = r.describe(pr.Get("schema"))
			o.Parameters = append(o.Parameters, f)
		}
	}
	if body := op.Get("requestBody"); body != nil {
		o.BodyNote = spans(body.Get("description").Text())
		media := body.Path("content", "application/json")
		o.Body = r.fields(media.Get("schema"), "")
		o.Examples = examples(media)
	}
	responses := op.Get("responses")
	for i, status := range responses.Keys {
		resp, err := r.response(status, responses.Vals[i])
		if err != nil {
			return o, fmt.Errorf("apidocs: %s %s %s: %w", method, path, status, err)
		}
		o.Responses = append(o.Responses, resp)
	}
	return o, nil
}

func (r *renderer) response(status string, n *Node) (response, error) {
	n = r.resolve(n)
	resp := response{Status: status, Description: spans(n.Get("description").Text())}
	if h := n.Get("headers"); h != nil {
		for i, name := range h.Keys {
			if everyAnswer[name] {
				continue // listed once, in the document's description
			}
			hv := r.resolve(h.Vals[i])
			f := field{Name: name, Description: spans(hv.Get("description").Text())}
			f.Required = hv.Get("required") != nil && hv.Get("required").Bool
			f.Type, f.Rules = r.describe(hv.Get("schema"))
			resp.Headers = append(resp.Headers, f)
		}
	}
	content := n.Get("content")
	if content == nil {
		return resp, nil
	}
	if len(content.Keys) != 1 {
		return resp, fmt.Errorf("one media type expected, got %v", content.Keys)
	}
	resp.MediaType = content.Keys[0]
	media := content.Vals[0]
	schema := media.Get("schema")
	// An error answer: allOf [Error, {code: {enum: [...]}}].
	if all := schema.Get("allOf"); all != nil {
		for _, part := range all.Items {
			if enum := part.Path("properties", "code", "enum"); enum != nil {
				for _, c := range enum.Strings() {
					cd, ok := r.codes[c]
					if !ok {
						return resp, fmt.Errorf("code %q is not in ErrorCode's x-codes", c)
					}
					resp.Codes = append(resp.Codes, cd)
				}
				continue
			}
			resp.Fields = append(resp.Fields, r.fields(part, "")...)
		}
	} else if r.resolve(schema).Get("properties") != nil {
		resp.Fields = r.fields(schema, "")
	}
	resp.Examples = examples(media)
	return resp, nil
}

// fields lists an object schema's properties, nested objects and arrays of
// objects with dotted names.
func (r *renderer) fields(schema *Node, prefix string) []field {
	schema = r.resolve(schema)
	props := schema.Get("properties")
	if props == nil {
		return nil
	}
	required := schema.Get("required").Strings()
	var out []field
	for i, name := range props.Keys {
		prop := r.resolve(props.Vals[i])
		f := field{Name: prefix + name, Required: slices.Contains(required, name), Description: spans(prop.Get("description").Text())}
		f.Type, f.Rules = r.describe(prop)
		out = append(out, f)
		if prop.Get("properties") != nil {
			out = append(out, r.fields(prop, prefix+name+".")...)
		}
		if items := r.resolve(prop.Get("items")); items != nil && items.Get("properties") != nil {
			out = append(out, r.fields(items, prefix+name+"[].")...)
		}
	}
	return out
}

// describe gives a schema's type and its constraints in words.
func (r *renderer) describe(schema *Node) (string, []string) {
	schema = r.resolve(schema)
	if schema == nil {
		return "", nil
	}
	var rules []string
	typ := strings.Join(schema.Get("type").Strings(), " | ")
	if c := schema.Get("const"); c != nil {
		rules = append(rules, "always "+string(c.Compact()))
		if typ == "" {
			typ = map[Kind]string{String: "string", Number: "integer", Bool: "boolean"}[c.Kind]
		}
	}
	if e := schema.Get("enum"); e != nil {
		if len(e.Items) > maxListedValues {
			// ErrorCode: each answer lists its own codes, the page all.
			rules = append(rules, fmt.Sprintf("one of the %d codes of the error code table", len(e.Items)))
		} else {
			rules = append(rules, "one of "+strings.Join(quoted(e), ", "))
		}
	}
	for _, k := range []struct{ key, words string }{
		{"minLength", "at least %s characters"}, {"maxLength", "at most %s characters"},
		{"minimum", "at least %s"}, {"maximum", "at most %s"}, {"pattern", "matches %s"}, {"format", "format %s"},
	} {
		if v := schema.Get(k.key); v != nil {
			val := v.Str
			if k.key == "pattern" {
				val = "/" + val + "/"
			}
			rules = append(rules, fmt.Sprintf(k.words, val))
		}
	}
	return typ, rules
}

// maxListedValues bounds the values of an enum the page lists in place.
const maxListedValues = 12

func quoted(n *Node) []string {
	var out []string
	for _, it := range n.Items {
		out = append(out, string(it.Compact()))
	}
	return out
}

func examples(media *Node) []example {
	ex := media.Get("examples")
	if ex == nil {
		return nil
	}
	var out []example
	for i, name := range ex.Keys {
		v := ex.Vals[i].Get("value")
		if v == nil {
			continue
		}
		out = append(out, example{Name: name, JSON: strings.TrimSuffix(string(v.Format()), "\n")})
	}
	return out
}

// blocks splits a description into paragraphs.
func blocks(text string) []block {
	var out []block
	for _, para := range strings.Split(text, "\n\n") {
		if strings.TrimSpace(para) != "" {
			out = append(out, spans(para))
		}
	}
	return out
}

// spans splits text at `code` and **bold** marks.
func spans(text string) []span {
	var out []span
	for i, part := range strings.Split(text, "`") {
		if i%2 == 1 {
			out = append(out, span{Text: part, Code: true})
			continue
		}
		for j, bold := range strings.Split(part, "**") {
			if bold != "" {
				out = append(out, span{Text: bold, Bold: j%2 == 1})
			}
		}
	}
	return out
}
