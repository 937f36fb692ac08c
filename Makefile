# petitiond — see README.md.
GO      ?= go
BIN     := bin/petitiond
CONFIG  ?= examples/petitiond.yaml
PIDFILE ?= var/petitiond.pid
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/court12368/petitiond/daemon.Version=$(VERSION)

.PHONY: build run test test-cluster unit bench fuzz check vet fmt clean kafka-start kafka-stop deb deploy-check

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

## test-cluster: a three-broker KRaft cluster (scripts/kafka-cluster.sh, ports
## 23192-23393; RF 3, min.insync.replicas=2) and the failover tests against it
## (go test -tags cluster ./test/cluster/...): brokers SIGKILLed, restarted and
## rolled under load; prints the figures and "tests: N passed, N failed, N skipped"
test-cluster:
	bash scripts/test-cluster.sh

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

## deb: the Debian package (nfpm, pinned; deploy/nfpm.yaml) in $(DEB_DIR)/
DEB_VERSION ?= 0.1.0+git$(shell git rev-parse --short HEAD 2>/dev/null || echo 0)
DEB_ARCH    ?= $(shell $(GO) env GOARCH)
DEB_DIR     ?= bin
NFPM        ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
deb: build
	mkdir -p $(DEB_DIR)
	PETITIOND_BIN=$(BIN) DEB_VERSION=$(DEB_VERSION) DEB_ARCH=$(DEB_ARCH) \
	  $(NFPM) package -f deploy/nfpm.yaml -p deb -t $(DEB_DIR)/

## deploy-check: the alerting rules (promtool) and the unit (systemd-analyze)
deploy-check: build
	promtool check rules deploy/prometheus/petitiond-alerts.yml
	sed 's|/usr/bin/petitiond|$(CURDIR)/$(BIN)|g' deploy/systemd/petitiond.service >$(dir $(BIN))petitiond.service
	systemd-analyze verify $(dir $(BIN))petitiond.service

kafka-start:
	bash scripts/kafka.sh start
kafka-stop:
	bash scripts/kafka.sh stop

clean:
	rm -rf bin var
