package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// BenchmarkLookupHandler runs the SDK's lookup of one (cached) payment
// through the whole handler chain in-process: what a lookup costs the
// server besides net/http's connection handling.
func BenchmarkLookupHandler(b *testing.B) {
	s := apitest.Start(b, apitest.Options{AsServed: true})
	charge := s.Post(b, "/payment/charge", apitest.PaymentBody("4242424242424242", nil))
	body := `{"payment_id":"` + charge.String("id") + `"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/payment/lookup", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.Key)
		req.Header.Set("CARTGATEWAY-ACCOUNT-ID", s.AccountID)
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("lookup: %d %s", rec.Code, rec.Body)
		}
	}
}
