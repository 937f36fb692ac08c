#!/usr/bin/env bash
# test.sh — what `make test` runs: install what the tests need, start the real
# services (Apache Kafka, Dovecot), run every Go test against them, stop them.
# Under CI=true a missing service makes the integration tests fail, not skip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

bash scripts/deps.sh

# Each run gets its own broker state so earlier runs cannot leak records in.
export KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-$(mktemp -d /tmp/petitiond-kafka-test.XXXXXX)}"
export DOVECOT_STATE_DIR="${DOVECOT_STATE_DIR:-$(mktemp -d /tmp/petitiond-dovecot-test.XXXXXX)}"
export KAFKA_SECURE_STATE_DIR="${KAFKA_SECURE_STATE_DIR:-$(mktemp -d /tmp/petitiond-kafka-secure-test.XXXXXX)}"
cleanup() {
  bash scripts/kafka.sh stop >/dev/null 2>&1 || true
  bash scripts/kafka-secure.sh stop >/dev/null 2>&1 || true
  bash scripts/dovecot.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash scripts/kafka.sh start >/dev/null
# A second broker with SASL_SSL and mutual-TLS listeners for the security tests.
bash scripts/kafka-secure.sh start >/dev/null
eval "$(bash scripts/kafka-secure.sh env | sed 's/^/export /')"
bash scripts/dovecot.sh start >/dev/null
export PETITIOND_KAFKA="127.0.0.1:${KAFKA_PORT:-9092}"
export PETITIOND_KAFKA_SCRIPT="$PWD/scripts/kafka.sh"
export PETITIOND_DOVECOT="127.0.0.1:${DOVECOT_PORT:-10143}"
export PETITIOND_DOVECOT_SCRIPT="$PWD/scripts/dovecot.sh"

log "go vet"
go vet ./...
unformatted="$(gofmt -l . || true)"
if [[ -n "${unformatted}" ]]; then
  log "gofmt needed: ${unformatted}"
  exit 1
fi
log "go test (Kafka ${PETITIOND_KAFKA}, SASL_SSL ${PETITIOND_KAFKA_SASL_SSL}, Dovecot ${PETITIOND_DOVECOT})"
# -p 1 for the integration package would serialise everything; packages are
# independent except test/integration, which owns the shared broker.
go test -count=1 -timeout 30m ./... 2>&1 | tee /tmp/petitiond-go-test.log | grep -vE '^\s+harness_test.go:[0-9]+: time=' 
exit "${PIPESTATUS[0]}"
