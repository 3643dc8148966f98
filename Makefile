# redcluster: build, test and benchmark targets.
GO      ?= go
BIN     := bin/redcluster
PKGS    := ./...

.PHONY: build test unit deps fmt vet bench bench-repl fuzz clean cluster cluster-stop image test-docker compose-up compose-down sim

# build makes static binaries (CGO_ENABLED=0): the node, and
# bin/redcluster-create, which the container image uses to create a cluster.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/redcluster
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/redcluster-create ./cmd/redcluster-create

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
	@$(MAKE) --no-print-directory bench-repl

# bench-repl times a full synchronization of 1,000,000 keys and measures the
# replication lag under a SET flood, redis-server (A) against bin/redcluster
# (B), alternating (scripts/bench/fullsync; it uses $(SHARED_BENCH)/benchlib.py).
bench-repl: deps build
	@test -d $(SHARED_BENCH) || { echo "$(SHARED_BENCH) not found: skipping bench-repl"; exit 0; }; \
	  SHARED_BENCH=$(abspath $(SHARED_BENCH)) B_BIN=$(CURDIR)/$(BIN) scripts/bench/fullsync

# fuzz runs each fuzz target for FUZZTIME; the corpora live in testdata/fuzz.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/resp/
	$(GO) test -run '^$$' -fuzz FuzzResumeParse -fuzztime $(FUZZTIME) ./internal/resp/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./internal/gossip/
	$(GO) test -run '^$$' -fuzz FuzzDispatch -fuzztime $(FUZZTIME) ./internal/server/

# sim runs many more seeded failure schedules of the cluster simulator than
# go test does (SIM_SCHEDULES of them from seed SIM_BASE; a failing seed
# prints how to rerun it alone with its trace: SIM_SEED=<n>).
SIM_SCHEDULES ?= 20000
SIM_BASE ?= $(shell date +%s)
sim:
	SIM_SCHEDULES=$(SIM_SCHEDULES) SIM_BASE=$(SIM_BASE) $(GO) test -count=1 -timeout 120m -run 'TestSimSchedules|TestSimRegressions' -v ./internal/cluster/

clean:
	rm -rf bin

# cluster starts CLUSTER_NODES (6) nodes on 127.0.0.1:CLUSTER_BASE_PORT
# (7000)... and creates the cluster with redis-cli; cluster-stop stops them
# and removes CLUSTER_DIR (CLUSTER_KEEP=1 keeps it). Settings: scripts/cluster.sh.
cluster: deps build
	@scripts/cluster.sh start

cluster-stop:
	@scripts/cluster.sh stop

# image builds redcluster:local FROM scratch around the host-built binaries.
IMAGE ?= redcluster:local
image: build
	docker build -t $(IMAGE) .

# compose-up/-down run docker-compose.yml (six nodes + a one-shot create);
# compose-up returns once the create service has finished.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
compose-up: image
	$(COMPOSE) up -d
	@id=$$($(COMPOSE) ps -q create) && rc=$$(docker wait $$id) && $(COMPOSE) logs --no-color create && \
	  if [ "$$rc" = 0 ]; then echo "cluster ready: redis-cli -c -p 7000"; else echo "create failed (exit $$rc)"; exit 1; fi

compose-down:
	$(COMPOSE) down -v

# test-docker runs tests/docker (image, compose up, cluster checks, down -v);
# plain `make test` skips it.
test-docker: image
	REDCLUSTER_DOCKER_TEST=1 $(GO) test -count=1 -timeout 10m -v ./tests/docker/
