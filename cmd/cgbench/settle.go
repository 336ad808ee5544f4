package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// The during-settle scenario: the charge scenario again while the operator
// settles every captured payment from a shell (cartgateway settle, another
// process on the same database). Settlement moves payments in chunks of a
// few hundred, each a short transaction (issue 13), so charges should keep
// their latency and get no errors; the report gives p99 against the plain
// charge scenario's and how long the settlement took. With -db of a file
// filled by "cgbench seed", it settles that many payments.

const scenarioDuringSettle = "charge-during-settle"

func (b *bench) duringSettle(ctx context.Context) (result, error) {
	if len(b.settle) == 0 {
		return result{}, errors.New("needs a server started by cgbench (it settles the server's database)")
	}
	type settled struct {
		took time.Duration
		out  string
		err  error
	}
	done := make(chan settled, 1)
	go func() {
		start := time.Now()
		cmd := exec.CommandContext(ctx, b.settle[0], b.settle[1:]...)
		cmd.Env = childEnv()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		done <- settled{time.Since(start), out.String(), err}
	}()
	res, err := b.runCharge(ctx)
	s := <-done
	res.Scenario = scenarioDuringSettle
	if s.err != nil {
		return res, fmt.Errorf("cartgateway settle: %v: %s", s.err, s.out)
	}
	summary := strings.SplitN(strings.TrimSpace(s.out), "\n", 2)[0]
	fmt.Fprintf(b.log, "cgbench: %s: %s, in %s\n", scenarioDuringSettle, summary, s.took.Round(time.Millisecond))
	res.Note = fmt.Sprintf("settled during the load: %s, in %s", summary, s.took.Round(time.Millisecond))
	return res, err
}
