# Everyday targets. "make run" builds the gateway and runs it on its
# embedded SQLite default; "make test" runs everything CI runs; "make
# release" builds what is shipped (scripts/release.sh).
GO ?= go

.PHONY: run build test lint fuzz bench release clean

# Built, then run. Stop it with Ctrl-C; a supervisor should run
# bin/cartgateway itself, which stops gracefully on SIGTERM (neither make nor
# go run passes a SIGTERM on to the gateway).
run: build
	bin/cartgateway serve

build:
	$(GO) build -o bin/cartgateway ./cmd/cartgateway

# Static binaries for linux/amd64 and linux/arm64, SHA256SUMS and the
# image's files in dist/; VERSION=v1.2.3 names the version (default: git
# describe). Then: podman build -t cartgateway .
release:
	./scripts/release.sh

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
	rm -rf bin dist
