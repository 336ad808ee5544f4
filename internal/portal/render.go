package portal

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/money"
	"github.com/cartgateway/cartgateway/internal/service"
)

//go:embed assets
var assets embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"money":    formatMoney,
	"datetime": func(t time.Time) string { return formatTime(t) },
	"date":     func(t time.Time) string { return t.UTC().Format("Jan 2") },
	"rate": func(f service.Figures) string {
		tenths, ok := f.ApprovalRate()
		if !ok {
			return "–"
		}
		return strconv.FormatInt(tenths/10, 10) + "." + strconv.FormatInt(tenths%10, 10) + " %"
	},
	"envName": envName,
	// deliveryClass colours a webhook delivery's status.
	"deliveryClass": func(s gateway.DeliveryStatus) string {
		switch s {
		case gateway.DeliveryDelivered:
			return "captured"
		case gateway.DeliveryFailed:
			return "failed"
		}
		return "pending"
	},
	"lastAttempt": func(d gateway.WebhookDelivery) *gateway.WebhookAttempt {
		if len(d.Attempts) == 0 {
			return nil
		}
		return &d.Attempts[len(d.Attempts)-1]
	},
	"envs":     func() []gateway.Environment { return []gateway.Environment{gateway.Sandbox, gateway.Live} },
	"amountOf": amountOf,
	"major":    majorUnits,
	"figs": func(label string, f service.Figures, currency string) figuresView {
		return figuresView{Label: label, F: f, Currency: currency}
	},
}).ParseFS(assets, "assets/*.html"))

// csp is every portal page's Content-Security-Policy: its own stylesheet
// and script only (no inline code, nothing from another site), images
// from itself and data: (the TOTP QR code), forms to itself, never in a
// frame.
const csp = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// view is what every template gets: the page's title and chrome, and its
// own data.
type view struct {
	Title   string
	Message string // of the message page
	Alert   string // an error to show at the top of the page
	Flash   string // a confirmation to show at the top of the page

	// The chrome of a signed-in page.
	SignedIn bool
	User     gateway.User
	Account  gateway.Account
	CSRF     string
	Nav      string              // the section this page is in
	Env      gateway.Environment // the data's environment, "" for pages of none
	NavEnv   gateway.Environment // the environment the navigation's links show
	// EnvSwitch is the same section in the other environment.
	EnvSwitch string
	Can       map[string]bool // the role's permissions, by name

	Data any
}

// figuresView is one box of dashboard figures.
type figuresView struct {
	Label    string
	F        service.Figures
	Currency string
}

// amountOf is a payment's amount as listings show it: what was asked for,
// or what was captured.
func amountOf(p gateway.Payment) int64 { return max(p.AuthorizedAmount, p.CapturedAmount) }

// envName is how an environment is named on screen.
func envName(env gateway.Environment) string {
	if env == gateway.Live {
		return "Live"
	}
	return "Sandbox"
}

// symbols are the currency signs people expect before an amount; other
// currencies show their code after it.
var symbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}

// formatMoney writes minor units in major units with the currency:
// "$1,234.56", "1,234.560 BHD" (integers only: money.Format).
func formatMoney(amount int64, code string) string {
	cur, ok := money.LookupCurrency(code)
	if !ok {
		cur = money.Currency{Code: code, Exponent: 2}
	}
	s := money.Format(amount, cur)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	sym, hasSym := symbols[cur.Code]
	b.WriteString(sym)
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	if !hasSym {
		b.WriteString(" " + cur.Code)
	}
	return b.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a template with the portal's headers.
func render(w http.ResponseWriter, status int, name string, v *view) {
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		buffers.Put(buf)
	}()
	if err := templates.ExecuteTemplate(buf, name, v); err != nil {
		panic(err) // the templates are fixed and tested: a bug
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// view is the chrome of a signed-in page in section nav.
func (pt *Portal) view(q *request, title, nav string) *view {
	v := &view{Title: title, SignedIn: q.p.Session.Stage == gateway.StageSignedIn, User: q.p.User, Account: q.p.Account,
		CSRF: pt.Service.CSRFToken(q.p), Nav: nav, Env: q.env, NavEnv: q.env, Can: map[string]bool{}}
	if v.NavEnv == "" {
		// Live when the account takes live payments, else sandbox.
		v.NavEnv = gateway.Sandbox
		if pt.Service.Processors[gateway.Live] != nil {
			v.NavEnv = gateway.Live
		} else if _, err := pt.Service.ProcessorConfig(q.ctx, q.p.Account.ID); err == nil {
			v.NavEnv = gateway.Live
		}
	}
	if q.env != "" {
		other := gateway.Live
		if q.env == gateway.Live {
			other = gateway.Sandbox
		}
		v.EnvSwitch = "/portal/" + string(other) + "/" + nav
	}
	for _, p := range []gateway.Permission{gateway.PermOperate, gateway.PermManageProducts, gateway.PermManageKeys,
		gateway.PermManageUsers, gateway.PermManageSettings, gateway.PermViewAudit, gateway.PermManageWebhooks} {
		v.Can[strings.ReplaceAll(string(p), ".", "_")] = q.p.User.Role.Allows(p)
	}
	return v
}

// show renders the page name, titled title, in section nav, with the
// confirmation of the action that led to it and alert, an error to show
// at its top ("" for none).
func (pt *Portal) show(q *request, status int, name, title, nav string, data any, alert string) {
	v := pt.view(q, title, nav)
	v.Flash, v.Alert = flash(q), alert
	v.Data = data
	render(q.w, status, name, v)
}

// asset serves the portal's stylesheet and script.
func (pt *Portal) asset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/portal/assets/")
	types := map[string]string{"portal.css": "text/css; charset=utf-8", "portal.js": "text/javascript; charset=utf-8"}
	ct, ok := types[name]
	if !ok {
		pt.Fail(w, r, errPageNotFound)
		return
	}
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		pt.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}
