package main

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// The real server's timeouts (serve.go), as the tests below expect them.
const (
	hostileReadHeaderTimeout = 5 * time.Second
	hostileReadTimeout       = 15 * time.Second
	hostileMaxHeaderBytes    = 64 << 10
)

// hostileGateway is "cartgateway serve" running in-process on a fresh
// SQLite file, with the abuse limits off so that only the server's own
// defences are tested.
type hostileGateway struct {
	addr, db     string
	account, key string
	stderr       *apitest.LogBuffer
	client       *http.Client
}

func startHostileGateway(t *testing.T) *hostileGateway {
	t.Helper()
	g := &hostileGateway{db: filepath.Join(t.TempDir(), "gw.db"), addr: freeAddr(t),
		client: apitest.ContractClient(t, &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}})}
	var stdout *apitest.LogBuffer
	stdout, g.stderr = serveInProcess(t, "--db", g.db, "--addr", g.addr, "--settle-at", "off",
		"--rate-ip", "0", "--rate-account", "0", "--auth-failures", "0")
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := g.client.Get("http://" + g.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, g.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := regexp.MustCompile(`CARTGATEWAY-ACCOUNT-ID: (\d+)\s+Authorization: Bearer ([0-9a-f]{40})`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("serve did not print a bootstrap account:\n%s", stdout.String())
	}
	g.account, g.key = m[1], m[2]
	return g
}

// healthy checks that a normal client is served, promptly.
func (g *hostileGateway) healthy(t *testing.T, during string) {
	t.Helper()
	start := time.Now()
	resp, err := g.client.Get("http://" + g.addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz %s: %v", during, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("GET /healthz %s: %d %s", during, resp.StatusCode, body)
	}
	if d := time.Since(start); d > 4*time.Second { // generous: CI shares 2 cores with -race and parallel tests
		t.Errorf("GET /healthz %s took %v", during, d)
	}
}

// charge sends a valid charge and checks it is approved.
func (g *hostileGateway) charge(t *testing.T, during string) {
	t.Helper()
	m := post(t, "http://"+g.addr+"/payment/charge", g.account, g.key, hostileChargeBody("o-"+strings.ReplaceAll(during, " ", "-")))
	if m["success"] != 1.0 {
		t.Fatalf("charge %s: %v", during, m)
	}
}

func hostileChargeBody(orderID string) string {
	return `{"firstname":"A","lastname":"B","email":"a@example.com","address":"1 Main St","zip":"10001","amount":1500,` +
		`"card_number":"4242424242424242","card_cvv":"123","card_expiry_month":12,"card_expiry_year":2040,"order_id":"` + orderID + `"}`
}

// count returns the rows of a table, read beside the server.
func (g *hostileGateway) count(t *testing.T, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+g.db+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func (g *hostileGateway) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// trickle writes data one byte per interval until it is all sent, the
// connection fails or stop is closed.
func trickle(c net.Conn, data string, interval time.Duration, stop <-chan struct{}) {
	for i := 0; i < len(data); i++ {
		if _, err := c.Write([]byte{data[i]}); err != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
	}
}

// waitClosed reads c until the server closes it (EOF or reset) and returns
// what was read and when, measured from start; it fails if c is still open
// at start+limit.
func waitClosed(t *testing.T, c net.Conn, start time.Time, limit time.Duration) (time.Duration, string) {
	t.Helper()
	_ = c.SetReadDeadline(start.Add(limit))
	got, err := io.ReadAll(c)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection was still open after %v (read %q)", took, got)
	}
	return took, string(got)
}

// TestHostileSlowloris: a client that sends its request line and headers one
// byte a second is cut off at ReadHeaderTimeout, without an answer, while
// other clients are served normally.
func TestHostileSlowloris(t *testing.T) {
	t.Parallel()
	g := startHostileGateway(t)
	stop := make(chan struct{})
	defer close(stop)
	c := g.dial(t)
	start := time.Now()
	go trickle(c, "GET /healthz HTTP/1.1\r\nHost: cartgateway\r\nX-Slow: "+strings.Repeat("a", 60), time.Second, stop)

	time.Sleep(2 * time.Second)
	g.healthy(t, "during a slow client")
	g.charge(t, "during a slow client")

	took, got := waitClosed(t, c, start, 8*time.Second)
	if took < hostileReadHeaderTimeout-time.Second {
		t.Errorf("the slow client was cut off after %v, before ReadHeaderTimeout (%v)", took, hostileReadHeaderTimeout)
	}
	// Cut off mid request line, Go's server may still answer its own
	// plain-text 400 (it reads the partial line as a malformed request).
	if got != "" && !strings.HasPrefix(got, "HTTP/1.1 400 Bad Request\r\n") {
		t.Errorf("the slow client got %q, want nothing or Go's 400", got)
	}
	t.Logf("slow request line: connection closed after %v; answer %q", took.Round(time.Millisecond), firstLine(got))
	g.healthy(t, "after a slow client")
}

// TestHostileManySlowClients: 200 slow clients at once do not stop a normal
// request, and every one of them is cut off at ReadHeaderTimeout.
func TestHostileManySlowClients(t *testing.T) {
	t.Parallel()
	g := startHostileGateway(t)
	const n = 200
	stop := make(chan struct{})
	defer close(stop)
	conns := make([]net.Conn, n)
	start := time.Now()
	for i := range conns {
		conns[i] = g.dial(t)
		req := fmt.Sprintf("POST /payment/charge HTTP/1.1\r\nHost: cartgateway\r\nContent-Type: application/json\r\nX-Slow-%d: ", i)
		if _, err := conns[i].Write([]byte(req)); err != nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		go trickle(conns[i], strings.Repeat("a", 30), time.Second, stop)
	}
	time.Sleep(500 * time.Millisecond)
	g.healthy(t, fmt.Sprintf("during %d slow clients", n))
	g.charge(t, fmt.Sprintf("during %d slow clients", n))

	var wg sync.WaitGroup
	var mu sync.Mutex
	var latest time.Duration
	var answered, open int
	for _, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(start.Add(10 * time.Second))
			got, err := io.ReadAll(c)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				open++
			}
			latest = max(latest, took)
			if len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 400 Bad Request\r\n") {
				answered++
			}
		})
	}
	wg.Wait()
	if open > 0 {
		t.Fatalf("%d slow clients were still connected after 10 s", open)
	}
	if latest < hostileReadHeaderTimeout-time.Second {
		t.Errorf("the slow clients were cut off within %v, before ReadHeaderTimeout (%v)", latest, hostileReadHeaderTimeout)
	}
	if answered > 0 {
		t.Errorf("%d slow clients got an answer other than Go's 400", answered)
	}
	t.Logf("%d slow clients: all cut off within %v", n, latest.Round(time.Millisecond))
	g.healthy(t, "after the slow clients")
}

// hostileRaw sends a raw request on a fresh connection and returns the
// status line of the answer.
func hostileRaw(t *testing.T, g *hostileGateway, req string) string {
	t.Helper()
	c := g.dial(t)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	werr := make(chan error, 1)
	go func() { // the server may answer before it has read everything
		_, err := io.WriteString(c, req)
		werr <- err
	}()
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer to a %d-byte request: %v", len(req), err)
	}
	c.Close()
	<-werr
	return strings.TrimSpace(status)
}

// TestHostileHeaderFlood: a header block over the 64 KiB limit, in one huge
// header or in 10,000 small ones, gets Go's 431 and the server keeps
// serving; a block within the limit is served. (Go reads up to 4 KiB past
// MaxHeaderBytes before it refuses, so the refusals here are well over.)
func TestHostileHeaderFlood(t *testing.T) {
	t.Parallel()
	g := startHostileGateway(t)
	const head = "GET /healthz HTTP/1.1\r\nHost: cartgateway\r\n"
	var small strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&small, "X-Flood-%05d: 1\r\n", i)
	}
	var tiny strings.Builder
	for i := range 3_000 {
		fmt.Fprintf(&tiny, "X%x: 1\r\n", i)
	}
	over := map[string]string{
		"one 80 KiB header":         "X-Big: " + strings.Repeat("a", 80<<10) + "\r\n",
		"one 1 MiB header":          "X-Big: " + strings.Repeat("a", 1<<20) + "\r\n",
		"10,000 small headers":      small.String(),
		"a 100 KiB request line":    "", // see below
		"100 KiB of folded headers": "X-Fold: a\r\n" + strings.Repeat(" "+strings.Repeat("b", 1000)+"\r\n", 100),
	}
	for name, headers := range over {
		t.Run(name, func(t *testing.T) {
			req := head + headers + "\r\n"
			if headers == "" {
				req = "GET /healthz?" + strings.Repeat("q", 100<<10) + " HTTP/1.1\r\nHost: cartgateway\r\n\r\n"
			}
			if len(req) <= hostileMaxHeaderBytes {
				t.Fatalf("%d bytes is within the limit", len(req))
			}
			status := hostileRaw(t, g, req)
			if status != "HTTP/1.1 431 Request Header Fields Too Large" {
				t.Errorf("%s (%d bytes): %q, want 431", name, len(req), status)
			}
			g.healthy(t, "after "+name)
		})
	}
	t.Run("within the limit", func(t *testing.T) {
		exactly := hostileMaxHeaderBytes - len(head) - len("X-Big: \r\n\r\n")
		for _, headers := range []string{"X-Big: " + strings.Repeat("a", exactly) + "\r\n", tiny.String()} {
			req := head + headers + "\r\n"
			if len(req) > hostileMaxHeaderBytes {
				t.Fatalf("%d bytes is over the limit", len(req))
			}
			if status := hostileRaw(t, g, req); status != "HTTP/1.1 200 OK" {
				t.Errorf("a %d-byte header block: %q, want 200", len(req), status)
			}
		}
	})
	if n := strings.Count(g.stderr.String(), `"level":"ERROR"`); n > 0 {
		t.Errorf("header floods logged %d errors:\n%s", n, g.stderr.String())
	}
}

// TestHostileSlowBody: a client that sends valid headers, then its body one
// byte a second, is cut off at ReadTimeout; nothing is recorded.
func TestHostileSlowBody(t *testing.T) {
	t.Parallel()
	g := startHostileGateway(t)
	body := hostileChargeBody("o-slow-body")
	head := "POST /payment/charge HTTP/1.1\r\nHost: cartgateway\r\nContent-Type: application/json\r\n" +
		"CARTGATEWAY-ACCOUNT-ID: " + g.account + "\r\nAuthorization: Bearer " + g.key + "\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
	if time.Duration(len(body))*time.Second < hostileReadTimeout+5*time.Second {
		t.Fatalf("a %d-byte body trickles for less than ReadTimeout", len(body))
	}
	stop := make(chan struct{})
	defer close(stop)
	c := g.dial(t)
	start := time.Now()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	go trickle(c, body, time.Second, stop)

	time.Sleep(2 * time.Second)
	g.healthy(t, "during a slow body")

	took, got := waitClosed(t, c, start, hostileReadTimeout+4*time.Second)
	if took < hostileReadTimeout-time.Second {
		t.Errorf("the slow body was cut off after %v, before ReadTimeout (%v)", took, hostileReadTimeout)
	}
	// The handler may still answer, in JSON, that it could not read the
	// body, and close the connection (a reset may cut that answer short).
	if _, answer, complete := strings.Cut(got, "\r\n\r\n"); got != "" && (!strings.HasPrefix(got, "HTTP/1.1 400 ") ||
		complete && answer != "" && !strings.Contains(answer, `"code":"unreadable-body"`)) {
		t.Errorf("the slow body got %q, want nothing or 400 unreadable-body", got)
	}
	t.Logf("slow body: connection closed after %v; answer %q", took.Round(time.Millisecond), firstLine(got))
	if n := g.count(t, "payments"); n != 0 {
		t.Errorf("the slow body recorded %d payments", n)
	}
	if n := g.count(t, "transactions"); n != 0 {
		t.Errorf("the slow body recorded %d transactions", n)
	}
	g.healthy(t, "after a slow body")
	g.charge(t, "after a slow body")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}
