package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The slow-neighbour scenario: the charge scenario again, while another
// account keeps slowNeighbours charges of the sandbox's slow card in flight
// (the sandbox answers each after 3 s). A processor call runs outside the
// store's transactions (ADR 11), so the charges measured should keep most
// of their rate; the report gives the ratio to the plain charge scenario of
// the same run.

const (
	scenarioSlowNeighbour = "charge-slow-neighbour"
	slowNeighbours        = 32
	slowCard              = "4000000000000770"
	// The neighbour account of a server cgbench starts; against -target,
	// the bench account is its own neighbour.
	neighbourAccountID = "900002"
	neighbourKey       = "cb0e7c4d9a12f3b5e6d8c0a1b2c3d4e5slowslow"
)

// slowLoad keeps slowNeighbours slow-card charges in flight until stopped.
type slowLoad struct {
	answered, failed atomic.Uint64
	cancel           context.CancelFunc
	wg               sync.WaitGroup
	mu               sync.Mutex
	lastErr          string
}

func (b *bench) startSlowLoad(ctx context.Context, header http.Header, cardNumber string) *slowLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &slowLoad{cancel: cancel}
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range slowNeighbours {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				body, _ := json.Marshal(paymentBody{
					FirstName: "Slow", LastName: "Neighbour", Email: "slow@example.com", Address: "1 Main St",
					Zip: "10001", Country: "US", Amount: 1000, CardNumber: cardNumber, CVV: "123",
					ExpiryMonth: 10, ExpiryYear: expiryYear, OrderID: fmt.Sprintf("cgb-slow-%d-%d-%d", b.seed, w, n),
				})
				// The requests are not cut off when the load stops: a
				// claim cut from its answer would only wait for the
				// reconciler.
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, b.base+pathCharge, bytes.NewReader(body))
				req.Header = header
				resp, err := client.Do(req)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					l.fail(fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(raw)))
					continue
				}
				l.answered.Add(1)
			}
		}()
	}
	return l
}

func (l *slowLoad) fail(why string) {
	l.failed.Add(1)
	l.mu.Lock()
	l.lastErr = why
	l.mu.Unlock()
}

// stop ends the load and waits for the charges in flight.
func (l *slowLoad) stop() {
	l.cancel()
	l.wg.Wait()
}

// slowNeighbour runs the charge scenario beside the slow load.
func (b *bench) slowNeighbour(ctx context.Context) (result, error) {
	header := b.header.Clone()
	if b.neighbourHeader != nil {
		header = b.neighbourHeader
	}
	return b.neighbourRun(ctx, scenarioSlowNeighbour, header, slowCard)
}

// neighbourRun runs the charge scenario beside slow charges of cardNumber
// by the account of header.
func (b *bench) neighbourRun(ctx context.Context, scenario string, header http.Header, cardNumber string) (result, error) {
	load := b.startSlowLoad(ctx, header, cardNumber)
	// Let every neighbour claim its first charge before the clock starts.
	time.Sleep(200 * time.Millisecond)
	res, err := b.runCharge(ctx)
	load.stop()
	res.Scenario = scenario
	fmt.Fprintf(b.log, "cgbench: %s: %d slow charges of the neighbour answered, %d failed\n",
		scenario, load.answered.Load(), load.failed.Load())
	if n := load.failed.Load(); n > 0 && err == nil {
		res.Errors += n
		if res.ErrorKinds == nil {
			res.ErrorKinds = map[string]uint64{}
		}
		res.ErrorKinds["slow neighbour: "+load.lastErr] += n
	}
	return res, err
}
