package checkout

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// BenchmarkRenderForm measures the payment form of a two-line order, the
// page every customer gets.
func BenchmarkRenderForm(b *testing.B) {
	v := service.CheckoutView{MerchantName: "Shop", Session: gateway.CheckoutSession{ID: "X", Environment: gateway.Sandbox, Currency: "USD",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cart", Amount: 3309, TaxAmount: 250, ShippingAmount: 59,
		Lines:     []gateway.CheckoutLine{{Name: "My Product", UnitAmount: 1000, Quantity: 1}, {Name: "My Product", UnitAmount: 1000, Quantity: 2}},
		ExpiresAt: time.Now().Add(time.Hour)}}
	pg := &Page{}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		p := pg.form(v, "tok")
		p.Countries = countries("")
		render(w, 200, "form", p)
		if b.N == 1 {
			b.Logf("%d bytes", w.Body.Len())
		}
	}
}
