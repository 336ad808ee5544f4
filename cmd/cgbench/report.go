package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/postgres"
)

// result is one scenario's figures.
type result struct {
	Scenario       string            `json:"scenario"`
	Requests       uint64            `json:"requests"`
	Seconds        float64           `json:"seconds"`
	RequestsPerSec float64           `json:"req_per_s"`
	P50ms          float64           `json:"p50_ms"`
	P90ms          float64           `json:"p90_ms"`
	P99ms          float64           `json:"p99_ms"`
	MaxMs          float64           `json:"max_ms"`
	Errors         uint64            `json:"errors"`
	Limited        uint64            `json:"limited_429"`
	ErrorKinds     map[string]uint64 `json:"error_kinds,omitempty"`
	PeakRSS        int64             `json:"peak_rss_bytes,omitempty"` // absent when unknown
	// CPUPerRequest is the server's CPU time (user and system) per request,
	// in microseconds; 0 when unknown.
	CPUPerRequest  float64           `json:"cpu_us_per_req,omitempty"`
	VsCeiling      float64           `json:"vs_ceiling"`
	PairsPerSecond float64           `json:"pairs_per_s,omitempty"` // authorize-capture; checkout: create and page pairs
	Ops            map[string]uint64 `json:"ops"`                   // requests by path
	// Note says what else happened during the scenario.
	Note string `json:"note,omitempty"`
	// WebhookEvents counts the events the -webhooks receiver got during
	// the scenario; absent without -webhooks.
	WebhookEvents *int64 `json:"webhook_events,omitempty"`
}

// setCPU records the server's CPU time over the scenario, per request.
func (r *result) setCPU(cpu time.Duration) {
	if cpu > 0 && r.Requests > 0 {
		r.CPUPerRequest = float64(cpu.Microseconds()) / float64(r.Requests)
	}
}

func (b *bench) result(name string, o *outcome) result {
	m := &o.metrics
	// The attack lasted from its first request to its last answer.
	secs := (m.Duration + m.Wait).Seconds()
	r := result{
		Scenario: name, Requests: m.Requests, Seconds: secs,
		P50ms: ms(m.Latencies.P50), P90ms: ms(m.Latencies.P90), P99ms: ms(m.Latencies.P99), MaxMs: ms(m.Latencies.Max),
		Errors: o.errors, Limited: o.limited, ErrorKinds: o.errorKinds, PeakRSS: o.peakRSS, Ops: o.ops,
	}
	if secs > 0 {
		r.RequestsPerSec = float64(m.Requests) / secs
	}
	r.setCPU(o.cpu)
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	Kernel     string `json:"kernel"`
}

func thisMachine() machine {
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/version"); err == nil {
		// "Linux version 6.8.0-45-generic (builder@host) (gcc …) #1 SMP …":
		// the release is what tells kernels apart.
		if f := strings.Fields(string(b)); len(f) >= 3 {
			kernel = f[0] + " " + f[2]
		}
	}
	return machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(), Kernel: kernel}
}

func dbKind(db string) string {
	if postgres.IsURL(db) {
		return "postgres"
	}
	return "sqlite"
}

type report struct {
	Machine     machine  `json:"machine"`
	DB          string   `json:"db"`
	Target      string   `json:"target,omitempty"`
	Driver      string   `json:"driver"` // load generator: wrk or vegeta
	Duration    string   `json:"duration"`
	Concurrency int      `json:"concurrency"`
	Seed        uint64   `json:"seed"`
	Scenarios   []result `json:"scenarios"`
	// ServerVmHWM is the server's peak RSS over its whole life (0: unknown).
	ServerVmHWM int64 `json:"server_vmhwm_bytes,omitempty"`
}

// add appends a result; the first, healthz, is the ceiling of the others.
func (r *report) add(res result) {
	if len(r.Scenarios) == 0 {
		res.VsCeiling = 1
	} else if ceiling := r.Scenarios[0].RequestsPerSec; ceiling > 0 {
		res.VsCeiling = res.RequestsPerSec / ceiling
	}
	r.Scenarios = append(r.Scenarios, res)
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeTable(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "machine: %d CPUs, GOMAXPROCS %d, %s, %s (cgbench and the server share it)\n", m.CPUs, m.GOMAXPROCS, m.Go, m.Kernel)
	target := "started by cgbench"
	if r.Target != "" {
		target = r.Target
	}
	fmt.Fprintf(&b, "server: %s, db %s; driver %s, %s per scenario, %d connections, seed %d\n", target, r.DB, r.Driver, r.Duration, r.Concurrency, r.Seed)
	fmt.Fprintln(&b, "latencies in ms, RSS in MB (MiB), the server's CPU time (user+system) per request in µs")
	fmt.Fprintf(&b, "%-26s %10s %8s %8s %8s %8s %7s %7s %9s %11s %10s\n", "scenario", "req/s", "p50", "p90", "p99", "max", "errors", "429s", "peak_rss", "vs_ceiling", "cpu_us/req")
	for _, s := range r.Scenarios {
		fmt.Fprintf(&b, "%-26s %10.1f %8.2f %8.2f %8.2f %8.2f %7d %7d %9s %11.2f %10.1f\n",
			s.Scenario, s.RequestsPerSec, s.P50ms, s.P90ms, s.P99ms, s.MaxMs, s.Errors, s.Limited, mb(s.PeakRSS), s.VsCeiling, s.CPUPerRequest)
	}
	for _, s := range r.Scenarios {
		if s.PairsPerSecond > 0 {
			fmt.Fprintf(&b, "%s: %.1f pairs/s\n", s.Scenario, s.PairsPerSecond)
		}
		if s.Scenario == "mixed" && s.Requests > 0 {
			fmt.Fprintf(&b, "mixed: %s\n", opShares(s))
		}
		if s.Errors > 0 {
			fmt.Fprintf(&b, "%s errors: %s\n", s.Scenario, formatKinds(s.ErrorKinds))
		}
	}
	if plain, beside := r.find("charge"), r.find(scenarioSlowNeighbour); plain != nil && beside != nil && plain.RequestsPerSec > 0 {
		fmt.Fprintf(&b, "%s: %.0f%% of charge's rate, with %d slow-card charges (3 s each) of another account in flight\n",
			scenarioSlowNeighbour, 100*beside.RequestsPerSec/plain.RequestsPerSec, slowNeighbours)
	}
	if plain, during := r.find("charge"), r.find(scenarioDuringSettle); plain != nil && during != nil && plain.P99ms > 0 {
		fmt.Fprintf(&b, "%s: p99 %.2f ms against charge's %.2f ms (%.1f×), %d errors; %s\n",
			scenarioDuringSettle, during.P99ms, plain.P99ms, during.P99ms/plain.P99ms, during.Errors, during.Note)
	}
	if plain, beside := r.find("charge"), r.find(scenarioSlowLiveNeighbour); plain != nil && beside != nil && plain.RequestsPerSec > 0 {
		fmt.Fprintf(&b, "%s: %.0f%% of charge's rate, with %d live charges of another account in flight at a Stripe that answers in %s\n",
			scenarioSlowLiveNeighbour, 100*beside.RequestsPerSec/plain.RequestsPerSec, slowNeighbours, slowStripeDelay)
	}
	if r.ServerVmHWM > 0 {
		fmt.Fprintf(&b, "server VmHWM (peak RSS over its life): %s MB\n", mb(r.ServerVmHWM))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *report) find(scenario string) *result {
	for i := range r.Scenarios {
		if r.Scenarios[i].Scenario == scenario {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// opShares shows the mix as it happened (captures fall back to authorize
// when none is waiting).
func opShares(s result) string {
	var parts []string
	for _, p := range []string{pathCharge, pathLookup, pathAuthorize, pathCapture, pathRefund} {
		parts = append(parts, fmt.Sprintf("%s %.1f%%", strings.TrimPrefix(p, "/payment/"), 100*float64(s.Ops[p])/float64(s.Requests)))
	}
	return strings.Join(parts, ", ")
}

func mb(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(n)/(1<<20))
}

// check is -quick's verdict: every scenario made requests, none failed.
func (r *report) check() error {
	var problems []error
	for _, s := range r.Scenarios {
		if s.Requests == 0 {
			problems = append(problems, fmt.Errorf("%s made no requests", s.Scenario))
		}
		if s.Errors > 0 {
			problems = append(problems, fmt.Errorf("%s had %d errors: %s", s.Scenario, s.Errors, formatKinds(s.ErrorKinds)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("quick check failed: %w", errors.Join(problems...))
	}
	return nil
}
