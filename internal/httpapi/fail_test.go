package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// TestFailWhenTheClientHungUp: a read cut short because the client went away
// is not a server error: 499 in the request log, no ERROR line. The same
// cancellation while the client is still there is an internal error.
func TestFailWhenTheClientHungUp(t *testing.T) {
	canceled := gateway.Internal(fmt.Errorf("query: %w", context.Canceled))
	for _, tc := range []struct {
		name       string
		clientGone bool
		wantStatus int
		wantError  bool
	}{
		{"client gone", true, statusClientClosed, false},
		{"client still there", false, 500, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := &API{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.clientGone {
				cancel()
			} else {
				defer cancel()
			}
			r := httptest.NewRequest("POST", "/payment/lookup", nil).WithContext(ctx)
			w := httptest.NewRecorder()
			h.Fail(w, r, canceled)
			if w.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if got := strings.Contains(logs.String(), `"level":"ERROR"`); got != tc.wantError {
				t.Errorf("ERROR logged: %v, want %v; logs: %s", got, tc.wantError, logs.String())
			}
		})
	}
}
