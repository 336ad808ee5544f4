package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

type auditCmd struct {
	storeFlags  `embed:""`
	Account     string    `name:"account" placeholder:"ID" help:"Only this account's entries."`
	Since       sinceTime `name:"since" placeholder:"WHEN" help:"Only entries at or after this time: an age (24h, 90m, 7d), a date (2026-12-01, UTC) or an RFC 3339 time (2026-12-01T08:00:00Z)."`
	Limit       int       `name:"limit" default:"1000" help:"At most this many entries (0: all)."`
	OldestFirst bool      `name:"oldest-first" help:"List the oldest entries first (and limit to them) instead of the newest."`
}

func (auditCmd) Help() string {
	return `Prints every state change with its time, actor (key:<key id>, cli:<user> or
system), action, account, object and request id: the newest --limit entries,
newest first, unless --oldest-first.

Examples:
  cartgateway audit
  cartgateway audit --account 7769 --since 24h
  cartgateway audit --since 2026-12-01 --oldest-first --limit 0`
}

func (c *auditCmd) Validate() error {
	if c.Limit < 0 {
		return fmt.Errorf("--limit %d: want 0 (all) or more", c.Limit)
	}
	return nil
}

func (c *auditCmd) Run(e *env) error {
	f := gateway.AuditFilter{AccountID: c.Account, Limit: c.Limit, NewestFirst: !c.OldestFirst}
	if c.Since.age > 0 {
		f.Since = time.Now().Add(-c.Since.age)
	} else {
		f.Since = c.Since.at
	}
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		entries, err := s.AuditLog(e.ctx, f)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tACTOR\tACTION\tACCOUNT\tENV\tOBJECT\tREQUEST\tDETAIL")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Actor, e.Action,
				e.AccountID, e.Environment, e.ObjectID, e.RequestID, e.Detail)
		}
		return tw.Flush()
	})
}

// sinceTime is --since: an age before now, a date or a time.
type sinceTime struct {
	text string
	age  time.Duration // > 0: this long before now
	at   time.Time
}

func (s *sinceTime) Decode(ctx *kong.DecodeContext) error {
	text, err := popText(ctx, "time")
	if err != nil {
		return err
	}
	v, err := parseSince(text)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

func (s sinceTime) String() string { return s.text }

// parseSince reads an age (Go duration, or whole days as 7d), a date
// (midnight UTC) or an RFC 3339 time.
func parseSince(text string) (sinceTime, error) {
	s := sinceTime{text: text}
	if days, ok := strings.CutSuffix(text, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			s.age = time.Duration(n) * 24 * time.Hour
			return s, nil
		}
	}
	if d, err := time.ParseDuration(text); err == nil && d > 0 {
		s.age = d
		return s, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, text); err == nil {
			s.at = t
			return s, nil
		}
	}
	return s, fmt.Errorf("%q is not a time: want an age (24h, 90m, 7d), a date (2026-12-01, UTC) or an RFC 3339 time (2026-12-01T08:00:00Z)", text)
}

// cliActor names the operator running a command, for the audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return "cli:" + name
	}
	return "cli"
}
