package httpapi_test

import (
	"context"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
)

// TestAuditLogRecordsAPIChanges: every state change made through the API is
// in the audit log with the key that made it and the request id it answered.
func TestAuditLogRecordsAPIChanges(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	_, keys, err := s.Service.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	actor := "key:" + keys[s.AccountID][0].ID

	auth := s.Post(t, "/payment/authorize", apitest.PaymentBody("4242424242424242", nil))
	capture := s.Post(t, "/payment/capture", `{"authorized_payment_id":"`+auth.String("id")+`","amount":2000}`)
	refund := s.Post(t, "/payment/refund", `{"payment_id":"`+auth.String("id")+`","amount":500}`)
	declined := s.Post(t, "/payment/charge", apitest.PaymentBody("4000000000000002", nil))
	refused := s.Post(t, "/payment/refund", `{"payment_id":"`+auth.String("id")+`","amount":999999}`)
	if refused.Status != 400 {
		t.Fatalf("over-refund: %d", refused.Status)
	}

	entries, err := s.Service.AuditLog(ctx, gateway.AuditFilter{AccountID: s.AccountID})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		action, requestID, object string
	}{
		{"account.created", "", s.AccountID},
		{"key.added", "", keys[s.AccountID][0].ID},
		{"payment.authorized", auth.Header.Get("X-Request-Id"), auth.String("id")},
		{"payment.captured", capture.Header.Get("X-Request-Id"), auth.String("id")},
		{"payment.refunded", refund.Header.Get("X-Request-Id"), auth.String("id")},
		{"payment.declined", declined.Header.Get("X-Request-Id"), declined.String("id")},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d audit entries, want %d (a refused request changes nothing): %+v", len(entries), len(want), entries)
	}
	for i, w := range want {
		e := entries[i]
		wantActor := actor
		if w.requestID == "" {
			wantActor = "system" // the test harness creates the account itself
		}
		if e.Action != w.action || e.RequestID != w.requestID || e.ObjectID != w.object || e.Actor != wantActor {
			t.Errorf("entry %d = %+v, want action %s, object %s, request %s, actor %s", i, e, w.action, w.object, w.requestID, wantActor)
		}
	}
}
