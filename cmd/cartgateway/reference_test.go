package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/client"
	"github.com/cartgateway/cartgateway/internal/apitest"
)

// TestServedReference runs "cartgateway serve" and fetches its reference:
// /openapi.json is the document in the repository, byte for byte, and
// /docs renders every operation of it.
func TestServedReference(t *testing.T) {
	addr := freeAddr(t)
	serveInProcess(t, "--db", filepath.Join(t.TempDir(), "gw.db"), "--addr", addr, "--settle-at", "off")
	base := "http://" + addr
	hc := apitest.ContractClient(t, nil)
	c, err := client.New(client.Config{BaseURL: base, AccountID: "1", PrivateKey: "unused", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for c.Health(ctx) != nil && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return resp, b
	}

	repo, err := os.ReadFile(filepath.Join("..", "..", "internal", "apidocs", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, served := get("/openapi.json")
	if !bytes.Equal(served, repo) {
		t.Fatalf("/openapi.json (%d bytes) is not internal/apidocs/openapi.json (%d bytes)", len(served), len(repo))
	}

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(repo, &doc); err != nil {
		t.Fatal(err)
	}
	resp, page := get("/docs")
	html := string(page)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("/docs Content-Type %q", ct)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("/docs may be framed: %v", resp.Header)
	}
	operations := 0
	for path, item := range doc.Paths {
		if !strings.Contains(html, `<code class="path">`+path+`</code>`) {
			t.Errorf("/docs does not show %s", path)
		}
		for method, op := range item {
			operations++
			if !strings.Contains(html, `id="`+op.OperationID+`"`) {
				t.Errorf("/docs has no section for %s %s (%s)", strings.ToUpper(method), path, op.OperationID)
			}
		}
	}
	if n := strings.Count(html, `<article class="operation"`); n != operations {
		t.Errorf("/docs shows %d operations, the document has %d", n, operations)
	}
}
