// Command cgbench benchmarks a CartGateway server on loopback. It starts one
// (or targets a running one) and drives each scenario for a set duration at a
// fixed concurrency: GET /healthz first, as the HTTP ceiling of that same
// server, then charge, authorize+capture, refund, lookup and a realistic mix.
// It prints requests/s, latency percentiles, errors, the server's peak RSS
// and each scenario's ratio to the ceiling.
//
// The load comes from wrk (the C load generator, driven by the Lua script
// wrk.lua) when it is on PATH, else from the vegeta library in this process;
// -driver chooses. wrk needs far less CPU for the same load, which matters
// when the server and cgbench share a small machine. The untimed seeding
// charges (before refund and lookup) always go through vegeta.
//
//	go run ./cmd/cgbench [-duration 10s] [-c 64] [-driver auto|wrk|vegeta] [-scenarios ...] [-quick] [-json]
//	go run ./cmd/cgbench seed -db PATH -payments N [-days D]
//	go run ./cmd/cgbench portal -db PATH [-n 10]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cartgateway/cartgateway/client"
)

const usage = `cgbench: benchmark a CartGateway server on loopback.

Usage:
  cgbench [flags]                                   start a server and benchmark it
  cgbench -target URL -account ID -key KEY [flags]  benchmark a running server
  cgbench seed -db PATH -payments N [-account ID] [-days D]   fill a database for size tests
  cgbench portal -db PATH [-account ID] [-n 10]     time the Merchant Portal's pages on it

The load driver is wrk (-t1, with the script wrk.lua) when wrk is on PATH,
else the vegeta library; -driver chooses. wrk runs whole seconds, so with it
-duration is rounded up to a whole number of seconds.

Flags:
`

// allScenarios is the default run, in order. healthz always runs first: it
// is the ceiling the others are compared with.
var allScenarios = []string{"healthz", "charge", scenarioSlowNeighbour, scenarioSlowLiveNeighbour, scenarioDuringSettle, "authorize-capture", "refund", "lookup", "checkout", "mixed"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "seed":
		err = seedCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case len(os.Args) > 1 && os.Args[1] == "portal":
		err = portalCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	default:
		err = benchCmd(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "cgbench:", err)
		}
		os.Exit(1)
	}
}

type config struct {
	db, bin, target string
	account, key    string
	pid             int
	duration        time.Duration
	conns           int
	scenarios       []string
	quick, json     bool
	lookupExisting  int
	driver          string // "wrk" or "vegeta"
	wrk             string // path of wrk, with driver wrk
	seed            uint64
	serverArgs      []string
	webhooks        bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("cgbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&c.db, "db", "", "SQLite file or postgres:// URL for the started server (default: a fresh SQLite file in a temp dir); with -target it only labels the report")
	fs.StringVar(&c.bin, "bin", "", "cartgateway binary to start (default: go build ./cmd/cartgateway into a temp dir)")
	fs.StringVar(&c.target, "target", "", "base URL of a running server to benchmark instead of starting one (needs -account and -key; "+
		"start it with --duplicate-window 0, since runs with one -seed repeat order ids, and rate limits above the load)")
	fs.StringVar(&c.account, "account", "", "account id, with -target")
	fs.StringVar(&c.key, "key", "", "private key of -account, with -target")
	fs.IntVar(&c.pid, "pid", 0, "process id of the -target server, to report its RSS")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "duration of each scenario")
	fs.IntVar(&c.conns, "c", 64, "concurrent connections (and workers): a closed loop, each sends its next request when answered")
	scenarios := fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run (healthz always runs first)")
	fs.BoolVar(&c.quick, "quick", false, "CI check: 1s per scenario, -c 8; fails unless every scenario made requests without errors")
	fs.BoolVar(&c.json, "json", false, "print the results as JSON")
	fs.IntVar(&c.lookupExisting, "lookup-existing", 0, "with -db: the lookup scenario reads this many payments drawn at random from those already in the database (e.g. filled by cgbench seed) instead of ones it creates")
	fs.StringVar(&c.driver, "driver", "auto", "load generator of the timed scenarios: wrk, vegeta, or auto (wrk when it is on PATH, else vegeta)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the deterministic inputs (amounts, mix)")
	fs.BoolVar(&c.webhooks, "webhooks", false, "deliver webhook events of the bench account to a receiver in cgbench that answers 204, and report how many arrived per scenario")
	serverArgs := fs.String("server-args", "", "extra arguments for cartgateway serve (they come last, so they override cgbench's)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if c.quick { // -quick's defaults yield to flags given explicitly
		if !explicit["duration"] {
			c.duration = time.Second
		}
		if !explicit["c"] {
			c.conns = 8
		}
	}
	if c.conns < 1 || c.duration <= 0 {
		return c, errors.New("-c and -duration must be positive")
	}
	switch {
	case c.target != "" && (c.account == "" || c.key == ""):
		return c, errors.New("-target needs -account and -key")
	case c.target == "" && (c.account != "" || c.key != "" || c.pid != 0):
		return c, errors.New("-account, -key and -pid go with -target; a started server gets the bench account")
	case c.target != "" && (c.bin != "" || *serverArgs != "" || c.webhooks):
		return c, errors.New("-bin, -server-args and -webhooks start a server; they do not go with -target")
	}
	wrk, lookErr := exec.LookPath("wrk")
	switch c.driver {
	case "auto":
		c.driver = "vegeta"
		if lookErr == nil {
			c.driver = "wrk"
		}
	case "wrk":
		if lookErr != nil {
			return c, fmt.Errorf("-driver wrk: %w", lookErr)
		}
	case "vegeta":
	default:
		return c, fmt.Errorf("-driver %q: want auto, wrk or vegeta", c.driver)
	}
	if c.driver == "wrk" {
		c.wrk = wrk
		// wrk takes whole seconds; the report shows what ran.
		c.duration = time.Duration(wrkSeconds(c.duration)) * time.Second
	}
	if c.lookupExisting < 0 || c.lookupExisting > 0 && c.db == "" {
		return c, errors.New("-lookup-existing needs -db and a positive count")
	}
	c.target = strings.TrimRight(c.target, "/")
	c.serverArgs = strings.Fields(*serverArgs)
	var err error
	c.scenarios, err = parseScenarios(*scenarios)
	return c, err
}

// parseScenarios checks the names and puts healthz first, once.
func parseScenarios(list string) ([]string, error) {
	out := []string{"healthz"}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "" || slices.Contains(out, name):
		case slices.Contains(allScenarios, name):
			out = append(out, name)
		default:
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(allScenarios, ", "))
		}
	}
	return out, nil
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{conns: c.conns, duration: c.duration, seed: c.seed, pid: c.pid, log: stderr, wrk: c.wrk,
		// A server that is not started with cgbench's own flags may answer
		// 429s, which are told apart from errors only by reading answers.
		readAnswers: c.target != "" || len(c.serverArgs) > 0}
	rep := &report{Machine: thisMachine(), DB: dbKind(c.db), Driver: c.driver, Duration: c.duration.String(), Concurrency: c.conns, Seed: c.seed}
	if c.lookupExisting > 0 {
		fmt.Fprintf(stderr, "cgbench: drawing %d payments at random from %s for lookups\n", c.lookupExisting, c.db)
		if b.existing, err = existingPayments(ctx, c.db, c.lookupExisting, c.seed); err != nil {
			return fmt.Errorf("-lookup-existing: %w", err)
		}
	}
	var srv *server
	var hooks *receiver
	if c.target != "" {
		b.base, b.header = c.target, authHeader(c.account, c.key)
		rep.Target = c.target
		if c.db == "" {
			rep.DB = "unknown (-target)"
		}
	} else {
		dir, err := os.MkdirTemp("", "cgbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		bin := c.bin
		if bin == "" {
			fmt.Fprintln(stderr, "cgbench: building ./cmd/cartgateway")
			if bin, err = buildServer(ctx, dir); err != nil {
				return err
			}
		}
		db := c.db
		if db == "" {
			db = filepath.Join(dir, "bench.db")
		}
		if err := createAccount(ctx, bin, db, benchAccountID, benchKey); err != nil {
			return err
		}
		if slices.Contains(c.scenarios, scenarioSlowNeighbour) {
			if err := createAccount(ctx, bin, db, neighbourAccountID, neighbourKey); err != nil {
				return err
			}
			b.neighbourHeader = authHeader(neighbourAccountID, neighbourKey)
		}
		if slices.Contains(c.scenarios, scenarioSlowLiveNeighbour) {
			stripeURL, stopStripe, err := slowStripe()
			if err != nil {
				return err
			}
			defer stopStripe()
			if err := setUpLiveNeighbour(ctx, bin, db, dir, stripeURL); err != nil {
				return err
			}
			b.liveNeighbourHeader = authHeader(liveNeighbourAccountID, liveNeighbourKey)
		}
		if c.webhooks {
			if hooks, err = startReceiver(); err != nil {
				return err
			}
			defer hooks.close()
			if err := addEndpoint(ctx, bin, db, benchAccountID, hooks.url); err != nil {
				return err
			}
		}
		if srv, err = startServer(ctx, bin, db, c.serverArgs, stderr); err != nil {
			return err
		}
		defer srv.stop()
		b.base, b.header, b.pid = srv.url, authHeader(benchAccountID, benchKey), srv.pid()
		b.settle = []string{bin, "settle", "--db", db}
		fmt.Fprintf(stderr, "cgbench: cartgateway (pid %d) on %s, db %s\n", b.pid, srv.url, db)
	}

	account, key := benchAccountID, benchKey
	if c.target != "" {
		account, key = c.account, c.key
	}
	if b.api, err = client.New(client.Config{BaseURL: b.base, AccountID: account, PrivateKey: key,
		HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.conns}}}); err != nil {
		return err
	}

	for _, name := range c.scenarios {
		if name == scenarioSlowLiveNeighbour && b.liveNeighbourHeader == nil {
			fmt.Fprintf(stderr, "cgbench: %s skipped: it needs a server that cgbench starts\n", name)
			continue
		}
		fmt.Fprintf(stderr, "cgbench: %s for %s with %d connections (%s)\n", name, c.duration, c.conns, c.driver)
		var before int64
		if hooks != nil {
			before = hooks.events.Load()
		}
		res, err := b.run(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if hooks != nil {
			n := hooks.events.Load() - before
			res.WebhookEvents = &n
			fmt.Fprintf(stderr, "cgbench: %s: %d webhook events received during the scenario (%.0f/s)\n", name, n, float64(n)/c.duration.Seconds())
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.add(res)
	}
	if err := b.check(ctx); err != nil {
		return err
	}
	rep.ServerVmHWM = procStatusBytes(b.pid, "VmHWM")
	if srv != nil {
		// Stop it now rather than on return: a server that does not shut
		// down cleanly is a failure worth reporting.
		if err := srv.stop(); err != nil {
			return err
		}
	}

	if c.json {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeTable(stdout)
	}
	if err != nil {
		return err
	}
	if c.quick {
		return rep.check()
	}
	return nil
}
