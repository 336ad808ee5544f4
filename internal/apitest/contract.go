package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cartgateway/cartgateway/internal/apidocs"
	"github.com/cartgateway/cartgateway/internal/checkout"
	"github.com/cartgateway/cartgateway/internal/portal"
)

// The contract: every request a test sends to a gateway and every answer it
// gets are held to the OpenAPI document (internal/apidocs/openapi.json).
// Servers started by Start check every exchange on the server side, so
// requests sent through Request, through a test's own http.Client or a raw
// connection, and calls of Handler in-process are all covered;
// ContractClient checks the exchanges of a client talking to a gateway in
// another process or started by cmd/cartgateway's own code.
//
// An answer must always match the document: its status must be documented
// for the operation, its body must match that status's schema (an
// undocumented field or error code fails), and so must its headers. A
// request the document refuses is taken as deliberately invalid (tests of
// bad input send many): it passes only if the server refused it too, with
// a 4xx answer that itself matches the document. A request the document
// refuses but the server served means that the two disagree.

func init() {
	// The reference page is HTML; its schema is a string.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// Exchange is one request and its answer.
type Exchange struct {
	Method       string
	Path         string
	Header       http.Header
	Body         []byte
	BodyComplete bool // Body is the whole body (false when the server stopped reading early)
	Status       int
	AnswerHeader http.Header
	Answer       []byte
}

func (e Exchange) String() string {
	return fmt.Sprintf("%s %s → %d", e.Method, e.Path, e.Status)
}

type contract struct {
	doc    *openapi3.T
	router routers.Router
	// unrouted answers: paths or methods the document does not name
	notFound, methodNotAllowed, rateLimited *openapi3.Operation

	mu   sync.Mutex
	seen map[string]int // "POST /payment/charge 200" → exchanges

	// Bodies are validated with schemas compiled once, from the document
	// as one JSON Schema resource: kin-openapi compiles a schema at each
	// use (10 ms an exchange under the race detector), which slowed the
	// suite. kin-openapi still routes and checks statuses and headers.
	compileMu sync.Mutex
	compiler  *jsonschema.Compiler
	compiled  map[string]*jsonschema.Schema // by JSON pointer into the document
}

// docURL names the document as a JSON Schema resource.
const docURL = "https://cartgateway.test/openapi.json"

// schemaAt returns the schema at a JSON pointer into the document,
// compiled on first use.
func (c *contract) schemaAt(pointer string) (*jsonschema.Schema, error) {
	c.compileMu.Lock()
	defer c.compileMu.Unlock()
	if s, ok := c.compiled[pointer]; ok {
		return s, nil
	}
	s, err := c.compiler.Compile(docURL + "#" + pointer)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", pointer, err)
	}
	c.compiled[pointer] = s
	return s, nil
}

// validateBody validates a JSON body against the schema at pointer.
func (c *contract) validateBody(pointer string, body []byte) error {
	s, err := c.schemaAt(pointer)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the body is not JSON: %v", err)
	}
	return s.Validate(v)
}

// pointerEscape escapes a JSON pointer token (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(apidocs.Document())
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	// Examples are TestExamplesAreRealExchanges's business (it rewrites
	// them with -update, which a check of them here would prevent).
	if err := doc.Validate(ctx, openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	// Route by path alone: test servers listen on other addresses than the
	// document's example server.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, err
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(apidocs.Document()))
	if err != nil {
		return nil, err
	}
	compiler := jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	if err := compiler.AddResource(docURL, raw); err != nil {
		return nil, err
	}
	c := &contract{doc: doc, router: router, seen: map[string]int{}, compiler: compiler, compiled: map[string]*jsonschema.Schema{}}
	one := func(name, status string) *openapi3.Operation {
		ref := doc.Components.Responses[name]
		if ref == nil {
			err = errors.Join(err, fmt.Errorf("components.responses.%s is missing", name))
			return nil
		}
		return &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithName(status, ref.Value))}
	}
	c.notFound = one("NotFound", "404")
	c.methodNotAllowed = one("MethodNotAllowed", "405")
	c.rateLimited = one("RateLimited", "429")
	return c, err
})

// CheckExchange holds one exchange to the document; nil when it conforms.
func CheckExchange(e Exchange) error {
	c, err := loadContract()
	if err != nil {
		return err
	}
	return c.check(e)
}

func (c *contract) check(e Exchange) error {
	if e.Status == statusClientClosed && len(e.Answer) == 0 {
		return nil // the client hung up: nobody receives this answer
	}
	if clean := path.Clean(e.Path); (strings.HasPrefix(e.Path, checkout.PathPrefix) || strings.HasPrefix(e.Path, portal.Prefix)) &&
		(clean == e.Path || clean+"/" == e.Path) {
		// The hosted checkout's pages and the Merchant Portal are browser
		// surfaces (HTML and forms), not the API: docs/hosted-checkout.md
		// and docs/portal.md describe them, and their own HTTP and browser
		// tests hold them to it.
		return nil
	}
	ctx := context.Background()
	req := e.request()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		op := c.notFound
		switch {
		case e.Status == http.StatusTooManyRequests:
			op = c.rateLimited
		case err.Error() == routers.ErrMethodNotAllowed.Error(): // the router returns a fresh RouteError
			op = c.methodNotAllowed
		}
		c.count(e.Method + " (unrouted) " + strconv.Itoa(e.Status))
		route = &routers.Route{Spec: c.doc, Path: e.Path, Method: e.Method, Operation: op}
		return c.checkAnswer(ctx, e, route, nil, req, "/components/responses/"+c.componentFor(op))
	}
	c.count(e.Method + " " + route.Path + " " + strconv.Itoa(e.Status))
	opPointer := "/paths/" + pointerEscape(route.Path) + "/" + strings.ToLower(e.Method)
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: authenticate,
			ExcludeRequestBody: true, // below, with a compiled schema
			MultiError:         true,
		},
	}
	requestErr := openapi3filter.ValidateRequest(ctx, in)
	if requestErr == nil && route.Operation.RequestBody != nil && e.BodyComplete && len(e.Body) <= maxCheckedBody {
		if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/json" {
			requestErr = fmt.Errorf("request Content-Type %q is not application/json", req.Header.Get("Content-Type"))
		} else {
			requestErr = c.validateBody(opPointer+"/requestBody/content/application~1json/schema", e.Body)
		}
	}
	if err := c.checkAnswer(ctx, e, route, params, req, opPointer+"/responses/"+strconv.Itoa(e.Status)); err != nil {
		return err
	}
	if requestErr != nil && (e.Status < 400 || e.Status > 499) {
		return fmt.Errorf("%v: the document refuses the request, but the server answered %d:\n%v\nrequest: %s",
			e, e.Status, shorten(requestErr.Error()), shortBody(e.Body))
	}
	return nil
}

// checkAnswer holds the answer to the document: kin-openapi its status
// and headers, a compiled schema its body (responsePointer names the
// documented response).
func (c *contract) checkAnswer(ctx context.Context, e Exchange, route *routers.Route, params map[string]string, req *http.Request, responsePointer string) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 e.Status,
		Header:                 e.AnswerHeader,
		Body:                   io.NopCloser(bytes.NewReader(e.Answer)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true, MultiError: true},
	}
	err := openapi3filter.ValidateResponse(ctx, in)
	if err == nil {
		err = c.checkAnswerBody(e, route.Operation, responsePointer)
	}
	if err != nil {
		return fmt.Errorf("%v: the answer does not match the document:\n%v\nanswer: %s\nrequest: %s",
			e, shorten(err.Error()), shortBody(e.Answer), shortBody(e.Body))
	}
	return nil
}

// checkAnswerBody checks the answer's media type and, for JSON, its body.
func (c *contract) checkAnswerBody(e Exchange, op *openapi3.Operation, responsePointer string) error {
	resp := op.Responses.Status(e.Status)
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("status %d is not documented", e.Status)
	}
	content := resp.Value.Content
	if len(content) == 0 {
		if len(e.Answer) > 0 {
			return errors.New("a body where the document has none")
		}
		return nil
	}
	if e.Method == http.MethodHead {
		return nil
	}
	mt, _, err := mime.ParseMediaType(e.AnswerHeader.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("Content-Type %q: %v", e.AnswerHeader.Get("Content-Type"), err)
	}
	if content.Get(mt) == nil {
		return fmt.Errorf("Content-Type %s is not documented for %d", mt, e.Status)
	}
	if mt != "application/json" {
		return nil // text: the document's schema is a string
	}
	return c.validateBody(responsePointer+"/content/application~1json/schema", e.Answer)
}

// componentFor names the components.responses entry of an unrouted
// answer's operation.
func (c *contract) componentFor(op *openapi3.Operation) string {
	switch op {
	case c.methodNotAllowed:
		return "MethodNotAllowed"
	case c.rateLimited:
		return "RateLimited"
	}
	return "NotFound"
}

// request rebuilds the request for validation. The document names one
// request media type, application/json; the gateway reads a body without
// Content-Type, and any +json type, as JSON, which the document's
// description says, so both are validated as application/json.
func (e Exchange) request() *http.Request {
	u := &url.URL{Path: e.Path}
	req := &http.Request{Method: e.Method, URL: u, Header: e.Header.Clone(), Host: "gateway.test"}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if ct := req.Header.Get("Content-Type"); e.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(ct)
		if ct == "" || err == nil && strings.HasSuffix(strings.ToLower(mt), "+json") {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	// kin-openapi sees no body: bodies are checked with compiled schemas.
	req.Body, req.ContentLength = http.NoBody, 0
	return req
}

// authenticate checks that the credentials the document requires are
// present; whether they are right is the server's business.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	switch in.SecuritySchemeName {
	case "privateKey":
		scheme, key, ok := strings.Cut(strings.TrimSpace(h.Get("Authorization")), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			return errors.New("no Authorization: Bearer key")
		}
	case "accountId":
		if strings.TrimSpace(h.Get("CARTGATEWAY-ACCOUNT-ID")) == "" {
			return errors.New("no CARTGATEWAY-ACCOUNT-ID")
		}
	default:
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	return nil
}

func (c *contract) count(key string) {
	c.mu.Lock()
	c.seen[key]++
	c.mu.Unlock()
}

// ContractCoverage returns how many exchanges were checked, by "METHOD
// path status", in this test binary so far.
func ContractCoverage() map[string]int {
	c, err := loadContract()
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.seen))
	for k, v := range c.seen {
		out[k] = v
	}
	return out
}

// ContractGaps returns the documented "METHOD path status" answers that
// no exchange of this test binary has shown, sorted.
func ContractGaps() []string {
	c, err := loadContract()
	if err != nil {
		return []string{err.Error()}
	}
	seen := ContractCoverage()
	var gaps []string
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				key := method + " " + path + " " + status
				if seen[key] == 0 {
					gaps = append(gaps, key)
				}
			}
		}
	}
	sort.Strings(gaps)
	return gaps
}

// ContractOperations returns every documented "METHOD path".
func ContractOperations() []string {
	c, err := loadContract()
	if err != nil {
		return nil
	}
	var ops []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	sort.Strings(ops)
	return ops
}

func shorten(s string) string {
	const max = 3000
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

func shortBody(b []byte) string {
	const max = 600
	if len(b) > max {
		return fmt.Sprintf("%q… (%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// maxCheckedBody bounds the request bodies whose schema is checked: a
// hostile test's megabyte-long number literal takes the schema validator
// seconds, and every real request is far smaller. Their answers are still
// checked.
const maxCheckedBody = 64 << 10

// statusClientClosed is the status the gateway logs when the client hung
// up before its answer (nginx's 499); it never reaches a client.
const statusClientClosed = 499

// Checked returns next with every exchange it serves checked against the
// document, failures reported to t: for tests that build their own
// httpapi.Handler rather than use Start.
func Checked(t testing.TB, next http.Handler) http.Handler { return checkingHandler(t, next) }

// checker checks exchanges in the background, so that the client gets its
// answer as soon as the server gave it (the JSON Schema validator compiles
// the schemas at each use: about 0.2 ms an exchange, 10 ms under the race
// detector, enough to upset a test of rate limits). The test waits for the
// checks before it ends.
type checker struct {
	t  testing.TB
	wg sync.WaitGroup
}

func newChecker(t testing.TB) *checker {
	c := &checker{t: t}
	t.Cleanup(c.wg.Wait)
	return c
}

func (c *checker) check(e Exchange) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := CheckExchange(e); err != nil {
			c.t.Errorf("contract: %v", err)
		}
	}()
}

// checkingHandler checks every exchange that next serves, reporting
// failures to t.
func checkingHandler(t testing.TB, next http.Handler) http.Handler {
	c := newChecker(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := &teeBody{ReadCloser: r.Body, complete: r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0}
		if r.Body != nil {
			r.Body = body
		}
		rec := &answerRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		e := Exchange{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body.buf.Bytes(), BodyComplete: body.complete,
			Status: rec.status, AnswerHeader: rec.header, Answer: rec.body.Bytes()}
		if e.Status == 0 {
			e.Status, e.AnswerHeader = http.StatusOK, w.Header().Clone()
		}
		if r.Method == http.MethodHead {
			e.Answer = nil // net/http sends no body to a HEAD
		}
		c.check(e)
	})
}

// teeBody keeps what the server reads of a request body.
type teeBody struct {
	io.ReadCloser
	buf      bytes.Buffer
	complete bool // read to its end
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.buf.Write(p[:n])
	if err == io.EOF {
		b.complete = true
	}
	return n, err
}

// answerRecorder passes an answer through and keeps a copy.
type answerRecorder struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *answerRecorder) WriteHeader(code int) {
	if a.status == 0 {
		a.status, a.header = code, a.ResponseWriter.Header().Clone()
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerRecorder) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	a.body.Write(p)
	return a.ResponseWriter.Write(p)
}

func (a *answerRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// ContractClient returns a copy of base (http.DefaultClient if nil) whose
// every exchange is checked against the document, failures reported to t:
// for tests that talk to a gateway the test did not start with Start.
func ContractClient(t testing.TB, base *http.Client) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	c := *base
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &checkingTransport{checker: newChecker(t), next: next}
	return &c
}

type checkingTransport struct {
	*checker
	next http.RoundTripper
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport underneath.
func (ct *checkingTransport) CloseIdleConnections() {
	if c, ok := ct.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (ct *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		clone := req.Clone(req.Context())
		clone.Body = io.NopCloser(bytes.NewReader(b))
		req = clone
	}
	resp, err := ct.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	if err != nil {
		return resp, nil // the caller reads the same failure... of nothing; it sees a short body
	}
	e := Exchange{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body, BodyComplete: true,
		Status: resp.StatusCode, AnswerHeader: resp.Header.Clone(), Answer: answer}
	if req.Method == http.MethodHead {
		e.Answer = nil
	}
	ct.check(e)
	return resp, nil
}
