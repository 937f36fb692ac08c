#!/usr/bin/env bash
# test-cluster.sh — what `make test-cluster` runs: a three-node KRaft cluster
# (scripts/kafka-cluster.sh) in a fresh state dir, the failover tests
# (go test -tags cluster ./test/cluster/...) against it, then the cluster is
# stopped. Prints the measured figures and "tests: N passed, N failed, N skipped".
# Under CI=true a missing cluster fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test-cluster.sh: %s\n' "$*" >&2; }

export CLUSTER_STATE_DIR="${CLUSTER_STATE_DIR:-$(mktemp -d /tmp/petitiond-kafka-cluster-test.XXXXXX)}"
work="$(mktemp -d /tmp/petitiond-test-cluster.XXXXXX)"
cleanup() {
  bash scripts/kafka-cluster.sh stop >/dev/null 2>&1 || true
  rm -rf "${work}"
}
trap cleanup EXIT

PETITIOND_KAFKA_CLUSTER="$(bash scripts/kafka-cluster.sh start)"
export PETITIOND_KAFKA_CLUSTER
export PETITIOND_KAFKA_CLUSTER_SCRIPT="$PWD/scripts/kafka-cluster.sh"
export PETITIOND_CLUSTER_REPORT="${work}/report.txt"

go build -o "${work}/testsummary" ./internal/tools/testsummary
test_log=/tmp/petitiond-go-test-cluster.json
log "go test -tags cluster (brokers ${PETITIOND_KAFKA_CLUSTER}, state ${CLUSTER_STATE_DIR}; go test -json output in ${test_log})"
set +e
go test -json -count=1 -timeout 20m -tags cluster ./test/cluster/... 2>&1 | tee "${test_log}" | "${work}/testsummary"
status=("${PIPESTATUS[@]}")
set -e
if [[ -s "${PETITIOND_CLUSTER_REPORT}" ]]; then
  log "figures (this machine):"
  cat "${PETITIOND_CLUSTER_REPORT}" >&2
fi
if (( status[0] != 0 )); then
  log "broker logs kept in ${CLUSTER_STATE_DIR}/node*/logs"
  exit "${status[0]}"
fi
if (( status[2] == 0 )); then rm -rf "${CLUSTER_STATE_DIR}"; fi
exit "${status[2]}"
