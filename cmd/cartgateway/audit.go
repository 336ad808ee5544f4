package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// audit prints the audit log: every state change with its actor and
// request id.
func audit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", stderr)
	var sf storeFlags
	sf.register(fs)
	account := fs.String("account", "", "only this account's entries")
	since := fs.String("since", "", "only entries at or after this time (RFC 3339, e.g. 2026-11-25T00:00:00Z)")
	limit := fs.Int("limit", 1000, "at most this many entries (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f := gateway.AuditFilter{AccountID: *account, Limit: *limit}
	if *since != "" {
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		f.Since = t
	}
	return withService(ctx, &sf, func(s *service.Service) error {
		entries, err := s.AuditLog(ctx, f)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AT\tACTOR\tACTION\tACCOUNT\tENV\tOBJECT\tREQUEST\tDETAIL")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Actor, e.Action,
				e.AccountID, e.Environment, e.ObjectID, e.RequestID, e.Detail)
		}
		return tw.Flush()
	})
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
