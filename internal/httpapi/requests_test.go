package httpapi

import "testing"

func TestOnlyPlainMember(t *testing.T) {
	tests := []struct {
		body string
		want string
		ok   bool
	}{
		{`{"payment_id":"AMB8PUM9HPLZ7NJ"}`, "AMB8PUM9HPLZ7NJ", true},
		{`{"payment_id":""}`, "", false},
		{`{"payment_id": "AMB8PUM9HPLZ7NJ"}`, "", false}, // the general decoder takes it
		{`{"payment_id":"a b"}`, "", false},
		{`{"payment_id":"a\"b"}`, "", false},
		{`{"payment_id":"é"}`, "", false},
		{`{"payment_id":123}`, "", false},
		{`{"payment":"x"}`, "", false},
		{`{"payment_id":"x","amount":1}`, "", false},
	}
	for _, tc := range tests {
		got, ok := onlyPlainMember([]byte(tc.body), "payment_id")
		if got != tc.want || ok != tc.ok {
			t.Errorf("onlyPlainMember(%s) = %q, %v; want %q, %v", tc.body, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzOnlyPlainMember: whatever the shortcut accepts, the general decoder
// reads as the same id.
func FuzzOnlyPlainMember(f *testing.F) {
	f.Add([]byte(`{"payment_id":"AMB8PUM9HPLZ7NJ"}`))
	f.Add([]byte(`{"payment_id":"a}"}`))
	f.Add([]byte(`{"payment_id":"x","payment_id":"y"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		id, ok := onlyPlainMember(body, "payment_id")
		if !ok {
			return
		}
		general, _, err := decodeChangeFields(body, "payment_id", false)
		if err != nil || general != id {
			t.Fatalf("shortcut read %q from %q; the decoder read %q (err %v)", id, body, general, err)
		}
	})
}
