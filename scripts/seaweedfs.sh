#!/usr/bin/env bash
# seaweedfs.sh — a real S3-compatible server for the S3 blob backend tests
# (blob/s3_test.go, test/integration, test/cluster): SeaweedFS (Apache-2.0)
# built from the Go module proxy into a cache dir and run on loopback.
#
#   scripts/seaweedfs.sh install   build ./weed unless built (idempotent; ~15 min on 2 cores once)
#   scripts/seaweedfs.sh start     install if needed, start master+volume+filer+S3, wait for S3
#   scripts/seaweedfs.sh stop      stop it gracefully (about 12 s; data stays in the state dir)
#   scripts/seaweedfs.sh kill      SIGKILL it, as a crash (tests of an S3 outage)
#   scripts/seaweedfs.sh status    exit 0 while it runs
#   scripts/seaweedfs.sh env       print the settings tests read (PETITIOND_S3_*)
#   scripts/seaweedfs.sh path      print the path of the weed binary (installs)
#
# SEAWEEDFS_S3_PORT (18333; +10000 its gRPC port), SEAWEEDFS_PORT_BASE (18300:
# master, +1 volume, +2 filer, +10000 their gRPC ports), SEAWEEDFS_STATE_DIR (/tmp/petitiond-seaweedfs),
# PETITIOND_CACHE (~/.cache/petitiond). The access and secret keys are fixed
# test values written to the state dir; the tests read them from files there,
# as an operator's deployment would (blobs.s3.secret_key_file).
#
# Why build from source: `go install github.com/seaweedfs/seaweedfs/weed@v`
# is refused because the module's go.mod has replace directives; a copy of the
# module builds as its own main module, which honours them.
set -euo pipefail

SEAWEEDFS_VERSION="v0.0.0-20261109003541-7506e5f91cd6"
CACHE="${PETITIOND_CACHE:-${HOME:-/root}/.cache/petitiond}"
HOME_DIR="${CACHE}/seaweedfs-${SEAWEEDFS_VERSION}"
WEED="${HOME_DIR}/weed"
S3_PORT="${SEAWEEDFS_S3_PORT:-18333}"
BASE="${SEAWEEDFS_PORT_BASE:-18300}"
MASTER_PORT=$((BASE))
VOLUME_PORT=$((BASE + 1))
FILER_PORT=$((BASE + 2))
HOST=127.0.0.1
STATE_DIR="${SEAWEEDFS_STATE_DIR:-/tmp/petitiond-seaweedfs}"
PID_FILE="${STATE_DIR}/weed.pid"
LOG_FILE="${STATE_DIR}/weed.log"
START_TIMEOUT="${SEAWEEDFS_START_TIMEOUT:-90}"
ACCESS_KEY="petitiond-test"
SECRET_KEY="petitiond-test-secret-0123456789"
BUCKET="${SEAWEEDFS_BUCKET:-petitiond-blobs}"

log() { printf 'seaweedfs.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

install() {
  [[ -x "${WEED}" ]] && return 0
  command -v go >/dev/null || die "go is not on PATH"
  log "building SeaweedFS ${SEAWEEDFS_VERSION} into ${HOME_DIR} (once; about 15 minutes on 2 cores)"
  local json dir tmp
  json="$(GOFLAGS=-mod=mod go mod download -json "github.com/seaweedfs/seaweedfs@${SEAWEEDFS_VERSION}")" ||
    die "go mod download failed: ${json}"
  dir="$(printf '%s\n' "${json}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -d "${dir}" ]] || die "module directory not found in: ${json}"
  mkdir -p "${CACHE}"
  tmp="$(mktemp -d "${CACHE}/seaweedfs-build.XXXXXX")"
  cp -r "${dir}/." "${tmp}/src"
  chmod -R u+w "${tmp}/src"
  # The copy is its own main module: replace directives apply, the module's
  # go.sum verifies what it downloads.
  (cd "${tmp}/src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "${tmp}/weed" ./weed) ||
    { rm -rf "${tmp}"; die "building weed failed"; }
  mkdir -p "${HOME_DIR}"
  mv "${tmp}/weed" "${WEED}.partial"
  mv "${WEED}.partial" "${WEED}"
  rm -rf "${tmp}"
  log "built ${WEED}"
}

running() {
  [[ -f "${PID_FILE}" ]] && kill -0 "$(cat "${PID_FILE}")" 2>/dev/null
}

# writable: the master has a leader (after a restart it elects itself
# again) and assigns a file id, so that an upload would succeed now.
writable() {
  curl -sf -m 2 "http://${HOST}:${MASTER_PORT}/dir/assign" 2>/dev/null | grep -q '"fid"'
}

s3_answers() {
  # Any HTTP answer from the S3 port (403 without credentials) means it is up.
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://${HOST}:${S3_PORT}/" 2>/dev/null || true)"
  [[ "${code}" != "000" && -n "${code}" ]]
}

start() {
  install
  if running; then
    log "already running (pid $(cat "${PID_FILE}"))"
    return 0
  fi
  mkdir -p "${STATE_DIR}/data" "${STATE_DIR}/keys"
  printf '%s' "${ACCESS_KEY}" >"${STATE_DIR}/keys/access_key"
  printf '%s' "${SECRET_KEY}" >"${STATE_DIR}/keys/secret_key"
  chmod 600 "${STATE_DIR}/keys/"*
  cat >"${STATE_DIR}/s3.json" <<EOF
{
  "identities": [
    {
      "name": "petitiond",
      "credentials": [{"accessKey": "${ACCESS_KEY}", "secretKey": "${SECRET_KEY}"}],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF
  # One process: master, volume server, filer and the S3 gateway. Every
  # bucket is a SeaweedFS collection with volumes of its own and the tests
  # make a bucket each: many small volumes (they are not preallocated).
  setsid "${WEED}" server \
    -ip="${HOST}" -ip.bind="${HOST}" \
    -dir="${STATE_DIR}/data" \
    -master.port="${MASTER_PORT}" -master.volumeSizeLimitMB=64 \
    -master.electionTimeout=1s \
    -volume.port="${VOLUME_PORT}" -volume.max=2000 \
    -filer -filer.port="${FILER_PORT}" \
    -s3 -s3.port="${S3_PORT}" -s3.config="${STATE_DIR}/s3.json" \
    >"${LOG_FILE}" 2>&1 </dev/null &
  echo $! >"${PID_FILE}"
  local deadline=$((SECONDS + START_TIMEOUT))
  until s3_answers && writable; do
    if ! running; then
      tail -n 30 "${LOG_FILE}" >&2 || true
      die "weed exited during start (log ${LOG_FILE})"
    fi
    if ((SECONDS > deadline)); then
      tail -n 30 "${LOG_FILE}" >&2 || true
      die "S3 did not answer on ${HOST}:${S3_PORT} within ${START_TIMEOUT}s"
    fi
    sleep 0.5
  done
  log "S3 on http://${HOST}:${S3_PORT} (pid $(cat "${PID_FILE}"), log ${LOG_FILE})"
}

stop() {
  running || { rm -f "${PID_FILE}"; return 0; }
  local pid
  pid="$(cat "${PID_FILE}")"
  kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true
  rm -f "${PID_FILE}"
}

env_out() {
  cat <<EOF
PETITIOND_S3_ENDPOINT=${HOST}:${S3_PORT}
PETITIOND_S3_BUCKET=${BUCKET}
PETITIOND_S3_ACCESS_KEY_FILE=${STATE_DIR}/keys/access_key
PETITIOND_S3_SECRET_KEY_FILE=${STATE_DIR}/keys/secret_key
PETITIOND_SEAWEEDFS_SCRIPT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/seaweedfs.sh
EOF
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  kill)
    if running; then
      pid="$(cat "${PID_FILE}")"
      kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null || true
      while kill -0 "${pid}" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "${PID_FILE}"
    ;;
  status) running ;;
  env) env_out ;;
  path) install; echo "${WEED}" ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
