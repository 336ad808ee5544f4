package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"sync/atomic"
	"time"
)

// receiver is the webhook endpoint of a run with -webhooks: a plain HTTP
// server in cgbench's process that answers every event 204 and counts
// them, the cheapest merchant receiver there is. It shares the machine
// with the server and the load generator, as a merchant's would not.
type receiver struct {
	srv    *http.Server
	url    string
	events atomic.Int64
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/webhooks"}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.events.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) close() { _ = r.srv.Close() }

// addEndpoint points the bench account's sandbox events at the receiver,
// with the operator CLI.
func addEndpoint(ctx context.Context, bin, db, account, url string) error {
	cmd := exec.CommandContext(ctx, bin, "webhooks", "add", "--db", db, "--account", account, "--url", url)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cartgateway webhooks add: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}
