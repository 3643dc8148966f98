# redcluster: build, test and benchmark targets.
GO      ?= go
BIN     := bin/redcluster
PKGS    := ./...

.PHONY: build test unit deps fmt vet bench fuzz clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/redcluster

# deps installs redis-server and redis-tools (the oracle, redis-cli,
# redis-benchmark) when they are missing.
deps:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null || \
	  { (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; }
	@# the Debian package starts a service on 6379; our tests never use it
	@command -v systemctl >/dev/null && systemctl stop redis-server >/dev/null 2>&1 || true

test: deps build vet
	$(GO) test -count=1 -timeout 12m $(PKGS)

unit:
	$(GO) test -count=1 -short $(PKGS)

fmt:
	gofmt -s -w .

vet:
	$(GO) vet $(PKGS)

# bench compares bin/redcluster with redis-server in one interleaved run
# (../shared/bench: paired A/B ratios; see its README). BENCH_CONFIGS
# selects the throughput configurations (sa, c3r0, c3r1).
SHARED_BENCH ?= ../shared/bench
BENCH_CONFIGS ?= sa
bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	@test -d $(SHARED_BENCH) || { echo "$(SHARED_BENCH) not found: Go benchmarks only"; exit 0; }; \
	  B_BIN=$(CURDIR)/$(BIN) CONFIGS="$(BENCH_CONFIGS)" $(SHARED_BENCH)/throughput && \
	  B_BIN=$(CURDIR)/$(BIN) CASES="sa_str c1_str sa_hash c1_hash" $(SHARED_BENCH)/memory

# fuzz runs each fuzz target for FUZZTIME; the corpora live in testdata/fuzz.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/resp/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./internal/gossip/
	$(GO) test -run '^$$' -fuzz FuzzDispatch -fuzztime $(FUZZTIME) ./internal/server/

clean:
	rm -rf bin
