#!/usr/bin/env bash
# schemathesis.sh — the property-based API fuzzer the web channel's and the
# CTI webhook's OpenAPI documents are checked with (test/integration
# openapi_fuzz_test.go). Installs a pinned schemathesis from PyPI into a
# virtualenv cached outside the repository.
#
#   scripts/schemathesis.sh install   make the venv unless it is there (idempotent)
#   scripts/schemathesis.sh path      print the path of the schemathesis command
#
# SCHEMATHESIS_VERSION (default below) and PETITIOND_CACHE (default
# ~/.cache/petitiond) choose the version and where the venv lives.
set -euo pipefail

SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
CACHE="${PETITIOND_CACHE:-${HOME}/.cache/petitiond}"
VENV="${CACHE}/venv-schemathesis-${SCHEMATHESIS_VERSION}"
BIN="${VENV}/bin/schemathesis"

log() { printf 'schemathesis.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

install() {
  if [[ -e "${VENV}/.complete" && -x "${BIN}" ]]; then
    log "schemathesis ${SCHEMATHESIS_VERSION} present (${BIN})"
    return
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is required (apt-get install python3 python3-venv)"
  mkdir -p "${CACHE}"
  # A venv's scripts carry its path, so it is made in place; .complete
  # marks a finished install (an interrupted one is made again).
  rm -rf "${VENV}"
  python3 -m venv "${VENV}" || die "python3 -m venv failed (apt-get install python3-venv)"
  local pip_log="${TMPDIR:-/tmp}/petitiond-pip-schemathesis.log"
  log "pip install schemathesis==${SCHEMATHESIS_VERSION} into ${VENV} (log ${pip_log})"
  if ! "${VENV}/bin/pip" install --disable-pip-version-check -q "schemathesis==${SCHEMATHESIS_VERSION}" >"${pip_log}" 2>&1; then
    tail -n 20 "${pip_log}" >&2
    rm -rf "${VENV}"
    die "pip install failed (log ${pip_log})"
  fi
  "${BIN}" --version >&2 || die "schemathesis does not run"
  touch "${VENV}/.complete"
}

case "${1:-}" in
  install) install ;;
  path) [[ -x "${BIN}" ]] || die "not installed; run scripts/schemathesis.sh install"; printf '%s\n' "${BIN}" ;;
  -h|--help|"") sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; [[ -n "${1:-}" ]] ;;
  *) die "unknown command '$1' (try --help)" ;;
esac
