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

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	B_BIN=$(CURDIR)/$(BIN) CONFIGS=sa ../shared/bench/throughput || \
	  echo "shared/bench not found beside the repo; Go benchmarks only"

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./internal/resp/

clean:
	rm -rf bin
