#!/usr/bin/env bash
# fuzz.sh — run every Go fuzz target for FUZZTIME (default 30s) each.
# Crashers are written by go test to <pkg>/testdata/fuzz/<Target>/ and must be
# committed as seeds once fixed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZTIME="${FUZZTIME:-30s}"
status=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "${pkg}" 2>/dev/null | grep '^Fuzz' || true); do
    printf 'fuzz.sh: %s %s for %s\n' "${pkg}" "${target}" "${FUZZTIME}" >&2
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME}" "${pkg}"; then
      status=1
    fi
  done
done
exit "${status}"
