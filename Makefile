# regdrift: the two commands a newcomer needs are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin
# Tests start in-process registries and a browser; give them room on a 2-core machine.
TESTFLAGS ?= -race -count=1 -timeout 30m

.PHONY: all build demo test deps generate check-generated vet lint bench bench-registries \
	bench-tools bench-go soak clean

# Linters, installed by version from the Go module proxy into bin/tools.
TOOLS          := $(CURDIR)/$(BIN)/tools
STATICCHECK    := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ERRCHECK       := github.com/kisielk/errcheck@v1.30.0
# regsync, the tool the bench measures regdrift against.
REGSYNC        := github.com/regclient/regclient/cmd/regsync@v0.11.7

all: build

build:
	$(GO) build -o $(BIN)/regdrift ./cmd/regdrift

# demo: two local Distribution 2.8 registries with real drift, a first check, and the dashboard.
# Flags go through DEMO_ARGS, e.g. make demo DEMO_ARGS='--listen 127.0.0.1:9090'.
demo:
	$(GO) run ./cmd/regdrift-demo $(DEMO_ARGS)

# test: installs what it needs (Chromium for the browser tests, the linters), checks that
# generated files are current, vets and lints, and runs every test against real in-process
# registries.
test: deps check-generated vet lint
	REGDRIFT_ARTIFACTS=$(CURDIR)/artifacts/screenshots $(GO) test $(TESTFLAGS) ./...

deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	$(GO) mod download

generate:
	$(GO) tool templ generate

# check-generated fails when a .templ file changed without its _templ.go being regenerated.
check-generated:
	@$(GO) tool templ generate >/dev/null 2>&1
	@git diff --exit-code --stat -- 'views/*_templ.go' || \
		{ echo "views/*_templ.go are stale: run 'make generate' and commit"; exit 1; }

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); \
		echo "gofmt needed"; exit 1; }

# lint: staticcheck, and errcheck, because an ignored error is a silent skip.
lint:
	@test -x $(TOOLS)/staticcheck || GOBIN=$(TOOLS) GOFLAGS= $(GO) install $(STATICCHECK)
	@test -x $(TOOLS)/errcheck || GOBIN=$(TOOLS) GOFLAGS= $(GO) install $(ERRCHECK)
	$(TOOLS)/staticcheck ./...
	$(TOOLS)/errcheck -ignoretests -exclude .ci/errcheck-exclude ./...

# bench: regdrift side by side with regsync and a reference client on two local registries
# (bench-registries), then the Go benchmarks of the pure parts (bench-go). The tables go to
# artifacts/bench/. Flags go through BENCH_ARGS, e.g. make bench BENCH_ARGS='--runs 5'; see
# go run ./cmd/regdrift-bench -h.
bench: bench-registries bench-go

bench-registries: build bench-tools
	$(GO) build -o $(BIN)/regdrift-bench ./cmd/regdrift-bench
	$(BIN)/regdrift-bench --regdrift $(BIN)/regdrift --regsync $(TOOLS)/regsync \
		--out artifacts/bench/results.md --truth artifacts/bench/truth.json $(BENCH_ARGS)

# bench-tools installs regsync by version, and GNU time, which reports a command's peak memory.
bench-tools:
	@test -x $(TOOLS)/regsync || GOBIN=$(TOOLS) GOFLAGS= $(GO) install $(REGSYNC)
	@test -x /usr/bin/time || { echo "installing GNU time for the bench"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time; }

bench-go:
	@mkdir -p artifacts/bench
	$(GO) test -run '^$$' -bench . -benchmem ./... > artifacts/bench/go.txt 2>&1; \
		status=$$?; cat artifacts/bench/go.txt; exit $$status

# soak: a served regdrift on loopback under load (a scan of a large fixture, 50 clients reading,
# a burst of 1,000 webhook events) for about two minutes; it prints latencies, runs and memory.
# Flags go through SOAK_ARGS, e.g. make soak SOAK_ARGS='--repos 1000 --duration 5m'.
soak:
	$(GO) run ./cmd/regdrift-soak $(SOAK_ARGS)

clean:
	rm -rf $(BIN)
