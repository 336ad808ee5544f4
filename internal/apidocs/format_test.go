package apidocs

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

// update rewrites openapi.json: in canonical form, and (in the example
// tests) with the examples of fresh real exchanges.
var update = flag.Bool("update", false, "rewrite openapi.json in canonical form with fresh examples")

// Update reports whether the tests rewrite the document.
func Update() bool { return *update }

// TestDocumentIsCanonical keeps openapi.json in one layout, so that diffs
// show only what changed and a rewrite by the example tests changes nothing
// else.
func TestDocumentIsCanonical(t *testing.T) {
	root, err := ParseNode(document)
	if err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	canonical := root.Format()
	if bytes.Equal(canonical, document) {
		return
	}
	if *update {
		if err := os.WriteFile("openapi.json", canonical, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("openapi.json is not in canonical form; run: go test ./internal/apidocs -run TestDocumentIsCanonical -update")
}
