#!/usr/bin/env bash
# test.sh — what `make test` runs: install what the tests need, start the real
# services (Apache Kafka, Dovecot), run every Go test against them, stop them,
# and print "tests: N passed, N failed, N skipped".
# Under CI=true a missing service makes the integration tests fail, not skip,
# and any skipped test fails the run.
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
# --- schema registry: cleanup stops it too (the traps call cleanup by name) ---
eval "before_schema_registry_$(declare -f cleanup)"
cleanup() { before_schema_registry_cleanup; bash scripts/schema-registry.sh stop >/dev/null 2>&1 || true; }
# --- end schema registry ---
# --- SeaweedFS (S3 blob backend tests): killed, its data is the test's ---
export SEAWEEDFS_STATE_DIR="${SEAWEEDFS_STATE_DIR:-$(mktemp -d /tmp/petitiond-seaweedfs-test.XXXXXX)}"
eval "before_seaweedfs_$(declare -f cleanup)"
cleanup() { before_seaweedfs_cleanup; bash scripts/seaweedfs.sh kill >/dev/null 2>&1 || true; }
# --- end SeaweedFS ---

bash scripts/kafka.sh start >/dev/null
# A second broker with SASL_SSL and mutual-TLS listeners for the security tests.
bash scripts/kafka-secure.sh start >/dev/null
eval "$(bash scripts/kafka-secure.sh env | sed 's/^/export /')"
bash scripts/dovecot.sh start >/dev/null
export PETITIOND_KAFKA="127.0.0.1:${KAFKA_PORT:-9092}"
export PETITIOND_KAFKA_SCRIPT="$PWD/scripts/kafka.sh"
export PETITIOND_DOVECOT="127.0.0.1:${DOVECOT_PORT:-10143}"
export PETITIOND_DOVECOT_SCRIPT="$PWD/scripts/dovecot.sh"
# The OpenAPI fuzzer (test/integration/openapi_fuzz_test.go), installed by deps.sh.
PETITIOND_SCHEMATHESIS="$(bash scripts/schemathesis.sh path)"
export PETITIOND_SCHEMATHESIS
# --- schema registry (test/integration/schema_registry_test.go), installed by deps.sh ---
PETITIOND_SCHEMA_REGISTRY="$(bash scripts/schema-registry.sh start)"
export PETITIOND_SCHEMA_REGISTRY
# --- end schema registry ---
bash scripts/seaweedfs.sh start >/dev/null
eval "$(bash scripts/seaweedfs.sh env | sed 's/^/export /')"

log "go vet"
go vet ./...
unformatted="$(gofmt -l . || true)"
if [[ -n "${unformatted}" ]]; then
  log "gofmt needed: ${unformatted}"
  exit 1
fi
# The summariser (internal/tools/testsummary) is built before the long run.
# It prints one line per package, the output of every failing test as it
# fails, the skipped tests with their reasons and, last, the line
# "tests: N passed, N failed, N skipped"; it exits 1 on a failure, and under
# CI=true on a skip as well. The raw go test -json stream is kept in the log.
# -p 1 for the integration package would serialise everything; packages are
# independent except test/integration, which owns the shared broker.
summary_dir="$(mktemp -d /tmp/petitiond-testsummary.XXXXXX)"
trap 'cleanup; rm -rf "${summary_dir}"' EXIT
go build -o "${summary_dir}/testsummary" ./internal/tools/testsummary
test_log=/tmp/petitiond-go-test.json
log "go test (Kafka ${PETITIOND_KAFKA}, SASL_SSL ${PETITIOND_KAFKA_SASL_SSL}, Dovecot ${PETITIOND_DOVECOT}; go test -json output in ${test_log})"
set +e
go test -json -count=1 -timeout 30m ./... 2>&1 | tee "${test_log}" | "${summary_dir}/testsummary"
status=("${PIPESTATUS[@]}")
set -e
# go test's own status first: a build failure or a crash fails the run even
# if the summariser saw nothing wrong.
if (( status[0] != 0 )); then
  exit "${status[0]}"
fi
exit "${status[2]}"
