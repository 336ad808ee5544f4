package portal

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/money"
	"github.com/cartgateway/cartgateway/internal/service"
)

// formError is a form value the user must correct: the message is shown.
func formError(msg string) error {
	return gateway.Errorf(gateway.KindInvalid, "invalid-form-value", "%s", msg)
}

func currencyOf(code string) money.Currency {
	if c, ok := money.LookupCurrency(code); ok {
		return c
	}
	return money.Currency{Code: code, Exponent: 2}
}

// parseAmount reads an amount in major units ("12.50", "1,234", "0.5")
// as minor units of the currency, exactly (integers only): more decimals
// than the currency has, signs, exponents and anything else are refused.
func parseAmount(s, code string) (int64, error) {
	cur := currencyOf(code)
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	whole, frac, hasDot := strings.Cut(s, ".")
	bad := formError(fmt.Sprintf("Give the amount in %s, such as %s.", cur.Code, money.Format(1250*pow10(cur.Exponent)/100, cur)))
	if whole == "" && frac == "" || len(frac) > cur.Exponent || hasDot && cur.Exponent == 0 || len(whole) > 14 {
		return 0, bad
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, bad
			}
		}
	}
	frac += strings.Repeat("0", cur.Exponent-len(frac))
	n, err := strconv.ParseInt("0"+whole+frac, 10, 64)
	if err != nil || n > gateway.MaxWireAmount {
		return 0, bad
	}
	if n < 1 {
		return 0, formError("The amount must be more than zero.")
	}
	return n, nil
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// majorUnits writes minor units as a form field shows them: "12.50".
func majorUnits(amount int64, code string) string { return money.Format(amount, currencyOf(code)) }

// filterForm is the payment list's filter as the form shows it.
type filterForm struct {
	From, To, Status, Operation, Min, Max, OrderID, Email, Last4 string
	Active                                                       bool // any filter is set
}

// Statuses and Operations are the filter's choices.
func (filterForm) Statuses() []gateway.Status {
	return []gateway.Status{gateway.StatusPending, gateway.StatusAuthorized, gateway.StatusCaptured, gateway.StatusSettled,
		gateway.StatusVoided, gateway.StatusDeclined, gateway.StatusFailed}
}

func (filterForm) Operations() []gateway.Operation {
	return []gateway.Operation{gateway.OpAuthorize, gateway.OpCharge, gateway.OpCapture, gateway.OpRefund, gateway.OpVoid, gateway.OpSettle}
}

// parseFilter reads the payment list's query: dates (UTC, both days
// included), status, operation, amounts in major units, order id, email,
// card last 4, and the page's cursor.
func parseFilter(qs url.Values, currency string) (filterForm, gateway.PaymentFilter, error) {
	get := func(k string) string { return strings.TrimSpace(qs.Get(k)) }
	form := filterForm{From: get("from"), To: get("to"), Status: get("status"), Operation: get("operation"), Min: get("min"), Max: get("max"),
		OrderID: get("order_id"), Email: get("email"), Last4: get("last4")}
	var f gateway.PaymentFilter
	form.Active = form != filterForm{}
	var err error
	if form.From != "" {
		if f.From, err = time.Parse(time.DateOnly, form.From); err != nil {
			return form, f, formError("Give the first day as YYYY-MM-DD.")
		}
	}
	if form.To != "" {
		to, err := time.Parse(time.DateOnly, form.To)
		if err != nil {
			return form, f, formError("Give the last day as YYYY-MM-DD.")
		}
		f.To = to.AddDate(0, 0, 1)
	}
	if form.Status != "" {
		if !contains(form.Statuses(), gateway.Status(form.Status)) {
			return form, f, formError("Choose a status from the list.")
		}
		f.Status = gateway.Status(form.Status)
	}
	if form.Operation != "" {
		if !contains(form.Operations(), gateway.Operation(form.Operation)) {
			return form, f, formError("Choose an operation from the list.")
		}
		f.Operation = gateway.Operation(form.Operation)
	}
	if form.Min != "" {
		if f.MinAmount, err = parseAmount(form.Min, currency); err != nil {
			return form, f, err
		}
	}
	if form.Max != "" {
		if f.MaxAmount, err = parseAmount(form.Max, currency); err != nil {
			return form, f, err
		}
	}
	if form.Last4 != "" && (len(form.Last4) != 4 || strings.Trim(form.Last4, "0123456789") != "") {
		return form, f, formError("The card's last 4 are four digits.")
	}
	if len(form.OrderID) > 255 || len(form.Email) > 254 {
		return form, f, formError("The order id or email is too long.")
	}
	f.OrderID, f.Email, f.Last4 = form.OrderID, strings.ToLower(form.Email), form.Last4
	if f.Before, err = parseCursor(get("before")); err != nil {
		return form, f, err
	}
	return form, f, nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// formatCursor writes a listing's position: the last row's time and id.
func formatCursor(t time.Time, id string) string {
	return t.UTC().Format(time.RFC3339Nano) + "~" + id
}

func parseCursor(s string) (*gateway.PaymentCursor, error) {
	if s == "" {
		return nil, nil
	}
	at, id, ok := strings.Cut(s, "~")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || !gateway.ValidID(id) {
		return nil, formError("The page link is broken; start again from the first page.")
	}
	return &gateway.PaymentCursor{CreatedAt: t, ID: id}, nil
}

// ---- CSV export ----

// csvColumns is the export's header row.
var csvColumns = []string{"created_at", "payment_id", "environment", "status", "order_id", "currency",
	"amount", "captured", "refunded", "card_brand", "card_last4", "email", "first_name", "last_name",
	"avs_code", "cvv_code", "decline_code", "checkout_reference"}

// csvWriter writes payments as RFC 4180 CSV (encoding/csv quotes what
// needs it), amounts in major units with the currency in its own column.
type csvWriter struct {
	w   *csv.Writer
	row []string
}

func newCSVWriter(w io.Writer) *csvWriter {
	cw := &csvWriter{w: csv.NewWriter(w), row: make([]string, len(csvColumns))}
	cw.w.UseCRLF = true // RFC 4180's line ends, which every spreadsheet reads
	return cw
}

func (c *csvWriter) header() error { return c.w.Write(csvColumns) }

func (c *csvWriter) payment(p gateway.Payment) error {
	cur := currencyOf(p.Currency)
	amount := p.AuthorizedAmount
	if p.CapturedAmount > amount {
		amount = p.CapturedAmount
	}
	r := c.row
	r[0], r[1], r[2], r[3] = p.CreatedAt.UTC().Format(time.RFC3339), p.ID, string(p.Environment), string(p.Status)
	r[4], r[5] = safeCell(p.OrderID), cur.Code
	r[6], r[7], r[8] = money.Format(amount, cur), money.Format(p.CapturedAmount, cur), money.Format(p.RefundedAmount, cur)
	r[9], r[10], r[11] = safeCell(p.Card.Brand), p.Card.Last4, safeCell(p.Customer.Email)
	r[12], r[13] = safeCell(p.Customer.FirstName), safeCell(p.Customer.LastName)
	r[14], r[15], r[16], r[17] = safeCell(p.AVSCode), safeCell(p.CVVCode), safeCell(p.DeclineCode), safeCell(p.CheckoutReference)
	return c.w.Write(r)
}

func (c *csvWriter) flush() { c.w.Flush() }

// safeCell keeps a text cell from being read as a formula by a
// spreadsheet (CSV injection): a cell that begins with =, +, -, @, a tab
// or a carriage return gets a leading single quote, as OWASP recommends.
// Amounts are written by the gateway itself and never begin so.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ---- The dashboard's chart ----

// chart is a bar chart of daily volume, drawn on the server as SVG: no
// script, no third party, and a text alternative for screen readers.
type chart struct {
	SVG     template.HTML
	Summary string
}

func newChart(f service.EnvironmentFigures, currency string) chart {
	const width, height, left, bottom, top = 640, 200, 8, 24, 16
	days := f.Daily
	var peak int64
	var peakDay time.Time
	for _, d := range days {
		if d.Volume > peak {
			peak, peakDay = d.Volume, d.Day
		}
	}
	if peak == 0 {
		return chart{Summary: "No approved payments in the last 30 days."}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="chart-%s-title" class="chart">`, width, height, f.Environment)
	fmt.Fprintf(&b, `<title id="chart-%s-title">%s</title>`, f.Environment, template.HTMLEscapeString(envName(f.Environment)+": approved volume per day, last 30 days"))
	plot := float64(height - bottom - top)
	slot := float64(width-2*left) / float64(max(len(days), 1))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, height-bottom, width-left, height-bottom)
	for i, d := range days {
		h := 0.0
		if peak > 0 {
			h = plot * float64(d.Volume) / float64(peak) // drawing only: the figures themselves stay integers
		}
		if d.Volume > 0 && h < 1 {
			h = 1
		}
		x := float64(left) + float64(i)*slot + slot*0.15
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"><title>%s: %s</title></rect>`,
			x, float64(height-bottom)-h, slot*0.7, h, d.Day.Format("Jan 2"), template.HTMLEscapeString(formatMoney(d.Volume, currency)))
		if i%7 == 0 || i == len(days)-1 && i%7 >= 4 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="label">%s</text>`, x, height-6, d.Day.Format("Jan 2"))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="label">max %s</text>`, left, top-4, template.HTMLEscapeString(formatMoney(peak, currency)))
	b.WriteString(`</svg>`)
	summary := fmt.Sprintf("Busiest day: %s with %s.", peakDay.Format("January 2"), formatMoney(peak, currency))
	return chart{SVG: template.HTML(b.String()), Summary: summary} // built from numbers, dates and escaped text
}
