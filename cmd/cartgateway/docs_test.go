package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// The docs tests keep README.md and docs/api.md from drifting away from the
// code: every serve flag with its variable and real default, and every
// error code the code can produce. Adding a flag or a code means adding its
// line to the docs; removing one, removing the line.

// configRow is one line of a configuration table: | flag | env | default | meaning |.
type configRow struct{ flag, env, def string }

// configTable reads the configuration table that follows heading in a
// markdown file, keyed by flag (or by variable for a row without a flag).
func configTable(t *testing.T, file, heading string) map[string]configRow {
	t.Helper()
	section := docSection(t, file, heading)
	rows := map[string]configRow{}
	for _, cells := range tableRows(section) {
		if len(cells) < 4 || !strings.HasPrefix(cells[0], "`--") && !strings.HasPrefix(cells[1], "`CARTGATEWAY_") {
			continue
		}
		r := configRow{flag: strings.Trim(cells[0], "`"), env: strings.Trim(cells[1], "`"), def: strings.Trim(cells[2], "`")}
		key := r.flag
		if !strings.HasPrefix(key, "--") {
			key = r.env
		}
		if _, dup := rows[key]; dup {
			t.Errorf("%s: %s is listed twice", file, key)
		}
		rows[key] = r
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no configuration table under %q", file, heading)
	}
	return rows
}

// docSection returns the text of a markdown file from the heading to the
// next heading of the same or a higher level.
func docSection(t *testing.T, file, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", file))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no heading %q", file, heading)
	}
	level := strings.Index(heading, " ")
	rest := text[i+len(heading)+2:]
	if j := regexp.MustCompile(`\n#{1,` + strconv.Itoa(level) + `} `).FindStringIndex(rest); j != nil {
		rest = rest[:j[0]]
	}
	return rest
}

// tableRows splits the markdown table lines of text into trimmed cells.
func tableRows(text string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "| ---") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

// serveFlags are serve's flags as the command line defines them.
func serveFlags(t *testing.T) []*kong.Flag {
	t.Helper()
	parser, err := newParser(&cli{}, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range parser.Model.Children {
		if n.Name == "serve" {
			var flags []*kong.Flag
			for _, f := range n.Flags {
				if f.Name != "help" && f.Name != "print-config" {
					flags = append(flags, f)
				}
			}
			return flags
		}
	}
	t.Fatal("no serve command")
	return nil
}

// TestDocsListEveryServeFlag: the README's and docs/api.md's tables list
// every serve flag with its environment variable and its real default, and
// nothing that is not one.
func TestDocsListEveryServeFlag(t *testing.T) {
	flags := serveFlags(t)
	for _, doc := range []struct{ file, heading string }{
		{"README.md", "### Configuration"},
		{"docs/api.md", "## Server flags and environment"},
	} {
		rows := configTable(t, doc.file, doc.heading)
		for _, f := range flags {
			want := configRow{flag: "--" + f.Name, env: strings.Join(f.Envs, ", "), def: f.Default}
			if want.def == "" {
				want.def = "none"
			}
			got, ok := rows[want.flag]
			if !ok {
				t.Errorf("%s: no row for %s (| `%s` | `%s` | `%s` | … |)", doc.file, want.flag, want.flag, want.env, want.def)
				continue
			}
			if got != want {
				t.Errorf("%s: %s is listed as env %q, default %q; the code has env %q, default %q", doc.file, want.flag, got.env, got.def, want.env, want.def)
			}
			delete(rows, want.flag)
		}
		if got, ok := rows[envSecret]; !ok || got.def != "none" {
			t.Errorf("%s: no row | — | `%s` | none | … |", doc.file, envSecret)
		}
		delete(rows, envSecret)
		for name := range rows {
			t.Errorf("%s lists %s, which is no serve flag or variable", doc.file, name)
		}
	}
}

// codePattern is the shape of an error code.
var codePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$|^conflict$`)

// sourceErrorCodes finds every error code in the non-test Go source under
// internal/ and cmd/: the code arguments of gateway.Errorf, invalid,
// rateLimited and the hosted checkout's lineError, checkURL and integer,
// Code and declineCode fields, and card's Code constants, plus
// the missing-/invalid- codes that the request decoders derive from the
// field names they are called with.
func sourceErrorCodes(t *testing.T) map[string]string {
	t.Helper()
	codes := map[string]string{} // code -> where
	consts := map[string]string{}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files = append(files, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	str := func(e ast.Expr) (string, bool) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, err := strconv.Unquote(lit.Value)
			return s, err == nil
		}
		if id, ok := e.(*ast.Ident); ok {
			s, ok := consts[id.Name]
			return s, ok
		}
		if sel, ok := e.(*ast.SelectorExpr); ok {
			s, ok := consts[sel.Sel.Name]
			return s, ok
		}
		return "", false
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if spec, ok := n.(*ast.ValueSpec); ok {
				for i, name := range spec.Names {
					if i < len(spec.Values) && strings.HasPrefix(name.Name, "Code") {
						if s, ok := str(spec.Values[i]); ok {
							consts[name.Name] = s
						}
					}
				}
			}
			return true
		})
	}
	add := func(code string, at token.Pos) {
		if codePattern.MatchString(code) {
			codes[code] = fset.Position(at).String()
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				// The gateway's decline codes: the keys of codes.go's
				// declineMessages, which processors map their declines to.
				for i, name := range n.Names {
					if lit, ok := valueAt(n, i).(*ast.CompositeLit); ok && name.Name == "declineMessages" {
						for _, elt := range lit.Elts {
							if kv, ok := elt.(*ast.KeyValueExpr); ok {
								if s, ok := str(kv.Key); ok {
									add(s, kv.Pos())
								}
							}
						}
					}
				}
				for i, name := range n.Names {
					if i < len(n.Values) && strings.HasPrefix(name.Name, "Code") {
						if s, ok := str(n.Values[i]); ok {
							add(s, n.Pos())
						}
					}
				}
			case *ast.KeyValueExpr:
				if key, ok := n.Key.(*ast.Ident); ok && (key.Name == "Code" || key.Name == "declineCode") {
					if s, ok := str(n.Value); ok {
						add(s, n.Pos())
					}
				}
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				arg := func(i int) (string, bool) {
					if i < len(n.Args) {
						return str(n.Args[i])
					}
					return "", false
				}
				switch name {
				// lineError(field, code, ...), checkURL(field, code, ...)
				// and p.integer(name, code) name their code second.
				case "Errorf", "fieldErr", "lineError", "checkURL", "integer":
					if s, ok := arg(1); ok {
						add(s, n.Pos())
					}
				case "invalid":
					if s, ok := arg(0); ok {
						add(s, n.Pos())
					}
				case "rateLimited":
					if s, ok := arg(2); ok {
						add(s, n.Pos())
					}
				case "LimitError":
					if s, ok := arg(1); ok {
						add(s, n.Pos())
					}
				// The service's field rules: fieldError("country",
				// "invalid", ...) answers invalid-country; c.text("zip",
				// s, true) answers invalid-zip and, as it is required,
				// missing-zip; c.email("email", s) both.
				case "fieldError":
					field, ok1 := arg(0)
					prefix, ok2 := arg(1)
					if ok1 && ok2 {
						add(prefix+"-"+strings.ReplaceAll(field, "_", "-"), n.Pos())
					}
				case "text", "email":
					if s, ok := arg(0); ok && regexp.MustCompile(`^[a-z_]+$`).MatchString(s) {
						field := strings.ReplaceAll(s, "_", "-")
						add("invalid-"+field, n.Pos())
						required := name == "email"
						if len(n.Args) == 3 {
							if id, ok := n.Args[2].(*ast.Ident); ok && id.Name == "true" {
								required = true
							}
						}
						if required {
							add("missing-"+field, n.Pos())
						}
					}
				// The decoders: p.required("order_id") can answer
				// missing-order-id and invalid-order-id.
				case "required", "amount", "decodeChange":
					i := 0
					if name == "decodeChange" {
						i = 1
					}
					if s, ok := arg(i); ok && regexp.MustCompile(`^[a-z_]+$`).MatchString(s) {
						field := strings.ReplaceAll(s, "_", "-")
						add("invalid-"+field, n.Pos())
						if name != "optional" {
							add("missing-"+field, n.Pos())
						}
					}
				}
			}
			return true
		})
	}
	return codes
}

func valueAt(spec *ast.ValueSpec, i int) ast.Expr {
	if i < len(spec.Values) {
		return spec.Values[i]
	}
	return nil
}

// documentedCodes reads the codes in the first column of docs/api.md's
// error code tables; a row `invalid-<field>` stands for one code per field
// its last column names.
func documentedCodes(t *testing.T) map[string]bool {
	t.Helper()
	documented := map[string]bool{}
	tick := regexp.MustCompile("`([^`]+)`")
	for _, cells := range tableRows(docSection(t, "docs/api.md", "### Error codes")) {
		for _, m := range tick.FindAllStringSubmatch(cells[0], -1) {
			code := m[1]
			if prefix, ok := strings.CutSuffix(code, "<field>"); ok {
				for _, f := range tick.FindAllStringSubmatch(cells[len(cells)-1], -1) {
					documented[prefix+f[1]] = true
				}
				continue
			}
			documented[code] = true
		}
	}
	return documented
}

// TestDocsListEveryErrorCode: docs/api.md lists every error code that the
// source can produce, and no code that it cannot.
func TestDocsListEveryErrorCode(t *testing.T) {
	codes := sourceErrorCodes(t)
	for _, want := range []string{"invalid-json", "payment-not-found", "card-declined", "missing-order-id", "invalid-threeds-cavv",
		"invalid-authorized-payment-id", "rate-limited", "not-found", "method-not-allowed", "expired-card", "invalid-key",
		"try-again-later", "invalid-processor-secret"} {
		if _, ok := codes[want]; !ok {
			t.Errorf("the source scan misses %s; it found %v", want, slices.Sorted(func(yield func(string) bool) {
				for c := range codes {
					if !yield(c) {
						return
					}
				}
			}))
		}
	}
	documented := documentedCodes(t)
	for code, at := range codes {
		if !documented[code] {
			t.Errorf("docs/api.md does not list the error code %s (%s)", code, at)
		}
	}
	for code := range documented {
		if _, ok := codes[code]; !ok {
			t.Errorf("docs/api.md lists the error code %s, which the source never produces", code)
		}
	}
}
