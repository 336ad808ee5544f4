package httpapi

import (
	"net/http"
	"testing"

	"github.com/cartgateway/cartgateway/internal/web"
)

// Each answer has its own values of the fixed headers: changing one
// answer's must not change what the next answer carries.
func TestFixedHeadersAreNotShared(t *testing.T) {
	first, second := http.Header{}, http.Header{}
	web.SetFixed(first, jsonHeaders)
	first.Add("Cache-Control", "private")
	first["Content-Type"][0] = "text/plain" // a handler writing in place
	web.SetFixed(second, jsonHeaders)
	if got := second.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control of the next answer = %q, want [no-store]", got)
	}
	if got := second.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type of the next answer = %q, want application/json", got)
	}
}
