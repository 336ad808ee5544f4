package sandbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/sandbox"
)

// Inputs that trigger nothing.
const (
	plainZip = "10001"
	plainCVV = "123"
	// plainCard is a Luhn-valid Visa number that is not in the test-card table.
	plainCard = "4000056655665556"
)

type result struct {
	approved    bool
	declineCode string
	avs, cvv    string
}

func approved(avs, cvv string) result { return result{approved: true, avs: avs, cvv: cvv} }

func declined(code, avs, cvv string) result {
	return result{declineCode: code, avs: avs, cvv: cvv}
}

type authCase struct {
	name        string
	card        string
	zip         string
	cvv         string
	want        result
	wantProcErr bool
}

func runAuthorize(t *testing.T, tests []authCase) {
	t.Helper()
	var p sandbox.Processor // the zero value is ready to use
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := gateway.AuthorizationRequest{
				CardNumber: tc.card, CVV: tc.cvv, Zip: tc.zip,
				Amount: 1000, Currency: "USD", Address: "1 Main St",
			}
			res, err := p.Authorize(context.Background(), req)
			if tc.wantProcErr {
				if err == nil {
					t.Fatalf("Authorize(%s) = %+v; want a processor error", tc.card, res)
				}
				if !errors.Is(err, gateway.ErrProcessor) || gateway.ErrorKind(err) != gateway.KindProcessor {
					t.Fatalf("Authorize(%s) error %v (kind %v); want gateway.ErrProcessor", tc.card, err, gateway.ErrorKind(err))
				}
				if res.Approved {
					t.Errorf("a processor error approved the payment: %+v", res)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authorize(%s): unexpected error %v", tc.card, err)
			}
			got := result{res.Approved, res.DeclineCode, res.AVSCode, res.CVVCode}
			if got != tc.want {
				t.Fatalf("Authorize(card %s, zip %q, cvv %q) = %+v; want %+v", tc.card, tc.zip, tc.cvv, got, tc.want)
			}
			if res.Approved && res.Message != "" {
				t.Errorf("approved with a decline message %q", res.Message)
			}
			if !res.Approved && res.Message == "" {
				t.Errorf("declined %s without a message", res.DeclineCode)
			}
			// Every code the sandbox answers can be explained.
			if gateway.AVSMessage(res.AVSCode) == "" {
				t.Errorf("AVS code %q has no message", res.AVSCode)
			}
			if gateway.CVVMessage(res.CVVCode) == "" {
				t.Errorf("CVV code %q has no message", res.CVVCode)
			}
		})
	}
}

func TestTestCards(t *testing.T) {
	runAuthorize(t, []authCase{
		// Approved test cards.
		{name: "visa 4242", card: "4242424242424242", zip: plainZip, cvv: plainCVV, want: approved("Y", "M")},
		{name: "visa 4111", card: "4111111111111111", zip: plainZip, cvv: plainCVV, want: approved("Y", "M")},
		{name: "mastercard", card: "5555555555554444", zip: plainZip, cvv: plainCVV, want: approved("Y", "M")},
		{name: "amex", card: "378282246310005", zip: plainZip, cvv: "1234", want: approved("Y", "M")},
		{name: "discover (the SDK's card)", card: "6011111111111117", zip: plainZip, cvv: plainCVV, want: approved("Y", "M")},
		{name: "any other card", card: plainCard, zip: plainZip, cvv: plainCVV, want: approved("Y", "M")},
		{name: "no zip, no cvv", card: "4242424242424242", want: approved("Y", "M")},

		// Declines.
		{name: "generic decline", card: "4000000000000002", zip: plainZip, cvv: plainCVV, want: declined("card-declined", "Y", "M")},
		{name: "insufficient funds", card: "4000000000009995", zip: plainZip, cvv: plainCVV, want: declined("insufficient-funds", "Y", "M")},
		{name: "lost card", card: "4000000000009987", zip: plainZip, cvv: plainCVV, want: declined("lost-card", "Y", "M")},
		{name: "stolen card", card: "4000000000009979", zip: plainZip, cvv: plainCVV, want: declined("stolen-card", "Y", "M")},
		{name: "expired card", card: "4000000000000069", zip: plainZip, cvv: plainCVV, want: declined("expired-card", "Y", "M")},
		{name: "incorrect cvv", card: "4000000000000127", zip: plainZip, cvv: plainCVV, want: declined("incorrect-cvv", "Y", "N")},

		// Processor error, whatever the triggers.
		{name: "processor error", card: "4000000000000119", zip: plainZip, cvv: plainCVV, wantProcErr: true},
		{name: "processor error with triggers", card: "4000000000000119", zip: "99901", cvv: "900", wantProcErr: true},

		// Cards that force AVS or CVV results.
		{name: "cvv N card", card: "4000000000000101", zip: plainZip, cvv: plainCVV, want: approved("Y", "N")},
		{name: "avs A card", card: "4000000000000036", zip: plainZip, cvv: plainCVV, want: approved("A", "M")},
		{name: "avs N card", card: "4000000000000010", zip: plainZip, cvv: plainCVV, want: approved("N", "M")},

		// Numbers are matched exactly.
		{name: "spaced number is not a test card", card: "4000 0000 0000 0002", zip: plainZip, cvv: plainCVV, want: approved("Y", "M")},
	})
}

func TestZipTriggers(t *testing.T) {
	triggers := []struct{ zip, avs string }{
		{"99901", "A"},
		{"99902", "Z"},
		{"99903", "N"},
		{"99904", "U"},
		{"99905", "R"},
		{"99906", "S"},
		{"99907", "G"},
		{"99908", "W"},
		{"99909", "X"},
		{"99910", "E"},
	}
	var tests []authCase
	forced := map[string]bool{"Y": true} // the default
	for _, tr := range triggers {
		forced[tr.avs] = true
		tests = append(tests,
			authCase{name: tr.zip + " approved", card: "4242424242424242", zip: tr.zip, cvv: plainCVV, want: approved(tr.avs, "M")},
			authCase{name: tr.zip + " declined", card: "4000000000000002", zip: tr.zip, cvv: plainCVV, want: declined("card-declined", tr.avs, "M")},
			// A card that forces only the CVV leaves the ZIP trigger alone.
			authCase{name: tr.zip + " cvv N card", card: "4000000000000101", zip: tr.zip, cvv: plainCVV, want: approved(tr.avs, "N")},
		)
	}
	// Near misses trigger nothing.
	for _, zip := range []string{"", "99900", "99911", "9990", "999010", " 99901", "99901 ", "00000", "ABCDE"} {
		tests = append(tests, authCase{name: "no trigger " + zip, card: "4242424242424242", zip: zip, cvv: plainCVV, want: approved("Y", "M")})
	}
	runAuthorize(t, tests)

	// Each standard AVS code can be produced.
	for _, code := range []string{"Y", "X", "A", "Z", "W", "N", "U", "R", "S", "G", "E"} {
		if !forced[code] {
			t.Errorf("no ZIP trigger forces AVS %s", code)
		}
	}
}

func TestCVVTriggers(t *testing.T) {
	triggers := []struct{ cvv, code string }{
		{"900", "M"},
		{"901", "N"},
		{"902", "S"},
		{"903", "U"},
		{"904", "P"},
		// A 4-digit Amex CVV works by its numeric value.
		{"0900", "M"},
		{"0901", "N"},
		{"0902", "S"},
		{"0903", "U"},
		{"0904", "P"},
	}
	var tests []authCase
	forced := map[string]bool{}
	for _, tr := range triggers {
		forced[tr.code] = true
		tests = append(tests,
			authCase{name: tr.cvv + " visa", card: "4242424242424242", zip: plainZip, cvv: tr.cvv, want: approved("Y", tr.code)},
			authCase{name: tr.cvv + " amex", card: "378282246310005", zip: plainZip, cvv: tr.cvv, want: approved("Y", tr.code)},
			authCase{name: tr.cvv + " declined", card: "4000000000009995", zip: plainZip, cvv: tr.cvv, want: declined("insufficient-funds", "Y", tr.code)},
			// A card that forces only the AVS leaves the CVV trigger alone.
			authCase{name: tr.cvv + " avs A card", card: "4000000000000036", zip: plainZip, cvv: tr.cvv, want: approved("A", tr.code)},
		)
	}
	for _, cvv := range []string{"", "000", "123", "899", "905", "999", "9000", "9010", "1901", "abc", "90a"} {
		tests = append(tests, authCase{name: "no trigger " + cvv, card: "4242424242424242", zip: plainZip, cvv: cvv, want: approved("Y", "M")})
	}
	runAuthorize(t, tests)

	for _, code := range []string{"M", "N", "P", "S", "U"} {
		if !forced[code] {
			t.Errorf("no CVV value forces CVV %s", code)
		}
	}
}

// TestCardOverridesTriggers: a result the test-card table forces wins over the
// ZIP and CVV triggers; the triggers still set what the card leaves alone.
func TestCardOverridesTriggers(t *testing.T) {
	runAuthorize(t, []authCase{
		{name: "cvv N card beats cvv 900", card: "4000000000000101", zip: plainZip, cvv: "900", want: approved("Y", "N")},
		{name: "cvv N card beats cvv 902", card: "4000000000000101", zip: plainZip, cvv: "902", want: approved("Y", "N")},
		{name: "cvv N card keeps zip trigger", card: "4000000000000101", zip: "99902", cvv: "904", want: approved("Z", "N")},
		{name: "avs A card beats zip 99903", card: "4000000000000036", zip: "99903", cvv: plainCVV, want: approved("A", "M")},
		{name: "avs A card keeps cvv trigger", card: "4000000000000036", zip: "99909", cvv: "903", want: approved("A", "U")},
		{name: "avs N card beats zip 99901", card: "4000000000000010", zip: "99901", cvv: plainCVV, want: approved("N", "M")},
		{name: "avs N card keeps cvv trigger", card: "4000000000000010", zip: "99901", cvv: "0904", want: approved("N", "P")},
		{name: "incorrect cvv card beats cvv 900", card: "4000000000000127", zip: plainZip, cvv: "900", want: declined("incorrect-cvv", "Y", "N")},
		{name: "incorrect cvv card keeps zip trigger", card: "4000000000000127", zip: "99904", cvv: "0900", want: declined("incorrect-cvv", "U", "N")},
		{name: "generic decline keeps both triggers", card: "4000000000000002", zip: "99904", cvv: "904", want: declined("card-declined", "U", "P")},
		{name: "approved card keeps both triggers", card: "6011111111111117", zip: "99908", cvv: "902", want: approved("W", "S")},
	})
}

func TestAuthorizeIsDeterministic(t *testing.T) {
	var p sandbox.Processor
	req := gateway.AuthorizationRequest{CardNumber: "4000000000000036", Zip: "99902", CVV: "903", Amount: 500, Currency: "EUR"}
	first, err := p.Authorize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		got, err := p.Authorize(context.Background(), req)
		if err != nil || got != first {
			t.Fatalf("Authorize answered %+v, %v after %+v", got, err, first)
		}
	}
}

func TestFollowUpOperationsSucceed(t *testing.T) {
	var p sandbox.Processor
	ctx := context.Background()
	pay := gateway.Payment{ID: "ABCDEFGHIJKLMNO", Status: gateway.StatusCaptured, AuthorizedAmount: 1000, CapturedAmount: 1000,
		Card: gateway.CardSummary{BIN: "424242", Last4: "4242"}}
	for _, op := range []gateway.Operation{gateway.OpCapture, gateway.OpRefund, gateway.OpVoid} {
		req := gateway.ChangeRequest{Reference: "TX0000000000001", Operation: op, Payment: pay, Amount: 1000}
		var err error
		switch op {
		case gateway.OpCapture:
			err = p.Capture(ctx, req)
		case gateway.OpRefund:
			err = p.Refund(ctx, req)
		default:
			err = p.Void(ctx, req)
		}
		if err != nil {
			t.Errorf("%s: %v", op, err)
		}
		if ok, err := p.InstantChange(req); !ok || err != nil {
			t.Errorf("InstantChange(%s) = %v, %v; want an instant approval", op, ok, err)
		}
	}
}

// TestInstantAnswersAreAuthorize: the instant answer of every card is what
// Authorize answers, so that the service's one-transaction path records the
// same as its two-phase path would.
func TestInstantAnswersAreAuthorize(t *testing.T) {
	var p sandbox.Processor
	numbers := []string{plainCard, "4000000000000002", "4000000000009995", "4000000000009987", "4000000000009979",
		"4000000000000069", "4000000000000127", "4000000000000119", "4000000000000101", "4000000000000036", "4000000000000010"}
	for _, n := range numbers {
		for _, zip := range []string{plainZip, "99901", "99910"} {
			for _, cvv := range []string{plainCVV, "901", "0904"} {
				req := gateway.AuthorizationRequest{Reference: "TX0000000000001", CardNumber: n, Zip: zip, CVV: cvv, Amount: 1000, Currency: "USD"}
				want, wantErr := p.Authorize(context.Background(), req)
				got, ok, err := p.InstantAuthorize(req)
				if !ok || got != want || !errors.Is(err, wantErr) && err != wantErr {
					t.Errorf("card %s zip %s cvv %s: instant %+v, %v, %v; Authorize %+v, %v", n, zip, cvv, got, ok, err, want, wantErr)
				}
			}
		}
	}
}

func TestSlowCard(t *testing.T) {
	p := sandbox.Processor{SlowDelay: 30 * time.Millisecond}
	req := gateway.AuthorizationRequest{Reference: "TX0000000000001", CardNumber: sandbox.SlowCard, Zip: "99902", CVV: plainCVV, Amount: 1000}
	if _, ok, _ := p.InstantAuthorize(req); ok {
		t.Fatal("the slow card was answered at once")
	}
	start := time.Now()
	res, err := p.Authorize(context.Background(), req)
	if err != nil || !res.Approved || res.AVSCode != "Z" {
		t.Fatalf("Authorize(slow card) = %+v, %v; want approved with AVS Z", res, err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answered after %v; want the delay", d)
	}
	// A caller that gives up hears so; the outcome is then unknown to it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := p.Authorize(ctx, req); err == nil || gateway.IsDefiniteFailure(err) {
		t.Errorf("Authorize after the caller's deadline: %v; want an error that is not a definite failure", err)
	}
	// Every operation of a payment made with it is slow too.
	pay := gateway.Payment{Status: gateway.StatusAuthorized, AuthorizedAmount: 1000,
		Card: gateway.CardSummary{BIN: "400000", Last4: "0770"}, Customer: gateway.Customer{Zip: "99902"}}
	change := gateway.ChangeRequest{Reference: "TX0000000000002", Operation: gateway.OpCapture, Payment: pay, Amount: 1000}
	if ok, _ := p.InstantChange(change); ok {
		t.Error("a capture of a slow-card payment was answered at once")
	}
	start = time.Now()
	if err := p.Capture(context.Background(), change); err != nil || time.Since(start) < 30*time.Millisecond {
		t.Errorf("Capture(slow card) = %v after %v; want success after the delay", err, time.Since(start))
	}
	// Resolve answers what Authorize would have (CVV aside, which is not stored).
	auth := gateway.Transaction{ID: "TX0000000000001", Operation: gateway.OpCharge}
	r, err := p.Resolve(context.Background(), gateway.ResolveRequest{Payment: pay, Transaction: auth})
	if err != nil || !r.Received || !r.Authorization.Approved || r.Authorization.AVSCode != "Z" {
		t.Errorf("Resolve(slow charge) = %+v, %v; want received, approved, AVS Z", r, err)
	}
	other := pay
	other.Card = gateway.CardSummary{BIN: "424242", Last4: "4242"}
	if r, err := p.Resolve(context.Background(), gateway.ResolveRequest{Payment: other, Transaction: auth}); err != nil || r.Received {
		t.Errorf("Resolve(instant card) = %+v, %v; want not received (only the slow card is ever pending)", r, err)
	}
	capture := gateway.Transaction{ID: "TX0000000000002", Operation: gateway.OpCapture}
	if r, err := p.Resolve(context.Background(), gateway.ResolveRequest{Payment: pay, Transaction: capture}); err != nil || !r.Received {
		t.Errorf("Resolve(capture) = %+v, %v; want received", r, err)
	}
}
