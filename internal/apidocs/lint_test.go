package apidocs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cartgateway/cartgateway/internal/apidocs"
)

// TestDocumentIsValidOpenAPI31 lints the document with two independent
// readers: the OpenAPI Initiative's own JSON Schema of OpenAPI 3.1
// documents (testdata, validated by a JSON Schema 2020-12 validator), and
// kin-openapi's validation, which also compiles every schema and checks
// every example against its schema.
func TestDocumentIsValidOpenAPI31(t *testing.T) {
	meta, err := os.ReadFile(filepath.Join("testdata", "oas-3.1-schema-2022-10-07.json"))
	if err != nil {
		t.Fatal(err)
	}
	metaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(meta))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const metaURL = "https://spec.openapis.org/oas/3.1/schema/2022-10-07"
	if err := c.AddResource(metaURL, metaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(metaURL)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(apidocs.Document()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("not a valid OpenAPI 3.1 document: %v", err)
	}

	kin, err := openapi3.NewLoader().LoadFromData(apidocs.Document())
	if err != nil {
		t.Fatal(err)
	}
	if err := kin.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Errorf("kin-openapi: %v", err)
	}
}

// doc is the document read loosely, for the project's own rules.
type doc struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Responses map[string]response `json:"responses"`
		Schemas   struct {
			ErrorCode struct {
				Enum  []string `json:"enum"`
				Codes map[string]struct {
					Status int `json:"status"`
				} `json:"x-codes"`
			} `json:"ErrorCode"`
		} `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	OperationID string                              `json:"operationId"`
	Summary     string                              `json:"summary"`
	Description string                              `json:"description"`
	Tags        []string                            `json:"tags"`
	RequestBody *struct{ Content map[string]media } `json:"requestBody"`
	Responses   map[string]response                 `json:"responses"`
}

type response struct {
	Description string           `json:"description"`
	Headers     map[string]any   `json:"headers"`
	Content     map[string]media `json:"content"`
}

type media struct {
	Schema struct {
		AllOf []struct {
			Properties struct {
				Code struct {
					Enum []string `json:"enum"`
				} `json:"code"`
			} `json:"properties"`
		} `json:"allOf"`
	} `json:"schema"`
	Examples map[string]struct {
		Value json.RawMessage `json:"value"`
	} `json:"examples"`
}

func (m media) codes() []string {
	var out []string
	for _, part := range m.Schema.AllOf {
		out = append(out, part.Properties.Code.Enum...)
	}
	return out
}

func readDoc(t *testing.T) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal(apidocs.Document(), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// noExample are the JSON answers without an example, and why.
var noExample = map[string]string{
	"GET /openapi.json 200": "the document itself",
	"GET /openapi.json 500": onlyAPanic,
	"GET /docs 500":         onlyAPanic,
	"GET /healthz 500":      onlyAPanic,
	"GET /livez 500":        onlyAPanic,
	// A payment still waiting for the processor when its checkout is
	// validated: internal/httpapi's checkout tests make one with the slow
	// card; an example would cost every run 3 s.
	"POST /hosted/checkout/validate 409": "needs a payment in flight (internal/httpapi/checkout_test.go)",
}

const onlyAPanic = "only a panic in the server gives it (TestHostilePanicRecovered)"

// TestDocumentRules: what the project asks of its reference beyond
// OpenAPI's own rules.
func TestDocumentRules(t *testing.T) {
	d := readDoc(t)
	ids := map[string]bool{}
	for path, item := range d.Paths {
		for method, op := range item {
			name := strings.ToUpper(method) + " " + path
			if op.OperationID == "" || op.Summary == "" || op.Description == "" || len(op.Tags) != 1 {
				t.Errorf("%s: needs an operationId, a summary, a description and one tag", name)
			}
			if ids[op.OperationID] {
				t.Errorf("%s: operationId %q is taken", name, op.OperationID)
			}
			ids[op.OperationID] = true
			if op.RequestBody != nil {
				if len(op.RequestBody.Content["application/json"].Examples) == 0 {
					t.Errorf("%s: the request body has no example", name)
				}
			}
			for status, resp := range op.Responses {
				if _, ok := resp.Headers["X-Request-Id"]; !ok {
					t.Errorf("%s %s: X-Request-Id is not documented", name, status)
				}
				if status == "429" {
					if _, ok := resp.Headers["Retry-After"]; !ok {
						t.Errorf("%s 429: Retry-After is not documented", name)
					}
				}
				for mt, m := range resp.Content {
					key := name + " " + status
					if mt == "application/json" && len(m.Examples) == 0 && noExample[key] == "" {
						t.Errorf("%s: no example", key)
					}
				}
			}
		}
	}
}

// TestErrorCodesListed: every error code is listed once, with one status,
// under that status wherever an operation can give it, and the list is
// docs/api.md's list: the prose and the contract name the same codes.
func TestErrorCodesListed(t *testing.T) {
	d := readDoc(t)
	ec := d.Components.Schemas.ErrorCode
	enum := slices.Sorted(slices.Values(ec.Enum))
	var described []string
	for c := range ec.Codes {
		described = append(described, c)
	}
	sort.Strings(described)
	if !slices.Equal(enum, described) {
		t.Errorf("ErrorCode's enum and x-codes differ:\nenum    %v\nx-codes %v", enum, described)
	}
	used := map[string]bool{}
	check := func(where, status string, m media) {
		for _, c := range m.codes() {
			used[c] = true
			info, ok := ec.Codes[c]
			if !ok {
				t.Errorf("%s: code %q is not in ErrorCode", where, c)
			} else if strconv.Itoa(info.Status) != status {
				t.Errorf("%s: code %q is listed under %s, but its status is %d", where, c, status, info.Status)
			}
		}
	}
	for path, item := range d.Paths {
		for method, op := range item {
			for status, resp := range op.Responses {
				check(strings.ToUpper(method)+" "+path+" "+status, status, resp.Content["application/json"])
			}
		}
	}
	for name, resp := range d.Components.Responses {
		check("components.responses."+name, statusOf(name), resp.Content["application/json"])
	}
	for _, c := range ec.Enum {
		if !used[c] {
			t.Errorf("code %q is listed by no operation", c)
		}
	}

	// docs/api.md's table of error codes: "| `code` | status | meaning |".
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(md)
	start := strings.Index(section, "### Error codes")
	end := strings.Index(section[start:], "Codes that only the operator CLI prints")
	if start < 0 || end < 0 {
		t.Fatal("docs/api.md has no Error codes table")
	}
	prose := map[string]int{}
	row := regexp.MustCompile(`(?m)^\| ([^|]+) \| ([0-9]{3}) \|`)
	codeRe := regexp.MustCompile("`([a-z0-9-]+)`")
	for _, m := range row.FindAllStringSubmatch(section[start:start+end], -1) {
		status, _ := strconv.Atoi(m[2])
		for _, c := range codeRe.FindAllStringSubmatch(m[1], -1) {
			prose[c[1]] = status
		}
	}
	// `invalid-<field>` stands for a list of fields in the prose.
	for c, info := range ec.Codes {
		st, ok := prose[c]
		if !ok && strings.HasPrefix(c, "invalid-") {
			st, ok = 400, true // the prose's invalid-<field> row
		}
		if !ok {
			t.Errorf("code %q is in the document but not in docs/api.md's table", c)
		} else if st != info.Status {
			t.Errorf("code %q: status %d in the document, %d in docs/api.md", c, info.Status, st)
		}
	}
	for c := range prose {
		if _, ok := ec.Codes[c]; !ok {
			t.Errorf("code %q is in docs/api.md's table but not in the document", c)
		}
	}
}

func statusOf(response string) string {
	return map[string]string{"NotFound": "404", "MethodNotAllowed": "405", "RateLimited": "429"}[response]
}
