package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

type webhooksCmd struct {
	Add          webhooksAddCmd        `cmd:"" help:"Add a webhook endpoint to an account; prints its signing secret once."`
	List         webhooksListCmd       `cmd:"" help:"List webhook endpoints."`
	Remove       webhooksRemoveCmd     `cmd:"" help:"Remove a webhook endpoint and its deliveries."`
	RotateSecret webhooksRotateCmd     `cmd:"" name:"rotate-secret" help:"Give an endpoint a new signing secret; the old one signs too for 24 hours."`
	Disable      webhooksEnableCmd     `cmd:"" help:"Stop sending events to an endpoint (and queueing them for it)."`
	Enable       webhooksEnableCmd     `cmd:"" help:"Send events to an endpoint again."`
	Deliveries   webhooksDeliveriesCmd `cmd:"" help:"List an account's latest deliveries, or an event's."`
	Resend       webhooksResendCmd     `cmd:"" help:"Send an event again, whatever became of it."`
}

func (webhooksCmd) Help() string {
	return `Events of every change of a payment are POSTed, signed, to an account's
endpoints (docs/webhooks.md); a running "serve" delivers them.

Examples:
  cartgateway webhooks add --account 7769 --url https://shop.example/webhooks
  cartgateway webhooks add --account 7769 --url http://localhost:8000/hooks --events payment.captured,payment.refunded
  cartgateway webhooks list --account 7769
  cartgateway webhooks rotate-secret --account 7769 --endpoint we_...
  cartgateway webhooks deliveries --account 7769 --status failed
  cartgateway webhooks resend --account 7769 evt_...
  cartgateway webhooks remove --account 7769 --endpoint we_...`
}

type webhooksAddCmd struct {
	storeFlags  `embed:""`
	Account     string   `name:"account" required:"" placeholder:"ID" help:"Account id."`
	URL         string   `name:"url" required:"" help:"Where events are POSTed: https, or http to localhost for development."`
	Environment string   `name:"environment" default:"sandbox" enum:"sandbox,live" help:"The events of which environment: sandbox or live."`
	Events      []string `name:"events" placeholder:"TYPE,..." help:"Event types to send (comma-separated); all when not given."`
	Disabled    bool     `name:"disabled" help:"Add it turned off (webhooks enable turns it on)."`
}

func (webhooksAddCmd) Help() string {
	return `Prints the endpoint's id and its signing secret, once: the receiver verifies
each event's CartGateway-Signature with it (docs/webhooks.md). A live endpoint
may not point at a private, loopback or link-local address unless serve runs
with --webhook-allow-private.

Event types: ` + strings.Join(gateway.EventTypes, ", ") + `.

Examples:
  cartgateway webhooks add --account 7769 --url https://shop.example/webhooks --environment live
  cartgateway webhooks add --account 7769 --url http://localhost:8000/hooks --events payment.captured,payment.refunded`
}

func (c *webhooksAddCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		ep, secret, err := s.AddWebhookEndpoint(e.ctx, service.NewWebhookEndpoint{AccountID: c.Account, Environment: gateway.Environment(c.Environment),
			URL: c.URL, Events: c.Events, Disabled: c.Disabled})
		if err != nil {
			return accountError(err, c.Account)
		}
		fmt.Fprintf(e.stdout, "endpoint_id: %s\nurl: %s\nenvironment: %s\nevents: %s\nenabled: %v\nsigning_secret: %s\n",
			ep.ID, ep.URL, ep.Environment, eventsText(ep.Events), ep.Enabled, secret)
		return nil
	})
}

func eventsText(events []string) string {
	if len(events) == 0 {
		return "all"
	}
	return strings.Join(events, ",")
}

type webhooksListCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" placeholder:"ID" help:"Account id; every account's when not given."`
}

func (webhooksListCmd) Help() string {
	return `Lists endpoints with their events and state; never their secrets.

Examples:
  cartgateway webhooks list
  cartgateway webhooks list --account 7769`
}

func (c *webhooksListCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		list, err := s.WebhookEndpoints(e.ctx, c.Account)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENDPOINT\tACCOUNT\tENVIRONMENT\tURL\tEVENTS\tSTATE\tSECRET")
		for _, ep := range list {
			state := "enabled"
			if !ep.Enabled {
				state = "disabled"
			}
			secret := "one"
			if !ep.PreviousUntil.IsZero() && time.Now().Before(ep.PreviousUntil) {
				secret = "two until " + ep.PreviousUntil.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ep.ID, ep.AccountID, ep.Environment, ep.URL, eventsText(ep.Events), state, secret)
		}
		return tw.Flush()
	})
}

type webhooksRemoveCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	Endpoint   string `name:"endpoint" required:"" placeholder:"ENDPOINT-ID" help:"Endpoint id, as webhooks list shows it."`
}

func (webhooksRemoveCmd) Help() string {
	return `Example:
  cartgateway webhooks remove --account 7769 --endpoint we_...`
}

func (c *webhooksRemoveCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		if err := s.RemoveWebhookEndpoint(e.ctx, c.Account, c.Endpoint); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed webhook endpoint %s of account %s\n", c.Endpoint, c.Account)
		return nil
	})
}

type webhooksRotateCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	Endpoint   string `name:"endpoint" required:"" placeholder:"ENDPOINT-ID" help:"Endpoint id, as webhooks list shows it."`
}

func (webhooksRotateCmd) Help() string {
	return `Example:
  cartgateway webhooks rotate-secret --account 7769 --endpoint we_...`
}

func (c *webhooksRotateCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		secret, err := s.RotateWebhookSecret(e.ctx, c.Account, c.Endpoint)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "signing_secret: %s\nthe previous secret signs too for %s\n", secret, shortDuration(service.WebhookRotationOverlap))
		return nil
	})
}

// webhooksEnableCmd is both enable and disable: kong's path says which.
type webhooksEnableCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	Endpoint   string `name:"endpoint" required:"" placeholder:"ENDPOINT-ID" help:"Endpoint id, as webhooks list shows it."`
}

func (webhooksEnableCmd) Help() string {
	return `Example:
  cartgateway webhooks disable --account 7769 --endpoint we_...
  cartgateway webhooks enable --account 7769 --endpoint we_...`
}

func (c *webhooksEnableCmd) Run(e *env, kctx *kong.Context) error {
	enable := strings.HasPrefix(kctx.Command(), "webhooks enable")
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		if err := s.SetWebhookEndpointEnabled(e.ctx, c.Account, c.Endpoint, enable); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "webhook endpoint %s: enabled %v\n", c.Endpoint, enable)
		return nil
	})
}

type webhooksDeliveriesCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	Event      string `name:"event" placeholder:"EVENT-ID" help:"Only this event's deliveries."`
	Status     string `name:"status" enum:",pending,delivered,failed" default:"" help:"Only deliveries in this state: pending, delivered or failed."`
	Limit      count  `name:"limit" default:"50" help:"The most deliveries listed, newest first (at most 500)."`
}

func (webhooksDeliveriesCmd) Help() string {
	return `Example:
  cartgateway webhooks deliveries --account 7769 --status failed
  cartgateway webhooks deliveries --account 7769 --event evt_...`
}

func (c *webhooksDeliveriesCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		list, err := s.WebhookDeliveries(e.ctx, gateway.WebhookDeliveryFilter{AccountID: c.Account, EventID: c.Event,
			Status: gateway.DeliveryStatus(c.Status), Limit: min(int(c.Limit), gateway.MaxPaymentPage)})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EVENT\tTYPE\tENDPOINT\tSTATUS\tATTEMPTS\tLAST ATTEMPT\tNEXT ATTEMPT")
		for _, d := range list {
			last, next := "-", "-"
			if n := len(d.Attempts); n > 0 {
				a := d.Attempts[n-1]
				last = fmt.Sprintf("%s %d %dms %s", a.At.UTC().Format(time.RFC3339), a.Status, a.Latency, a.Error)
			}
			if d.Status == gateway.DeliveryPending {
				next = d.NextAttemptAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.EventID, d.EventType, d.EndpointID, d.Status, len(d.Attempts), strings.TrimSpace(last), next)
		}
		return tw.Flush()
	})
}

type webhooksResendCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	EventID    string `arg:"" name:"event-id" help:"The event's id (evt_...), as webhooks deliveries shows it."`
	Endpoint   string `name:"endpoint" placeholder:"ENDPOINT-ID" help:"Only to this endpoint; to every endpoint that had it when not given."`
}

func (webhooksResendCmd) Help() string {
	return `Example:
  cartgateway webhooks resend --account 7769 evt_...
  cartgateway webhooks resend --account 7769 evt_... --endpoint we_...`
}

func (c *webhooksResendCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		n, err := s.ResendWebhookEvent(e.ctx, c.Account, c.EventID, c.Endpoint)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "event %s queued again for %d endpoint(s); a running serve sends it\n", c.EventID, n)
		return nil
	})
}
