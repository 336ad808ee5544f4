// Package apidocs holds the API's OpenAPI 3.1 document (openapi.json, the
// contract that the test suite holds every request and answer to) and
// serves it: as JSON at /openapi.json and as a page, rendered here from the
// document, at /docs.
package apidocs

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strconv"
	"sync"
)

//go:embed openapi.json
var document []byte

// Document returns the OpenAPI document, as served at /openapi.json.
func Document() []byte { return bytes.Clone(document) }

// The paths Handler serves.
const (
	JSONPath = "/openapi.json"
	PagePath = "/docs"
)

// Paths are the paths Handler serves, for a mux to mount.
var Paths = []string{JSONPath, PagePath}

//go:embed style.css
var style string

// pageCSP lets the page use its own inline style and nothing else: no
// script, no image, no font or stylesheet from anywhere, no form, no frame
// around it.
var pageCSP = func() string {
	sum := sha256.Sum256([]byte(style))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}()

var renderPage = sync.OnceValues(func() ([]byte, error) { return render(document) })

// Handler serves the document at JSONPath and its page at PagePath (for GET
// and HEAD); the caller's middleware adds the headers every answer carries.
// Both change only with the server, so clients revalidate (no-cache).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		h := w.Header()
		switch r.URL.Path {
		case JSONPath:
			body = document
			h.Set("Content-Type", "application/json")
		case PagePath:
			page, err := renderPage()
			if err != nil {
				// The document is embedded and tested; this is a bug.
				panic("apidocs: the page does not render: " + err.Error())
			}
			body = page
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Security-Policy", pageCSP)
		default:
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	})
}
