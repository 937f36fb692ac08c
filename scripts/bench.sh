#!/usr/bin/env bash
# bench.sh — what `make bench` runs: Go benchmarks (ns/op, allocs/op) and the
# load harness (bench/loadgen) against a real single-node Kafka broker.
# Figures go to stdout and to bench-results/<date>.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p bench-results
# What the harnesses need (Kafka jars, Dovecot, tesseract …), as for make test.
bash scripts/deps.sh
# wrk drives the web channel with little CPU of its own (2 shared cores).
if ! command -v wrk >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk </dev/null >/dev/null 2>&1 \
    || { apt-get update -qq </dev/null >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk </dev/null >/dev/null 2>&1; } \
    || echo "bench.sh: wrk not installed; the wrk phase is skipped" >&2
fi
out="bench-results/$(date +%Y%m%dT%H%M%S).txt"
export KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-$(mktemp -d /tmp/petitiond-kafka-bench.XXXXXX)}"
export DOVECOT_STATE_DIR="${DOVECOT_STATE_DIR:-$(mktemp -d /tmp/petitiond-dovecot-bench.XXXXXX)}"
trap 'bash scripts/kafka.sh stop >/dev/null 2>&1 || true; bash scripts/dovecot.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/kafka.sh start >/dev/null
bash scripts/dovecot.sh start >/dev/null
{
  echo "== Go benchmarks"
  go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" ./... 2>&1 | grep -E '^(Benchmark|ok|PASS|goos|goarch|cpu|pkg)' || true
  echo
  echo "== load harness"
  go run ./bench/loadgen -brokers "127.0.0.1:${KAFKA_PORT:-9092}" -bin bin/petitiond -duration "${LOAD_DURATION:-15s}"
  echo
  echo "== calllog: CDR lines/s into Kafka, tail mode"
  go run ./bench/calllog -brokers "127.0.0.1:${KAFKA_PORT:-9092}" -bin bin/petitiond -lines "${CALLLOG_LINES:-100000}" -sync true
  echo
  echo "== imap: backfill from Dovecot, IDLE latency, 50 MB attachment"
  go run ./bench/imapbench -imap "127.0.0.1:${DOVECOT_PORT:-10143}" -brokers "127.0.0.1:${KAFKA_PORT:-9092}" -bin bin/petitiond -big
  echo
  echo "== scan: pages/min with 1 and 2 OCR workers, a 20-page PDF, field accuracy on rendered forms"
  go run ./bench/scanbench -throughput -pages "${SCAN_PAGES:-12}" -pdf20 -forms "${SCAN_FORMS:-30}" -json "${out%.txt}-scan.json"
} 2>&1 | tee "${out}"
echo "bench.sh: results in ${out}" >&2
