package apitest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// StartShared starts a gateway outside any test, for a package's TestMain:
// godoc examples, which have no *testing.T, talk to it. stop shuts it down
// and returns what went wrong meanwhile, contract failures included.
func StartShared(opt Options) (s *Server, stop func() error) {
	tb := &sharedTB{}
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(sharedFatal); !ok {
				panic(v)
			}
			s, stop = nil, func() error { tb.cleanup(); return tb.err() }
		}
	}()
	s = Start(tb, opt)
	return s, func() error { tb.cleanup(); return tb.err() }
}

// sharedTB is the testing.TB of StartShared: failures are kept for stop,
// and a fatal one ends the start. (Embedding the interface satisfies its
// unexported method; the methods Start uses are all defined here.)
type sharedTB struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	cleanups []func()
	dirs     []string
}

type sharedFatal struct{}

func (tb *sharedTB) Helper()      {}
func (tb *sharedTB) Name() string { return "shared-gateway" }
func (tb *sharedTB) Cleanup(f func()) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.cleanups = append(tb.cleanups, f)
}
func (tb *sharedTB) Context() context.Context { return context.Background() }
func (tb *sharedTB) TempDir() string {
	dir, err := os.MkdirTemp("", "cartgateway-shared-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.mu.Lock()
	tb.dirs = append(tb.dirs, dir)
	tb.mu.Unlock()
	return dir
}
func (tb *sharedTB) Errorf(format string, args ...any) { tb.fail(fmt.Sprintf(format, args...)) }
func (tb *sharedTB) Error(args ...any)                 { tb.fail(fmt.Sprint(args...)) }
func (tb *sharedTB) Fatalf(format string, args ...any) {
	tb.fail(fmt.Sprintf(format, args...))
	panic(sharedFatal{})
}
func (tb *sharedTB) Fatal(args ...any) {
	tb.fail(fmt.Sprint(args...))
	panic(sharedFatal{})
}
func (tb *sharedTB) Skipf(format string, args ...any) { tb.Fatalf("skipped: "+format, args...) }
func (tb *sharedTB) Logf(string, ...any)              {}
func (tb *sharedTB) Log(...any)                       {}
func (tb *sharedTB) Failed() bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return len(tb.failures) > 0
}

func (tb *sharedTB) fail(msg string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.failures = append(tb.failures, msg)
}

func (tb *sharedTB) cleanup() {
	tb.mu.Lock()
	cleanups, dirs := tb.cleanups, tb.dirs
	tb.cleanups, tb.dirs = nil, nil
	tb.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
}

func (tb *sharedTB) err() error {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.failures) == 0 {
		return nil
	}
	return errors.New(strings.Join(tb.failures, "\n"))
}
