# Everyday targets. "make run" starts the gateway on its embedded SQLite
# default; "make test" runs everything CI runs.
GO ?= go

.PHONY: run build test lint fuzz bench clean

run:
	$(GO) run ./cmd/cartgateway serve

build:
	$(GO) build -o bin/cartgateway ./cmd/cartgateway

test:
	./scripts/test.sh

lint:
	gofmt -l . | tee /dev/stderr | (! read -r)
	$(GO) vet ./...
	staticcheck ./...

fuzz:
	FUZZTIME=1000000x ./scripts/test.sh

bench: ; $(GO) run ./cmd/cgbench $(BENCHFLAGS)

clean:
	rm -rf bin
