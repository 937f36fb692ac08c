#!/usr/bin/env bash
# test-cluster.sh — what `make test-cluster` runs: a three-node KRaft cluster
# (scripts/kafka-cluster.sh) in a fresh state dir, a Dovecot (ports 23143/23993)
# and a SeaweedFS S3 server (21333, 21300-21302) of its own, the failover tests
# (go test -tags cluster ./test/cluster/...) against them, then all is
# stopped. Prints the measured figures and "tests: N passed, N failed, N skipped".
# Under CI=true a missing cluster fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test-cluster.sh: %s\n' "$*" >&2; }

bash scripts/deps.sh

export CLUSTER_STATE_DIR="${CLUSTER_STATE_DIR:-$(mktemp -d /tmp/petitiond-kafka-cluster-test.XXXXXX)}"
work="$(mktemp -d /tmp/petitiond-test-cluster.XXXXXX)"
# Dovecot and SeaweedFS on ports of their own, so that this runs beside make test.
# Every fixed port is below 32768, outside Linux's ephemeral range: a port a
# component dials before it listens (SeaweedFS, the KRaft controllers) can
# otherwise be taken by a TCP self-connect (seen: "bind: address already in use").
export DOVECOT_PORT="${CLUSTER_DOVECOT_PORT:-23143}" DOVECOT_TLS_PORT="${CLUSTER_DOVECOT_TLS_PORT:-23993}"
export DOVECOT_STATE_DIR="${CLUSTER_DOVECOT_STATE_DIR:-$(mktemp -d /tmp/petitiond-dovecot-cluster.XXXXXX)}"
export SEAWEEDFS_PORT_BASE="${CLUSTER_SEAWEEDFS_PORT_BASE:-21300}" SEAWEEDFS_S3_PORT="${CLUSTER_SEAWEEDFS_S3_PORT:-21333}"
export SEAWEEDFS_STATE_DIR="${work}/seaweedfs"
cleanup() {
  bash scripts/kafka-cluster.sh stop >/dev/null 2>&1 || true
  bash scripts/dovecot.sh stop >/dev/null 2>&1 || true
  bash scripts/seaweedfs.sh kill >/dev/null 2>&1 || true
  rm -rf "${work}" "${DOVECOT_STATE_DIR}"
}
trap cleanup EXIT

bash scripts/dovecot.sh start >/dev/null
export PETITIOND_DOVECOT="127.0.0.1:${DOVECOT_PORT}"
bash scripts/seaweedfs.sh start >/dev/null
eval "$(bash scripts/seaweedfs.sh env | sed 's/^/export /')"
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
