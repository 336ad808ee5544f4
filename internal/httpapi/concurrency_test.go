package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// mtResult is one answer received by a goroutine (which must not call
// t.Fatal, so it sends requests itself rather than through s.Request).
type mtResult struct {
	status int
	header http.Header
	raw    []byte
	code   string
	id     string
	err    error
}

var mtClient = &http.Client{}

// mtSend sends an SDK-style POST as the test server's account.
func mtSend(s *apitest.Server, path, body string, headers map[string]string) mtResult {
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		return mtResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "CartGateway-PHP/20221107")
	req.Header.Set("CARTGATEWAY-ACCOUNT-ID", s.AccountID)
	req.Header.Set("CARTGATEWAY-ENVIRONMENT", "sandbox")
	req.Header.Set("Authorization", "Bearer "+s.Key)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := mtClient.Do(req)
	if err != nil {
		return mtResult{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return mtResult{err: err}
	}
	r := mtResult{status: resp.StatusCode, header: resp.Header, raw: raw}
	var b struct {
		Code string `json:"code"`
		ID   string `json:"id"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		r.err = fmt.Errorf("answer is not JSON: %v: %s", err, raw)
	}
	r.code, r.id = b.Code, b.ID
	return r
}

// mtAtOnce runs n calls of fn at the same moment (after a start barrier) and
// returns their results in call order.
func mtAtOnce(t *testing.T, n int, fn func(i int) mtResult) []mtResult {
	t.Helper()
	results := make([]mtResult, n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			results[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
	}
	return results
}

func TestConcurrentRefundsNeverExceedCaptured(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	sale := mtPay(t, s, "charge", 4000)

	results := mtAtOnce(t, 12, func(int) mtResult {
		return mtSend(s, "/payment/refund", mtRefundBody(sale, 1000), nil)
	})
	ok, refused := 0, 0
	ids := map[string]bool{}
	for _, r := range results {
		switch {
		case r.status == 200:
			ok++
			ids[r.id] = true
		case r.status == 400 && r.code == "refund-exceeds-captured":
			refused++
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.raw)
		}
	}
	if ok != 4 || refused != 8 || len(ids) != 4 {
		t.Errorf("12 refunds of 1000 on 4000: %d approved (%d ids), %d refused; want 4 and 8", ok, len(ids), refused)
	}
	d := mtLookup(t, s, sale)
	mtAmounts(t, d, "captured", 4000, 4000, 4000, 0)
	if txs, _ := d["transactions"].([]any); len(txs) != 5 {
		t.Errorf("want the sale and 4 refunds, got %d transactions", len(txs))
	}
}

func TestConcurrentCapturesExactlyOneWins(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	auth := mtPay(t, s, "authorize", 5000)

	results := mtAtOnce(t, 10, func(i int) mtResult {
		return mtSend(s, "/payment/capture", mtCaptureBody(auth, int64(1000+100*i)), nil)
	})
	won := -1
	for i, r := range results {
		switch {
		case r.status == 200:
			if won >= 0 {
				t.Errorf("captures %d and %d both succeeded", won, i)
			}
			won = i
		case r.status == 400 && r.code == "already-captured":
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.raw)
		}
	}
	if won < 0 {
		t.Fatal("no capture succeeded")
	}
	amount := int64(1000 + 100*won)
	d := mtLookup(t, s, auth)
	mtAmounts(t, d, "captured", 5000, amount, 0, amount)
	if txs, _ := d["transactions"].([]any); len(txs) != 2 {
		t.Errorf("want the authorization and one capture, got %v", txs)
	}
}

// TestConcurrentMixedOperations races voids, captures and refunds (and a
// settlement) on many payments, then checks every payment against the
// money rules and against the answers the clients got.
func TestConcurrentMixedOperations(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	const payments = 8
	ids := make([]string, payments)
	authorized := make([]int64, payments)
	for i := range ids {
		authorized[i] = 3000
		if i%2 == 0 {
			ids[i] = mtPay(t, s, "authorize", authorized[i])
		} else {
			ids[i] = mtPay(t, s, "charge", authorized[i])
		}
	}

	type op struct {
		payment int
		path    string
		amount  int64
		body    string
	}
	var ops []op
	for p, id := range ids {
		ops = append(ops, op{p, "/payment/void", 0, mtIDBody(id)}, op{p, "/payment/void", 0, mtIDBody(id)})
		for _, amount := range []int64{2000, 3000, 1000} {
			ops = append(ops, op{p, "/payment/capture", amount, mtCaptureBody(id, amount)})
		}
		for _, amount := range []int64{700, 700, 700, 1500} {
			ops = append(ops, op{p, "/payment/refund", amount, mtRefundBody(id, amount)})
		}
	}
	refusals := map[string]bool{"already-captured": true, "payment-voided": true, "payment-has-refunds": true,
		"payment-not-captured": true, "refund-exceeds-captured": true, "payment-settled": true}

	var settleErr error
	results := mtAtOnce(t, len(ops)+1, func(i int) mtResult {
		if i == len(ops) {
			_, settleErr = s.Service.Settle(context.Background(), "manual:during-operations")
			return mtResult{}
		}
		o := ops[i]
		return mtSend(s, o.path, o.body, nil)
	})
	if settleErr != nil {
		t.Fatalf("settle: %v", settleErr)
	}

	type tally struct{ voids, captures, captured, refunds, refunded int }
	tallies := make([]tally, payments)
	for i, o := range ops {
		r := results[i]
		if r.status != 200 {
			if r.status != 400 || !refusals[r.code] {
				t.Errorf("%s on payment %d: unexpected answer %d %s", o.path, o.payment, r.status, r.raw)
			}
			continue
		}
		tl := &tallies[o.payment]
		switch o.path {
		case "/payment/void":
			tl.voids++
		case "/payment/capture":
			tl.captures++
			tl.captured += int(o.amount)
		case "/payment/refund":
			tl.refunds++
			tl.refunded += int(o.amount)
		}
	}

	for p, id := range ids {
		d := mtLookup(t, s, id)
		tl := tallies[p]
		status, _ := d["status"].(string)
		auth, capt, ref, refundable := mtInt(t, d, "amount_authorized"), mtInt(t, d, "amount_captured"),
			mtInt(t, d, "amount_refunded"), mtInt(t, d, "amount_refundable")
		where := fmt.Sprintf("payment %d (%s, %s): %+v", p, id, status, tl)

		if auth != authorized[p] || capt > auth || ref > capt || ref < 0 || capt < 0 {
			t.Errorf("%s: authorized %d captured %d refunded %d break the rules", where, auth, capt, ref)
		}
		if int(ref) != tl.refunded {
			t.Errorf("%s: amount_refunded %d, approved refunds sum to %d", where, ref, tl.refunded)
		}
		if tl.voids > 1 || tl.captures > 1 || (p%2 == 1 && tl.captures != 0) {
			t.Errorf("%s: too many approved voids or captures", where)
		}
		if p%2 == 0 && int(capt) != tl.captured {
			t.Errorf("%s: amount_captured %d, approved capture %d", where, capt, tl.captured)
		}
		switch status {
		case "authorized":
			if capt != 0 || ref != 0 || refundable != 0 || tl.voids != 0 {
				t.Errorf("%s: inconsistent authorization", where)
			}
		case "captured", "settled":
			if capt == 0 || refundable != capt-ref || tl.voids != 0 {
				t.Errorf("%s: inconsistent capture (refundable %d)", where, refundable)
			}
		case "voided":
			if tl.voids != 1 || ref != 0 || refundable != 0 {
				t.Errorf("%s: inconsistent void (refunded %d)", where, ref)
			}
		default:
			t.Errorf("%s: unexpected status", where)
		}
		if status != "voided" && tl.voids != 0 {
			t.Errorf("%s: a void was approved but the payment is not voided", where)
		}
		txs, _ := d["transactions"].([]any)
		want := 1 + tl.voids + tl.captures + tl.refunds
		if status == "settled" {
			want++ // its settle transaction
		}
		if len(txs) != want {
			t.Errorf("%s: %d transactions, want %d", where, len(txs), want)
		}
	}
}

// TestConcurrentIdempotentRequests: the same Idempotency-Key and body sent 10
// times at once runs once; every client gets the same answer.
func TestConcurrentIdempotentRequests(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})

	check := func(t *testing.T, results []mtResult) {
		t.Helper()
		executed := 0
		for i, r := range results {
			if r.status != results[0].status || !bytes.Equal(r.raw, results[0].raw) {
				t.Errorf("answer %d differs:\n%d %s\n%d %s", i, r.status, r.raw, results[0].status, results[0].raw)
			}
			if r.header.Get("Idempotent-Replayed") != "true" {
				executed++
			}
		}
		if executed != 1 {
			t.Errorf("%d of %d requests were executed, want 1", executed, len(results))
		}
	}

	t.Run("charge", func(t *testing.T) {
		body := apitest.PaymentBody(mtApproved, map[string]any{"amount": 2500})
		results := mtAtOnce(t, 10, func(int) mtResult {
			return mtSend(s, "/payment/charge", body, map[string]string{"Idempotency-Key": "concurrent-charge-1"})
		})
		check(t, results)
		if results[0].status != 200 || len(results[0].id) != 15 {
			t.Fatalf("charge: %d %s", results[0].status, results[0].raw)
		}
		d := mtLookup(t, s, results[0].id)
		mtAmounts(t, d, "captured", 2500, 2500, 0, 2500)
		if txs, _ := d["transactions"].([]any); len(txs) != 1 {
			t.Errorf("want one charge, got %v", txs)
		}
	})

	t.Run("declined charge", func(t *testing.T) {
		body := apitest.PaymentBody("4000000000000002", nil)
		results := mtAtOnce(t, 10, func(int) mtResult {
			return mtSend(s, "/payment/charge", body, map[string]string{"Idempotency-Key": "concurrent-decline-1"})
		})
		check(t, results)
		if results[0].status != 400 || results[0].code != "card-declined" || len(results[0].id) != 15 {
			t.Fatalf("declined charge: %d %s", results[0].status, results[0].raw)
		}
	})

	t.Run("refund", func(t *testing.T) {
		sale := mtPay(t, s, "charge", 4000)
		results := mtAtOnce(t, 10, func(int) mtResult {
			return mtSend(s, "/payment/refund", mtRefundBody(sale, 1000), map[string]string{"Idempotency-Key": "concurrent-refund-1"})
		})
		check(t, results)
		if results[0].status != 200 {
			t.Fatalf("refund: %d %s", results[0].status, results[0].raw)
		}
		mtAmounts(t, mtLookup(t, s, sale), "captured", 4000, 4000, 1000, 3000)
	})
}
