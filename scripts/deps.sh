#!/usr/bin/env bash
# deps.sh — install what petitiond's integration tests and benchmarks need on a
# fresh Debian 12 machine, then fetch the Kafka jars. Idempotent: installs only
# what is missing, runs `apt-get update` once and only when something is.
# Works unattended (CI=true, no stdin). Needs root for apt-get.
#
#   scripts/deps.sh            install missing packages + scripts/kafka.sh fetch
#   scripts/deps.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Debian packages the tests use: kcat as an independent consumer, Dovecot for
# the imap channel; for the scan channel tesseract with the Simplified Chinese
# model (OCR), poppler-utils (PDF pages), zbar-tools (QR/barcodes),
# libtiff-tools (multi-page TIFF test forms) and fonts-noto-cjk (rendering the
# test forms).
PACKAGES=(kcat dovecot-imapd tesseract-ocr tesseract-ocr-chi-sim poppler-utils zbar-tools libtiff-tools fonts-noto-cjk)
# Headless Chromium for the status page test (test/integration/
# status_page_test.go): it renders the admin listener's page, whose numbers
# are read from the DOM and compared with /metrics, and takes a screenshot.
PACKAGES+=(chromium)
# Needed by scripts/kafka.sh and scripts/dovecot.sh; listed here with the command
# that shows they are present, so a machine with another JDK is left alone.
declare -A COMMAND_PACKAGES=(
  [java]=openjdk-17-jre-headless
  [mvn]=maven
  [openssl]=openssl
  [keytool]=openjdk-17-jre-headless
)
# deploy/ tests (deploy/*_test.go): promtool checks and unit-tests the
# alerting rules, systemd-analyze verifies the unit, the .deb test runs the
# installed daemon as its user with setpriv and builds it with make.
COMMAND_PACKAGES[promtool]=prometheus
COMMAND_PACKAGES[systemd-analyze]=systemd
COMMAND_PACKAGES[setpriv]=util-linux
COMMAND_PACKAGES[make]=make
COMMAND_PACKAGES[curl]=curl

log() { printf 'deps.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing_packages() {
  local p cmd
  for p in "${PACKAGES[@]}"; do
    installed "${p}" || printf '%s\n' "${p}"
  done
  for cmd in "${!COMMAND_PACKAGES[@]}"; do
    command -v "${cmd}" >/dev/null 2>&1 || printf '%s\n' "${COMMAND_PACKAGES[${cmd}]}"
  done
}

check_only=""
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

mapfile -t missing < <(missing_packages | sort -u)

if [[ -n "${check_only}" ]]; then
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "missing: ${missing[*]}"
    exit 1
  fi
  log "all packages present"
  exit 0
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  [[ ${EUID} -eq 0 ]] || die "missing packages (${missing[*]}); run as root: apt-get install -y ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep package postinsts (dovecot-core) from starting system services where
  # no policy-rc.d exists yet; containers usually have one already.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e "${policy}" ]]; then
    printf '#!/bin/sh\n# temporary, by petitiond scripts/deps.sh\nexit 101\n' >"${policy}"
    chmod 755 "${policy}"
    # shellcheck disable=SC2064  # expand now: remove exactly this file
    trap "rm -f '${policy}'" EXIT
  fi
  apt_log="${TMPDIR:-/tmp}/petitiond-apt-deps.log"
  : >"${apt_log}"
  log "missing: ${missing[*]}; apt-get update (log ${apt_log})"
  apt-get update -qq </dev/null >>"${apt_log}" 2>&1 \
    || { tail -n 20 "${apt_log}" >&2; die "apt-get update failed"; }
  log "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      "${missing[@]}" </dev/null >>"${apt_log}" 2>&1 \
    || { tail -n 30 "${apt_log}" >&2; die "apt-get install failed (log ${apt_log})"; }
  mapfile -t still < <(missing_packages | sort -u)
  [[ ${#still[@]} -eq 0 ]] || die "still missing after install: ${still[*]}"
  log "installed ${missing[*]}"
else
  log "all packages present (${PACKAGES[*]} ${COMMAND_PACKAGES[*]})"
fi

# The Debian package would run its own Dovecot on 143/993: make sure it is off.
"${SCRIPTS_DIR}/dovecot.sh" install

"${SCRIPTS_DIR}/kafka.sh" fetch

# --- schemathesis (OpenAPI fuzzing of the web channel and the CTI webhook) ---
# A pinned schemathesis from PyPI in a venv under ~/.cache/petitiond; needs
# python3 with venv (python3-venv on Debian), installed here when missing.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  [[ ${EUID} -eq 0 ]] || die "python3 with venv missing; run as root: apt-get install -y python3 python3-venv"
  log "apt-get install python3 python3-venv"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv; } \
    </dev/null >>"${TMPDIR:-/tmp}/petitiond-apt-deps.log" 2>&1 || die "apt-get install python3-venv failed"
fi
"${SCRIPTS_DIR}/schemathesis.sh" install
# --- end schemathesis ---

# --- schema registry (the `petitiond schema register` test) ---
# Apicurio Registry built from Maven Central into ~/.cache/petitiond; needs
# the JRE and maven installed above.
"${SCRIPTS_DIR}/schema-registry.sh" install
# --- end schema registry ---

# SeaweedFS, the S3-compatible server of the S3 blob backend tests: built
# from the Go module proxy into ~/.cache/petitiond once (minutes).
"${SCRIPTS_DIR}/seaweedfs.sh" install
log "done"
