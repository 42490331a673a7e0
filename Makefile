# ordersync — one Makefile for SAM's makefile builder and for people.
#
#   make run     the whole pipeline locally (embedded Kafka, functions, gateway, sink)
#   make test    every test (needs MariaDB on 127.0.0.1:3306 for the database tests),
#                then one line per skipped test and why, and the counts
#   make test-short  the fast tests only (go test -short: no MariaDB, builds or processes)
#   make bench   benchmarks; rewrites BENCHMARKS.md
#   make lint    gofmt + go vet
#   make build   Lambda bootstraps (linux/arm64) for every function under bin/
#   make topics  create the topics on $KAFKA_BROKERS, durably (RF 3, min.insync.replicas 2)

GO           ?= go
GOOS_LAMBDA  ?= linux
GOARCH_LAMBDA?= arm64
ARTIFACTS_DIR?= bin
CONNECT_URL  ?= http://localhost:8083
FUZZTIME     ?= 5s

LAMBDA_BUILD = GOOS=$(GOOS_LAMBDA) GOARCH=$(GOARCH_LAMBDA) CGO_ENABLED=0 \
	$(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w"

.PHONY: build run test test-short test-fuzz fuzz-long bench lint migrate topics connect-register \
	build-CreateOrderFunction build-ValidateOrderFunction build-ValidateOrderSelfManagedFunction \
	build-GetOrdersFunction

# SAM's makefile builder calls `make build-<LogicalId> ARTIFACTS_DIR=<dir>`;
# both functions share one recipe and leave <dir>/bootstrap.
build-CreateOrderFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/create-order

build-ValidateOrderFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/validate-order

# The same binary, deployed instead of ValidateOrderFunction when the trigger is a
# self-managed Kafka cluster (template.yaml: condition UseSelfManagedKafka).
build-ValidateOrderSelfManagedFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/validate-order

# The read side. Built without the sqlite tag: the Lambda binary carries no SQLite driver.
build-GetOrdersFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/get-orders

build:
	$(MAKE) build-CreateOrderFunction ARTIFACTS_DIR=bin/create-order
	$(MAKE) build-ValidateOrderFunction ARTIFACTS_DIR=bin/validate-order
	$(MAKE) build-GetOrdersFunction ARTIFACTS_DIR=bin/get-orders

# Built, then run, rather than `go run`, so that the stack is the process Ctrl-C reaches.
# The first build compiles the AWS SDK, franz-go and SQLite: it says so, and go build -v
# lists each package as it compiles (a cached build lists none). ARGS passes flags:
# make run ARGS=--help
#
# Exit status: Ctrl-C interrupts make as well as the stack; the stack drains and exits
# 0, but make reports its own interruption (130 in the shell). For the stack's own
# status run .local/bin/ordersync directly.
run:
	@mkdir -p .local/bin
	@[ -x .local/bin/ordersync ] || echo "ordersync: first build; it may take a few minutes (packages are listed as they compile)"
	$(GO) build -v -o .local/bin/ordersync ./cmd/ordersync
	@exec .local/bin/ordersync $(ARGS)

# The fuzz runs come first so that the report of the test run, its skipped tests with
# their reasons and the counts, ends the output. A failed test or build fails the target.
test: test-fuzz
	bash -o pipefail -c '$(GO) test -count=1 -json ./... 2>&1 | $(GO) run ./internal/testkit/cmd/testreport -slowest 10'

test-short:
	$(GO) test -short ./...

# A bounded run of every fuzz target on top of its committed seed corpus (the seeds also
# run in every plain `go test`), one target at a time, each with its executions/second.
test-fuzz:
	$(GO) run ./internal/testkit/cmd/fuzzrun -fuzztime $(FUZZTIME)

# Deeper runs, 2 minutes a target; rewrites the fuzz table of docs/guarantees.md.
fuzz-long:
	$(GO) run ./internal/testkit/cmd/fuzzrun -fuzztime 2m -doc docs/guarantees.md

bench:
	$(GO) run ./local/bench

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Applies db/migrations to $$DATABASE_URL (mysql://user:pass@host:port/db), or to the
# local stack's SQLite file when it is unset. Safe to run again.
migrate:
	$(GO) run ./cmd/ordersync migrate

# Creates the pipeline's and the sinks' topics on $$KAFKA_BROKERS (KAFKA_AUTH etc. as for
# the functions) with replication factor 3 and min.insync.replicas 2; reports existing
# topics that fall short and changes none. Safe to run again. ARGS passes flags:
# make topics ARGS="--dry-run", ARGS="--replication-factor 2" on a 2-AZ cluster.
topics:
	$(GO) run ./cmd/ordersync topics $(ARGS)

# Registers or updates both sink connectors on a self-hosted Kafka Connect (idempotent PUT).
connect-register:
	CONNECT_URL=$(CONNECT_URL) ./connect/register.sh
