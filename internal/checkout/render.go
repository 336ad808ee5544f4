package checkout

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/cartgateway/cartgateway/internal/country"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/money"
	"github.com/cartgateway/cartgateway/internal/service"
)

//go:embed assets
var assets embed.FS

var (
	pageCSS = mustAsset("assets/checkout.css")
	pageJS  = mustAsset("assets/checkout.js")
	// The page's style and script are inline, allowed by their hashes
	// in the Content-Security-Policy: no other request per page, and no
	// inline code an attacker could add would match.
	cssHash = cspHash(pageCSS)
	jsHash  = cspHash(pageJS)

	templates = template.Must(template.New("").ParseFS(assets, "assets/page.html"))
	// countryOptions is the country list's <option>s, written once: as
	// template data, its 249 entries were most of a page's rendering time.
	countryOptions = func() string {
		var b strings.Builder
		for _, c := range country.All() {
			b.WriteString(`<option value="` + c.Code + `">` + template.HTMLEscapeString(c.Name) + "</option>\n")
		}
		return b.String()
	}()
)

// countries is the country list's options with code selected, if it is
// one of them.
func countries(code string) template.HTML {
	opt := `<option value="` + code + `">`
	if code == "" || !strings.Contains(countryOptions, opt) {
		return template.HTML(countryOptions) // the options are our own text: safe
	}
	return template.HTML(strings.Replace(countryOptions, opt, `<option value="`+code+`" selected>`, 1))
}

func mustAsset(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}

func cspHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// page is what every template of the page gets.
type page struct {
	Title    string
	Merchant string
	Sandbox  bool
	Refresh  string // seconds, for a page that reloads itself
	CSS      template.CSS
	JS       template.JS

	// The form.
	Action, CancelURL, Reference   string
	Lines                          []line
	Subtotal, Tax, Shipping, Total string
	Alert                          string
	Form                           billing
	// Errors are the form's field errors by input name, and Invalid the
	// attributes that mark those inputs (nil without errors).
	Errors                     map[string]string
	Invalid                    map[string]template.HTMLAttr
	Countries                  template.HTML
	imageOrigins               []string
	formTarget                 string // origin a form POST may be redirected to
	Heading, LinkURL, LinkText string
	Paragraphs                 []string
	OK                         bool
}

type line struct {
	Name, ImageURL, Unit, Amount string
	Quantity                     int64
}

// billing is what the form sends back when it is shown again: never a card
// number, expiry or CVV.
type billing struct {
	Email, CardholderName, FirstName, LastName, Address, Zip, Country string
}

// symbols are the currency signs customers expect in front of an amount;
// other currencies show their code after it.
var symbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "CHF": "CHF "}

// formatMoney writes minor units as a customer reads them: "$1,234.56",
// "1,234.560 BHD". Integers only (money.Format).
func formatMoney(amount int64, code string) string {
	cur, ok := money.LookupCurrency(code)
	if !ok {
		cur = money.Currency{Code: code, Exponent: 2}
	}
	s := money.Format(amount, cur)
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	if sym, ok := symbols[cur.Code]; ok {
		return sym + out
	}
	return out + " " + cur.Code
}

// newPage fills in what every page of a session shows.
func newPage(v service.CheckoutView) *page {
	cs := v.Session
	p := &page{Title: "Checkout", Merchant: v.MerchantName, Sandbox: cs.Environment == gateway.Sandbox,
		CSS: template.CSS(pageCSS), JS: template.JS(pageJS)}
	if cs.ID == "" {
		return p
	}
	p.Title = "Pay " + v.MerchantName
	p.Reference, p.CancelURL = cs.Reference, cs.CancelURL
	var subtotal int64
	for _, l := range cs.Lines {
		p.Lines = append(p.Lines, line{Name: l.Name, ImageURL: l.ImageURL, Quantity: l.Quantity,
			Unit: formatMoney(l.UnitAmount, cs.Currency), Amount: formatMoney(l.Total(), cs.Currency)})
		subtotal += l.Total()
		if l.ImageURL != "" {
			if o := origin(l.ImageURL); o != "" && !slices.Contains(p.imageOrigins, o) {
				p.imageOrigins = append(p.imageOrigins, o)
			}
		}
	}
	p.Subtotal, p.Total = formatMoney(subtotal, cs.Currency), formatMoney(cs.Amount, cs.Currency)
	if cs.TaxAmount > 0 {
		p.Tax = formatMoney(cs.TaxAmount, cs.Currency)
	}
	if cs.ShippingAmount > 0 {
		p.Shipping = formatMoney(cs.ShippingAmount, cs.Currency)
	}
	p.formTarget = origin(cs.SuccessURL)
	return p
}

// origin is the scheme://host[:port] of an absolute URL ("" if none).
func origin(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + u.Host
}

// csp is the page's Content-Security-Policy: nothing but its own hashed
// style and script, the product images' origins, a form that posts to the
// page itself and may be redirected to the merchant's success URL (Chromium
// applies form-action to the redirects of a form's submission too), and
// never inside a frame.
func (p *page) csp() string {
	var b strings.Builder
	b.WriteString("default-src 'none'; style-src ")
	b.WriteString(cssHash)
	b.WriteString("; script-src ")
	b.WriteString(jsHash)
	if len(p.imageOrigins) > 0 {
		b.WriteString("; img-src")
		for _, o := range p.imageOrigins {
			b.WriteString(" " + o)
		}
	}
	b.WriteString("; form-action 'self'")
	if p.formTarget != "" {
		b.WriteString(" " + p.formTarget)
	}
	b.WriteString("; frame-ancestors 'none'; base-uri 'none'")
	return b.String()
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fieldError marks input name as wrong, with msg next to it.
func (p *page) fieldError(name, msg string) {
	p.Errors = map[string]string{name: msg}
	// name is one of formFields: plain text, safe in an attribute.
	p.Invalid = map[string]template.HTMLAttr{name: template.HTMLAttr(`aria-invalid="true" aria-describedby="` + name + `-error"`)}
}

// render writes a template of the page with its headers.
func render(w http.ResponseWriter, status int, name string, p *page) {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		buffers.Put(buf)
	}()
	if err := templates.ExecuteTemplate(buf, name, p); err != nil {
		// The templates are fixed and tested: this is a bug.
		panic(err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", p.csp())
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
