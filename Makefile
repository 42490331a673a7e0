# ordersync — one Makefile for SAM's makefile builder and for people.
#
#   make run     the whole pipeline locally (embedded Kafka, functions, gateway, sink)
#   make test    every test (needs MariaDB on 127.0.0.1:3306 for the database tests)
#   make bench   benchmarks; rewrites BENCHMARKS.md
#   make lint    gofmt + go vet
#   make build   Lambda bootstraps (linux/arm64) for every function under bin/

GO           ?= go
GOOS_LAMBDA  ?= linux
GOARCH_LAMBDA?= arm64
ARTIFACTS_DIR?= bin
CONNECT_URL  ?= http://localhost:8083
FUZZTIME     ?= 10s

LAMBDA_BUILD = GOOS=$(GOOS_LAMBDA) GOARCH=$(GOARCH_LAMBDA) CGO_ENABLED=0 \
	$(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w"

.PHONY: build run test test-fuzz bench lint migrate connect-register \
	build-CreateOrderFunction build-ValidateOrderFunction build-ValidateOrderSelfManagedFunction

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

build:
	$(MAKE) build-CreateOrderFunction ARTIFACTS_DIR=bin/create-order
	$(MAKE) build-ValidateOrderFunction ARTIFACTS_DIR=bin/validate-order

# Built, then run, rather than `go run`: go run exits 1 on Ctrl-C whatever the stack
# returns, and the stack drains and exits 0. ARGS passes flags: make run ARGS=--help
run:
	@mkdir -p .local/bin
	@$(GO) build -o .local/bin/ordersync ./cmd/ordersync
	@exec .local/bin/ordersync $(ARGS)

test:
	$(GO) test -count=1 ./...
	$(MAKE) test-fuzz

# A bounded run of each fuzz target on top of its committed seed corpus (the seeds
# themselves also run in every plain `go test`). Go fuzzes one target per command.
test-fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./shared/envelope
	$(GO) test -run='^$$' -fuzz='^FuzzRequest$$' -fuzztime=$(FUZZTIME) ./shared/order
	$(GO) test -run='^$$' -fuzz='^FuzzHandle$$' -fuzztime=$(FUZZTIME) ./functions/validate-order

bench:
	$(GO) run ./local/bench

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Applies db/migrations to $$DATABASE_URL (mysql://user:pass@host:port/db), or to the
# local stack's SQLite file when it is unset. Safe to run again.
migrate:
	$(GO) run ./cmd/ordersync migrate

# Registers or updates both sink connectors on a self-hosted Kafka Connect (idempotent PUT).
connect-register:
	CONNECT_URL=$(CONNECT_URL) ./connect/register.sh
