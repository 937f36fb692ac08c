# petitiond — see README.md.
GO      ?= go
BIN     := bin/petitiond
CONFIG  ?= examples/petitiond.yaml
PIDFILE ?= var/petitiond.pid
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/court12368/petitiond/daemon.Version=$(VERSION)

.PHONY: build run test unit bench fuzz check vet fmt clean kafka-start kafka-stop

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/petitiond

## run: the daemon on the embedded single-node broker with the sample config;
## reload it with kill -HUP $$(cat var/petitiond.pid)
run: build
	mkdir -p $(dir $(PIDFILE))
	./$(BIN) run -c $(CONFIG) -pid-file $(PIDFILE)

## test: install and start what the tests need (Kafka, Dovecot), run them all;
## prints "tests: N passed, N failed, N skipped" (under CI=true a skip fails)
test:
	bash scripts/test.sh

## unit: only the tests that need nothing installed
unit:
	$(GO) test ./...

## bench: Go benchmarks, then every channel side by side with a bare kafka-go
## producer and Kafka's ProducerPerformance on its own broker (ports 29092/29093,
## Dovecot 29143/29993): one table, JSON in bench-results/ (see bench/README.md)
bench: build
	bash scripts/bench.sh

## fuzz: run every fuzz target for FUZZTIME each (default 30s)
fuzz:
	bash scripts/fuzz.sh

check: build
	./$(BIN) check -c $(CONFIG)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w .

kafka-start:
	bash scripts/kafka.sh start
kafka-stop:
	bash scripts/kafka.sh stop

clean:
	rm -rf bin var
