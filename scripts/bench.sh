#!/usr/bin/env bash
# bench.sh — what `make bench` runs: Go benchmarks (ns/op, allocs/op), then
# bench/report: every channel side by side with a bare kafka-go producer and
# Apache Kafka's ProducerPerformance on the same broker, as one table.
# Figures go to stdout and to bench-results/<date>.txt and .json.
#
# It installs what it needs (scripts/deps.sh: JRE, Kafka jars with
# kafka-tools, Dovecot, tesseract …) and starts its own Kafka and Dovecot in
# fresh state dirs on its own ports, so it runs beside `make run` (9092) and
# `make test` (9092/10143); petitiond's web and admin ports are picked free.
# See bench/README.md for the variables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p bench-results bin

# Own ports (BENCH_* so that a KAFKA_PORT exported for other work does
# not move the bench onto it).
export KAFKA_PORT="${BENCH_KAFKA_PORT:-29092}"
export KAFKA_CONTROLLER_PORT="${BENCH_KAFKA_CONTROLLER_PORT:-29093}"
export DOVECOT_PORT="${BENCH_DOVECOT_PORT:-29143}"
export DOVECOT_TLS_PORT="${BENCH_DOVECOT_TLS_PORT:-29993}"
export KAFKA_STATE_DIR="${BENCH_KAFKA_STATE_DIR:-$(mktemp -d /tmp/petitiond-bench-kafka.XXXXXX)}"
export DOVECOT_STATE_DIR="${BENCH_DOVECOT_STATE_DIR:-$(mktemp -d /tmp/petitiond-bench-dovecot.XXXXXX)}"

# Sizes. BENCH_FULL=1 runs the issue's memory sizes (1,000,000 CDR lines,
# 20,000 letters), which take far longer than the ~10-minute default.
if [ "${BENCH_FULL:-0}" = 1 ]; then
  : "${CALLLOG_LINES:=1000000}" "${IMAP_LETTERS:=20000}"
fi
CALLLOG_LINES="${CALLLOG_LINES:-100000}"
IMAP_LETTERS="${IMAP_LETTERS:-3000}"

# What the harnesses need, as for make test: Kafka jars (kafka.sh fetch
# includes org.apache.kafka:kafka-tools with argparse4j and jackson, which
# ProducerPerformance needs), Dovecot, tesseract …
bash scripts/deps.sh
libs="$(bash scripts/kafka.sh env | sed -n 's/^KAFKA_HOME=//p')/libs"
if ! ls "$libs"/kafka-tools-[0-9]*.jar "$libs"/argparse4j-*.jar >/dev/null 2>&1; then
  echo "bench.sh: kafka-tools or argparse4j missing in $libs; refetching" >&2
  rm -f "$libs/.petitiond-complete"
  bash scripts/kafka.sh fetch
fi

stop_services() {
  bash scripts/kafka.sh reset >/dev/null 2>&1 || true
  bash scripts/dovecot.sh reset >/dev/null 2>&1 || true
}
trap stop_services EXIT
brokers="$(bash scripts/kafka.sh start)"
imap="$(bash scripts/dovecot.sh start)"

go build -o bin/scanbench ./bench/scanbench
go build -o bin/report ./bench/report

stamp="$(date +%Y%m%dT%H%M%S)"
out="bench-results/${stamp}.txt"
{
  if [ "${GO_BENCH:-1}" = 1 ]; then
    echo "== Go benchmarks"
    go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" ./... 2>&1 | grep -E '^(Benchmark|ok|PASS|goos|goarch|cpu|pkg)' || true
    echo
  fi
  echo "== side by side (bench/report): Kafka ${brokers}, Dovecot ${imap}"
  ./bin/report -brokers "${brokers}" -imap "${imap}" -bin bin/petitiond -scanbench bin/scanbench -kafka-libs "$libs" \
    -web-duration "${WEB_DURATION:-15s}" -web-clients "${WEB_CLIENTS:-64}" -open-rate "${OPEN_RATE:-2000}" \
    -calllog-lines "${CALLLOG_LINES}" -imap-letters "${IMAP_LETTERS}" -imap-idle "${IMAP_IDLE:-20}" \
    -scan-pages "${SCAN_PAGES:-12}" -phases "${BENCH_PHASES:-web,open,calllog,imap,idle,big,scan}" \
    -json "bench-results/${stamp}.json"
  if [ "${SCAN_FORMS:-0}" -gt 0 ]; then
    echo
    echo "== scan: field accuracy on ${SCAN_FORMS} rendered forms, clean and noisy"
    ./bin/scanbench -forms "${SCAN_FORMS}" -json "bench-results/${stamp}-scan-accuracy.json"
  fi
} 2>&1 | tee "${out}"
echo "bench.sh: results in ${out} and bench-results/${stamp}.json" >&2
