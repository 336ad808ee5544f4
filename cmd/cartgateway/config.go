package main

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cartgateway/cartgateway/internal/limit"
)

// Flag value types. Each parses its text strictly, from the command line and
// from its environment variable alike (kong parses both through Decode), and
// names the accepted form when it refuses; kong prefixes the flag and, for a
// variable, appends its name and value.

// rate is a number of events per second (or minute) at or above 0, where 0
// turns the limit off.
type rate float64

func (r *rate) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "rate")
	if err != nil {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return fmt.Errorf("%q is not a rate: want a number of at least 0, e.g. 1000 (0 turns the limit off)", s)
	}
	*r = rate(v)
	return nil
}

func (r rate) String() string { return strconv.FormatFloat(float64(r), 'f', -1, 64) }

// span is a duration at or above 0 in Go's notation (10m, 30s, 1h30m).
type span time.Duration

func (d *span) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "duration")
	if err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration: want a number with a unit, e.g. 10m, 30s, 1h30m or 0", s)
	}
	*d = span(v)
	return nil
}

func (d span) String() string { return time.Duration(d).String() }

// count is a whole number of at least 1.
type count int

func (n *count) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "number")
	if err != nil {
		return err
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return fmt.Errorf("%q is not a count: want a whole number of at least 1, e.g. 20", s)
	}
	*n = count(v)
	return nil
}

func (n count) String() string { return strconv.Itoa(int(n)) }

// hostPort is a listen address, HOST:PORT.
type hostPort string

func (a *hostPort) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "address")
	if err != nil {
		return err
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return fmt.Errorf("%q is not an address: want HOST:PORT, e.g. 127.0.0.1:8080 or :8080", s)
	}
	*a = hostPort(s)
	return nil
}

func (a hostPort) String() string { return string(a) }

// loopbackAddr is a HOST:PORT on a loopback address, or empty (off).
type loopbackAddr string

func (a *loopbackAddr) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "address")
	if err != nil {
		return err
	}
	if s != "" {
		host, _, err := net.SplitHostPort(s)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%q: want a loopback HOST:PORT such as 127.0.0.1:6060 (profiles reveal memory contents), or empty for off", s)
		}
	}
	*a = loopbackAddr(s)
	return nil
}

func (a loopbackAddr) String() string { return string(a) }

// cutoff is the daily settlement time, HH:MM in UTC, or "off".
type cutoff struct {
	text string
	at   time.Duration // after midnight UTC; -1 for off
}

func (c *cutoff) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "time")
	if err != nil {
		return err
	}
	at, err := parseCutoff(s)
	if err != nil {
		return err
	}
	*c = cutoff{text: s, at: at}
	return nil
}

func (c cutoff) String() string { return c.text }

// parseCutoff reads HH:MM (UTC) as a duration after midnight; -1 for "off".
func parseCutoff(s string) (time.Duration, error) {
	if strings.EqualFold(s, "off") {
		return -1, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day: want HH:MM in UTC, e.g. 00:00 or 18:30, or off", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// proxies is a comma-separated list of trusted reverse proxies.
type proxies struct {
	text string
	list limit.Proxies
}

func (p *proxies) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "list")
	if err != nil {
		return err
	}
	list, err := limit.ParseProxies(s)
	if err != nil {
		return fmt.Errorf("%w (want comma-separated CIDRs or addresses, e.g. 127.0.0.1/32,10.0.0.5)", err)
	}
	*p = proxies{text: s, list: list}
	return nil
}

func (p proxies) String() string { return p.list.String() }

// publicURL is the absolute http(s) URL under which customers reach the
// server, without query or fragment; empty for none.
type publicURL string

func (p *publicURL) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "url")
	if err != nil {
		return err
	}
	if s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") {
			return fmt.Errorf("%q is not a public URL: want http(s)://HOST[:PORT][/PREFIX] without query or fragment, e.g. https://pay.example.com", s)
		}
	}
	*p = publicURL(strings.TrimRight(s, "/"))
	return nil
}

func (p publicURL) String() string { return string(p) }

// logLevel is one of slog's four levels, by its lower-case name.
type logLevel struct {
	text  string
	level slog.Level
}

func (l *logLevel) Decode(ctx *kong.DecodeContext) error {
	s, err := popText(ctx, "level")
	if err != nil {
		return err
	}
	levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	level, ok := levels[s]
	if !ok {
		return fmt.Errorf("%q is not a log level: want debug, info, warn or error", s)
	}
	*l = logLevel{text: s, level: level}
	return nil
}

func (l logLevel) String() string { return l.text }

// popText takes the flag's value as text.
func popText(ctx *kong.DecodeContext, what string) (string, error) {
	var s string
	err := ctx.Scan.PopValueInto(what, &s)
	return strings.TrimSpace(s), err
}

// redactURL hides a password in a database URL, in its user part or its
// query, before it is logged or printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return s
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
