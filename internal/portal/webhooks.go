package portal

import (
	"net/http"
	"net/url"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// ---- Webhooks ----

// recentDeliveries is how many of an environment's latest deliveries the
// webhooks page lists.
const recentDeliveries = 50

type webhooksData struct {
	Endpoints  []gateway.WebhookEndpoint
	Deliveries []gateway.WebhookDelivery
	EventTypes []string
	Form       webhookForm
	// Secret is a new signing secret, shown once, of SecretFor.
	Secret    string
	SecretFor *gateway.WebhookEndpoint
	// Confirm asks before Action ("remove" or "rotate") on an endpoint.
	Confirm *gateway.WebhookEndpoint
	Action  string
}

type webhookForm struct {
	URL    string
	Events []string // empty: all
}

// Wants tells the add form which boxes to tick.
func (f webhookForm) Wants(t string) bool { return contains(f.Events, t) }

func (pt *Portal) webhooks(q *request) {
	pt.showWebhooks(q, http.StatusOK, webhooksData{}, "")
}

func (pt *Portal) showWebhooks(q *request, status int, d webhooksData, alert string) {
	all, err := pt.Service.WebhookEndpoints(q.ctx, q.p.Account.ID)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	for _, e := range all {
		if e.Environment == q.env {
			d.Endpoints = append(d.Endpoints, e)
		}
	}
	d.Deliveries, err = pt.Service.WebhookDeliveries(q.ctx, gateway.WebhookDeliveryFilter{AccountID: q.p.Account.ID,
		Environment: q.env, Limit: recentDeliveries})
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	d.EventTypes = gateway.EventTypes
	pt.show(q, status, "webhooks", "Webhooks", "webhooks", d, alert)
}

func (pt *Portal) addWebhook(q *request) {
	form := webhookForm{URL: q.r.PostForm.Get("url"), Events: q.r.PostForm["events"]}
	e, secret, err := pt.Service.AddWebhookEndpoint(q.ctx, service.NewWebhookEndpoint{AccountID: q.p.Account.ID,
		Environment: q.env, URL: form.URL, Events: form.Events})
	if err != nil {
		if gateway.ErrorKind(err) == gateway.KindInternal {
			pt.Fail(q.w, q.r, err)
			return
		}
		pt.showWebhooks(q, statusOf(err), webhooksData{Form: form}, gateway.AsError(err).Message)
		return
	}
	pt.showWebhooks(q, http.StatusOK, webhooksData{Secret: secret, SecretFor: &e}, "")
}

// findWebhook is the account's endpoint named in the path, in the page's
// environment; a 404 page otherwise.
func (pt *Portal) findWebhook(q *request) (gateway.WebhookEndpoint, bool) {
	all, err := pt.Service.WebhookEndpoints(q.ctx, q.p.Account.ID)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return gateway.WebhookEndpoint{}, false
	}
	for _, e := range all {
		if e.ID == q.r.PathValue("id") && e.Environment == q.env {
			return e, true
		}
	}
	pt.Fail(q.w, q.r, errPageNotFound)
	return gateway.WebhookEndpoint{}, false
}

// changeWebhook enables, disables, rotates the secret of, or removes an
// endpoint; the last two after a confirmation.
func (pt *Portal) changeWebhook(q *request) {
	action := q.r.PathValue("action")
	if action != "enable" && action != "disable" && action != "rotate" && action != "remove" {
		pt.Fail(q.w, q.r, errPageNotFound)
		return
	}
	e, ok := pt.findWebhook(q)
	if !ok {
		return
	}
	if (action == "rotate" || action == "remove") && q.r.PostForm.Get("confirm") != "yes" {
		pt.showWebhooks(q, http.StatusOK, webhooksData{Confirm: &e, Action: action}, "")
		return
	}
	var err error
	switch action {
	case "enable", "disable":
		err = pt.Service.SetWebhookEndpointEnabled(q.ctx, q.p.Account.ID, e.ID, action == "enable")
	case "remove":
		err = pt.Service.RemoveWebhookEndpoint(q.ctx, q.p.Account.ID, e.ID)
	case "rotate":
		var secret string
		if secret, err = pt.Service.RotateWebhookSecret(q.ctx, q.p.Account.ID, e.ID); err == nil {
			pt.showWebhooks(q, http.StatusOK, webhooksData{Secret: secret, SecretFor: &e}, "")
			return
		}
	}
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	http.Redirect(q.w, q.r, "/portal/"+string(q.env)+"/webhooks?done=webhook-"+action, http.StatusSeeOther)
}

type webhookEventData struct {
	EventID    string
	Deliveries []gateway.WebhookDelivery
	Endpoints  map[string]string // URL by endpoint id
}

// webhookEvent shows an event's deliveries, each with its attempts.
func (pt *Portal) webhookEvent(q *request) {
	id := q.r.PathValue("event")
	ds, err := pt.Service.WebhookDeliveries(q.ctx, gateway.WebhookDeliveryFilter{EventID: id, AccountID: q.p.Account.ID,
		Environment: q.env, Limit: service.MaxWebhookEndpoints})
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	if len(ds) == 0 {
		pt.Fail(q.w, q.r, errPageNotFound)
		return
	}
	all, err := pt.Service.WebhookEndpoints(q.ctx, q.p.Account.ID)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	d := webhookEventData{EventID: id, Deliveries: ds, Endpoints: map[string]string{}}
	for _, e := range all {
		d.Endpoints[e.ID] = e.URL
	}
	v := pt.view(q, "Event "+id, "webhooks")
	v.Flash = flash(q)
	v.Data = d
	render(q.w, http.StatusOK, "webhook-event", v)
}

func (pt *Portal) resendWebhookEvent(q *request) {
	id := q.r.PathValue("event")
	// The event must be of this page's environment: the service checks
	// the account, the page the environment.
	ds, err := pt.Service.WebhookDeliveries(q.ctx, gateway.WebhookDeliveryFilter{EventID: id, AccountID: q.p.Account.ID,
		Environment: q.env, Limit: 1})
	if err == nil && len(ds) == 0 {
		err = errPageNotFound
	}
	if err == nil {
		_, err = pt.Service.ResendWebhookEvent(q.ctx, q.p.Account.ID, id, q.r.PostForm.Get("endpoint"))
	}
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	http.Redirect(q.w, q.r, "/portal/"+string(q.env)+"/webhooks/events/"+url.PathEscape(id)+"?done=resent", http.StatusSeeOther)
}
