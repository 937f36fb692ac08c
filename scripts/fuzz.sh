#!/usr/bin/env bash
# fuzz.sh — run every Go fuzz target for FUZZTIME (default 30s) each.
# Crashers are written by go test to <pkg>/testdata/fuzz/<Target>/ and must be
# committed as seeds once fixed.
#
# A target fails when go test fails AND wrote a new input to its
# testdata/fuzz/<Target>/. Go 1.26's fuzz coordinator can report a bare
# "context deadline exceeded" at the -fuzztime boundary with no failing
# input (a race in internal/fuzz, go.dev/issue/75804, fixed in Go 1.27): that
# is reported as such and does not fail the run. Any other failure does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZTIME="${FUZZTIME:-30s}"
status=0 passed=0 failed=0 raced=0
listing() { ls -1 "$1" 2>/dev/null | sort || true; }
for pkg in $(go list ./...); do
  dir="$(go list -f '{{.Dir}}' "${pkg}")"
  for target in $(go test -list '^Fuzz' "${pkg}" 2>/dev/null | grep '^Fuzz' || true); do
    printf 'fuzz.sh: %s %s for %s\n' "${pkg}" "${target}" "${FUZZTIME}" >&2
    corpus="${dir}/testdata/fuzz/${target}"
    before="$(listing "${corpus}")"
    out="$(mktemp)"
    set +e
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME}" "${pkg}" 2>&1 | tee "${out}"
    rc=${PIPESTATUS[0]}
    set -e
    after="$(listing "${corpus}")"
    if (( rc == 0 )); then
      passed=$((passed + 1))
    elif [[ "${before}" == "${after}" ]] && grep -q '^    context deadline exceeded$' "${out}" &&
      ! grep -qE '^\s+(--- FAIL: .*/|panic:)|Failing input written' "${out}"; then
      printf 'fuzz.sh: %s: the fuzz coordinator'"'"'s deadline race (go.dev/issue/75804), no failing input: not a failure\n' "${target}" >&2
      raced=$((raced + 1))
    else
      failed=$((failed + 1))
      status=1
    fi
    rm -f "${out}"
  done
done
printf 'fuzz: %d passed, %d failed, %d stopped by the coordinator race\n' "${passed}" "${failed}" "${raced}"
exit "${status}"
