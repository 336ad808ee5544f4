package httpapi

import (
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// TestReadBodyAllocatesWhatArrives: a Content-Length alone does not make the
// server allocate that much; only bytes that arrive do. (A client that
// declares 1 MiB on many connections and sends nothing must not cost the
// server 1 MiB each.)
func TestReadBodyAllocatesWhatArrives(t *testing.T) {
	for _, declared := range []int64{2, maxPreallocatedBody, maxPreallocatedBody + 1, MaxBodyBytes} {
		r := httptest.NewRequest("POST", "/payment/lookup", strings.NewReader("{}"))
		r.ContentLength = declared // a body shorter than it says
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		body, _ := readBody(httptest.NewRecorder(), r)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 2*maxPreallocatedBody+64<<10 {
			t.Errorf("Content-Length %d with a 2-byte body: allocated %d bytes", declared, grew)
		}
		if declared == 2 && string(body) != "{}" {
			t.Errorf("body %q, want {}", body)
		}
	}
}
