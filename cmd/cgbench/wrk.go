package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The wrk driver: each timed scenario is one run of wrk (the C load
// generator, github.com/wg/wrk) with wrkScript, which builds the requests
// and reads the answers. wrk needs far less CPU than vegeta for the same
// load, which leaves more of a small machine to the server. Seeding (the
// untimed charges before refund and lookup) stays with vegeta.

//go:embed wrk.lua
var wrkScript string

// wrkThreads is wrk's -t: one event loop carries 64 connections, and every
// thread is a core the server does not get.
const wrkThreads = 1

// wrkResultPrefix starts the line that the script's done() prints.
const wrkResultPrefix = "CGBENCH-RESULT "

// wrkSeconds is d in the whole seconds wrk takes, rounded up; at least 1.
func wrkSeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}

// runWrk runs one scenario with wrk.
func (b *bench) runWrk(ctx context.Context, name string) (result, error) {
	cfg := wrkConfig{scenario: name, readAnswers: b.readAnswers || name == "authorize-capture" || name == "mixed" || name == "checkout"}
	switch name {
	case "healthz", "charge", "authorize-capture", "checkout":
	case "refund":
		if err := b.seedRefundable(ctx); err != nil {
			return result{}, err
		}
		cfg.refundIDs = b.refundable
	case "lookup":
		// The wrk driver does not collect the ids the charge scenario
		// creates: lookup seeds its own, unless an earlier lookup did.
		if len(b.existing) > 0 {
			cfg.lookupIDs = b.existing
		} else if cfg.lookupIDs = b.unrefunded(); len(cfg.lookupIDs) == 0 {
			ids, err := b.seedPayments(ctx, "lookup-seed", 0)
			if err != nil {
				return result{}, err
			}
			cfg.lookupIDs = ids
		}
	case "mixed":
		if err := b.seedRefundable(ctx); err != nil {
			return result{}, err
		}
		cfg.lookupIDs, cfg.refundIDs = b.unrefunded(), b.refundable
		if len(cfg.lookupIDs) == 0 { // as with vegeta when nothing else was created
			cfg.lookupIDs = b.created
		}
	default:
		return result{}, fmt.Errorf("unknown scenario %q", name)
	}

	u, err := url.Parse(b.base)
	if err != nil || u.Host == "" {
		return result{}, fmt.Errorf("base URL %q: %v", b.base, err)
	}
	cfg.prefix = strings.TrimRight(u.Path, "/")
	f, err := os.CreateTemp("", "cgbench-*.lua")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(b.wrkPrelude(cfg) + wrkScript)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return result{}, err
	}

	cmd := exec.CommandContext(ctx, b.wrk,
		"-t"+strconv.Itoa(wrkThreads), "-c"+strconv.Itoa(b.conns),
		"-d"+strconv.FormatInt(wrkSeconds(b.duration), 10)+"s", "--timeout", "10s", "--latency",
		"-s", f.Name(), u.Scheme+"://"+u.Host+"/")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	stopSampling := sampleProcess(b.pid)
	err = cmd.Run()
	peakRSS, cpu := stopSampling()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return result{}, ctxErr
	}
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, lastLines(stderr.String()+stdout.String(), 10))
	}
	res, err := parseWrkOutput(stdout.String(), name)
	if err != nil {
		return result{}, err
	}
	b.orders.Add(res.Orders)
	if res.Answered != res.Requests {
		fmt.Fprintf(b.log, "cgbench: %s: wrk counted %d answers, the script %d\n", name, res.Requests, res.Answered)
	}
	res.PeakRSS = peakRSS
	res.setCPU(cpu)
	return res.result, nil
}

// unrefunded is the created payments but the refund scenario's seeds.
// Looking those up would measure something else: each carries its many
// 1-cent refunds into the lookup's answer. (vegeta's lookups, after its
// charge scenario, start with that scenario's ids and seldom reach the
// seeds; the wrk driver does not collect them.)
func (b *bench) unrefunded() []string {
	seeds := make(map[string]bool, len(b.refundable))
	for _, id := range b.refundable {
		seeds[id] = true
	}
	var ids []string
	for _, id := range b.created {
		if !seeds[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// wrkConfig is what the prelude tells the script beyond the bench's own
// settings.
type wrkConfig struct {
	scenario             string
	prefix               string // path of the base URL
	lookupIDs, refundIDs []string
	// readAnswers has wrk hand each answer to the script: authorize-capture
	// needs the ids to capture, checkout the URLs of the pages, mixed counts answers by path, and only an
	// answer's body tells a 429 from an error. It costs wrk dearly (wrk
	// parses every answer into Lua values; ad hoc, lookups fell from
	// 23,800–29,200 to 18,200–22,300 a second), so a scenario of one kind
	// against a server cgbench started leaves it off and counts wrk's own
	// tally: every answer of status 400 or more is an error.
	readAnswers bool
}

// wrkPrelude is Lua that sets the global cfg the script reads.
func (b *bench) wrkPrelude(c wrkConfig) string {
	var cards []string
	for _, card := range testCards {
		cards = append(cards, luaString(card))
	}
	var s strings.Builder
	s.WriteString("-- written by cgbench for this run\ncfg = {\n")
	fmt.Fprintf(&s, "  scenario = %s,\n", luaString(c.scenario))
	fmt.Fprintf(&s, "  seed = %s,\n", luaString(strconv.FormatUint(b.seed, 10)))
	fmt.Fprintf(&s, "  streams = {amounts = %d, ops = %d},\n", minstdSeed(b.seed, c.scenario), minstdSeed(b.seed, c.scenario+"-ops"))
	fmt.Fprintf(&s, "  threads = %d,\n", wrkThreads)
	fmt.Fprintf(&s, "  prefix = %s,\n", luaString(c.prefix))
	fmt.Fprintf(&s, "  account = %s,\n", luaString(b.header.Get("CARTGATEWAY-ACCOUNT-ID")))
	fmt.Fprintf(&s, "  key = %s,\n", luaString(strings.TrimPrefix(b.header.Get("Authorization"), "Bearer ")))
	fmt.Fprintf(&s, "  cards = {%s},\n", strings.Join(cards, ", "))
	fmt.Fprintf(&s, "  expiry_year = %d,\n", expiryYear)
	fmt.Fprintf(&s, "  order_base = %d,\n", b.orders.Load())
	fmt.Fprintf(&s, "  lookup_ids = %s,\n", luaString(strings.Join(c.lookupIDs, " ")))
	fmt.Fprintf(&s, "  refund_ids = %s,\n", luaString(strings.Join(c.refundIDs, " ")))
	fmt.Fprintf(&s, "  read_answers = %t,\n", c.readAnswers)
	s.WriteString("}\n\n")
	return s.String()
}

// minstdSeed derives a seed of the script's MINSTD generators, in
// 1..2^31-2, from -seed and a stream name: each scenario draws inputs of
// its own, as with vegeta.
func minstdSeed(seed uint64, stream string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(stream))
	x := seed ^ h.Sum64()
	// splitmix64's finalizer, so that close seeds give unrelated streams.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return 1 + x%(2147483647-1)
}

// luaString quotes s as a Lua string literal. Anything but printable ASCII
// is escaped as \ddd, which every Lua reads.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= ' ' && c <= '~' && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// wrkResult is the line done() prints: a result, and what cgbench checks
// and carries on from it.
type wrkResult struct {
	result
	Answered uint64 `json:"answered"` // answers counted by the script
	Orders   uint64 `json:"orders"`   // order numbers used, per thread at most
}

func parseWrkOutput(out, scenario string) (wrkResult, error) {
	var r wrkResult
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), wrkResultPrefix)
		if !ok {
			continue
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return r, fmt.Errorf("wrk script result: %v", err)
		}
		if r.Scenario != scenario {
			return r, fmt.Errorf("wrk script ran %q, not %q", r.Scenario, scenario)
		}
		if r.ErrorKinds == nil {
			r.ErrorKinds = map[string]uint64{}
		}
		return r, nil
	}
	return r, fmt.Errorf("wrk printed no %s line: %s", strings.TrimSpace(wrkResultPrefix), lastLines(out, 10))
}

// lastLines is the end of a command's output, for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
