#!/usr/bin/env bash
# dovecot.sh — a private Dovecot IMAP server on unprivileged loopback ports for
# petitiond's imap channel integration tests and benchmarks (docs/architecture.md,
# "Testing against real services").
#
#   scripts/dovecot.sh install     apt-get install dovecot-imapd if missing (system service kept off)
#   scripts/dovecot.sh start       write config, start, wait until the port greets "* OK"
#   scripts/dovecot.sh stop        stop this instance (mail is kept)
#   scripts/dovecot.sh restart     stop + start (drops every client connection)
#   scripts/dovecot.sh status      exit 0 if this instance is running
#   scripts/dovecot.sh reset       stop and delete the state dir (all mail)
#   scripts/dovecot.sh env         print the effective settings
#
# See scripts/README.md for the environment variables.
set -euo pipefail

DOVECOT_HOST="${DOVECOT_HOST:-127.0.0.1}"
DOVECOT_PORT="${DOVECOT_PORT:-10143}"
DOVECOT_TLS_PORT="${DOVECOT_TLS_PORT:-10993}"
DOVECOT_STATE_DIR="${DOVECOT_STATE_DIR:-/tmp/petitiond-dovecot}"
# Space-separated user:password pairs (passwords without spaces or colons).
DOVECOT_USERS="${DOVECOT_USERS:-petitions:secret letters2:secret2}"
# Mailboxes created automatically in every account (space separated, "/" separator).
DOVECOT_MAILBOXES="${DOVECOT_MAILBOXES:-Petitions/Done Petitions/Failed Petitions/Ignored}"
# System user that owns the Maildirs when started as root.
DOVECOT_MAIL_USER="${DOVECOT_MAIL_USER:-petitiond-mail}"
DOVECOT_START_TIMEOUT="${DOVECOT_START_TIMEOUT:-30}"
DOVECOT_STOP_TIMEOUT="${DOVECOT_STOP_TIMEOUT:-15}"

CONF="${DOVECOT_STATE_DIR}/dovecot.conf"
RUN_DIR="${DOVECOT_STATE_DIR}/run"
LIB_DIR="${DOVECOT_STATE_DIR}/lib"
LOG_DIR="${DOVECOT_STATE_DIR}/logs"
LOG_FILE="${LOG_DIR}/dovecot.log"
SSL_DIR="${DOVECOT_STATE_DIR}/ssl"
MAIL_DIR="${DOVECOT_STATE_DIR}/mail"
PASSWD_FILE="${DOVECOT_STATE_DIR}/passwd"
PID_FILE="${RUN_DIR}/master.pid"

log() { printf 'dovecot.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

find_dovecot() {
  if command -v dovecot >/dev/null 2>&1; then
    command -v dovecot
  elif [[ -x /usr/sbin/dovecot ]]; then
    echo /usr/sbin/dovecot
  fi
}

# ---------------------------------------------------------------- install

# Stop and disable the distribution's own dovecot service (ports 143/993), if any.
stop_system_dovecot() {
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/dovecot ]]; then
    update-rc.d dovecot disable >/dev/null 2>&1 || true
  fi
  local pidf=/run/dovecot/master.pid pid
  if [[ -f "${pidf}" ]]; then
    pid="$(cat "${pidf}" 2>/dev/null || true)"
    if [[ "${pid}" =~ ^[0-9]+$ ]] && kill -0 "${pid}" 2>/dev/null; then
      log "stopping the system dovecot service (pid ${pid}) so it does not hold ports 143/993"
      doveadm -c /etc/dovecot/dovecot.conf stop >/dev/null 2>&1 || kill -TERM "${pid}" 2>/dev/null || true
    fi
  fi
}

cmd_install() {
  if [[ -n "$(find_dovecot)" ]] && dpkg -s dovecot-imapd >/dev/null 2>&1; then
    log "dovecot-imapd already installed ($("$(find_dovecot)" --version))"
    stop_system_dovecot
    return 0
  fi
  [[ ${EUID} -eq 0 ]] || die "dovecot-imapd is not installed; run as root: apt-get install -y dovecot-imapd"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package's postinst from starting the system service where no
  # policy-rc.d exists yet (containers usually ship one that says 101 already).
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [[ ! -e "${policy}" ]]; then
    printf '#!/bin/sh\n# temporary, by petitiond scripts/dovecot.sh\nexit 101\n' >"${policy}"
    chmod 755 "${policy}"
    made_policy=1
    # shellcheck disable=SC2064  # expand now: remove exactly this file
    trap "rm -f '${policy}'" EXIT
  fi
  local apt_opts=(-y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  log "apt-get install dovecot-imapd"
  local apt_log="${TMPDIR:-/tmp}/petitiond-apt-dovecot.log"
  if ! apt-get install "${apt_opts[@]}" dovecot-imapd >"${apt_log}" 2>&1; then
    log "install failed; running apt-get update and trying again"
    apt-get update -qq >>"${apt_log}" 2>&1 || true
    apt-get install "${apt_opts[@]}" dovecot-imapd >>"${apt_log}" 2>&1 \
      || { tail -n 20 "${apt_log}" >&2; die "apt-get install dovecot-imapd failed (log ${apt_log})"; }
  fi
  if [[ -n "${made_policy}" ]]; then rm -f "${policy}"; trap - EXIT; fi
  stop_system_dovecot
  log "installed $("$(find_dovecot)" --version)"
}

# ---------------------------------------------------------------- start/stop

running_pid() {
  [[ -f "${PID_FILE}" ]] || return 1
  local pid
  pid="$(cat "${PID_FILE}" 2>/dev/null || true)"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q 'dovecot' || return 1
  printf '%s\n' "${pid}"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# True when HOST:PORT answers with an IMAP "* OK" greeting.
greets() (
  local line=""
  exec 3<>"/dev/tcp/$1/$2" || exit 1
  IFS= read -r -t 5 line <&3 || true
  printf 'a1 LOGOUT\r\n' >&3 || true
  [[ "${line}" == "* OK"* ]]
) 2>/dev/null

ensure_mail_user() {
  if [[ ${EUID} -ne 0 ]]; then
    # Unprivileged: everything runs as the invoking user.
    MAIL_UID="$(id -u)"; MAIL_GID="$(id -g)"; INTERNAL_USER="$(id -un)"; LOGIN_USER="$(id -un)"
    INTERNAL_GROUP="$(id -gn)"
    return 0
  fi
  if ! getent passwd "${DOVECOT_MAIL_USER}" >/dev/null; then
    log "creating system user ${DOVECOT_MAIL_USER} to own the test Maildirs"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "${DOVECOT_MAIL_USER}"
  fi
  MAIL_UID="$(id -u "${DOVECOT_MAIL_USER}")"
  MAIL_GID="$(id -g "${DOVECOT_MAIL_USER}")"
  # The package creates these; fall back to the mail user on a bare install.
  INTERNAL_USER=dovecot; getent passwd dovecot >/dev/null || INTERNAL_USER="${DOVECOT_MAIL_USER}"
  LOGIN_USER=dovenull; getent passwd dovenull >/dev/null || LOGIN_USER="${DOVECOT_MAIL_USER}"
  INTERNAL_GROUP="$(id -gn "${INTERNAL_USER}")"
}

ensure_cert() {
  mkdir -p "${SSL_DIR}"
  if [[ -s "${SSL_DIR}/cert.pem" && -s "${SSL_DIR}/key.pem" ]]; then return 0; fi
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the test certificate"
  log "generating a self-signed certificate for localhost/${DOVECOT_HOST} in ${SSL_DIR}"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:${DOVECOT_HOST}" \
    -keyout "${SSL_DIR}/key.pem" -out "${SSL_DIR}/cert.pem" >/dev/null 2>&1 \
    || die "openssl could not create the certificate"
  chmod 600 "${SSL_DIR}/key.pem"
}

write_config() {
  mkdir -p "${RUN_DIR}" "${LIB_DIR}" "${LOG_DIR}" "${MAIL_DIR}"
  chmod 755 "${DOVECOT_STATE_DIR}"
  chown "${MAIL_UID}:${MAIL_GID}" "${MAIL_DIR}"

  : >"${PASSWD_FILE}.tmp"
  local pair user pass
  for pair in ${DOVECOT_USERS}; do
    user="${pair%%:*}"; pass="${pair#*:}"
    [[ -n "${user}" && "${pair}" == *:* ]] || die "bad DOVECOT_USERS entry '${pair}' (want user:password)"
    printf '%s:{PLAIN}%s::::::\n' "${user}" "${pass}" >>"${PASSWD_FILE}.tmp"
  done
  mv -f "${PASSWD_FILE}.tmp" "${PASSWD_FILE}"
  chmod 640 "${PASSWD_FILE}"
  # The auth process runs as the internal user: let its group read the passwd-file.
  chgrp "$(id -g "${INTERNAL_USER}")" "${PASSWD_FILE}"

  local dh=""
  if [[ -r /usr/share/dovecot/dh.pem ]]; then dh="ssl_dh = </usr/share/dovecot/dh.pem"; fi

  # Unprivileged Dovecot cannot chroot its login and anvil processes.
  local nochroot=""
  if [[ ${EUID} -ne 0 ]]; then
    nochroot="service anvil {
  chroot =
}
service imap-login {
  chroot =
}"
  fi

  local boxes="" box
  for box in ${DOVECOT_MAILBOXES}; do
    boxes+="  mailbox \"${box}\" {
    auto = subscribe
  }
"
  done

  cat >"${CONF}" <<EOF
# Generated by petitiond scripts/dovecot.sh on every start. Self-contained: does
# not read /etc/dovecot. Test server only: plaintext logins are allowed.
instance_name = petitiond-dovecot
base_dir = ${RUN_DIR}
state_dir = ${LIB_DIR}
log_path = ${LOG_FILE}
info_log_path = ${LOG_FILE}
debug_log_path = ${LOG_FILE}
protocols = imap
listen = ${DOVECOT_HOST}
shutdown_clients = yes

default_internal_user = ${INTERNAL_USER}
default_internal_group = ${INTERNAL_GROUP}
default_login_user = ${LOGIN_USER}
first_valid_uid = ${MAIL_UID}
last_valid_uid = ${MAIL_UID}
first_valid_gid = ${MAIL_GID}
last_valid_gid = ${MAIL_GID}

ssl = yes
ssl_cert = <${SSL_DIR}/cert.pem
ssl_key = <${SSL_DIR}/key.pem
${dh}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${PASSWD_FILE}
}
userdb {
  driver = static
  args = uid=${MAIL_UID} gid=${MAIL_GID} home=${MAIL_DIR}/%u
}

mail_location = maildir:~/Maildir:LAYOUT=fs
mailbox_idle_check_interval = 1 secs

namespace inbox {
  inbox = yes
  separator = /
  prefix =
${boxes}}

protocol imap {
  mail_max_userip_connections = 1000
  imap_idle_notify_interval = 2 mins
}

service imap-login {
  inet_listener imap {
    address = ${DOVECOT_HOST}
    port = ${DOVECOT_PORT}
  }
  inet_listener imaps {
    address = ${DOVECOT_HOST}
    port = ${DOVECOT_TLS_PORT}
    ssl = yes
  }
}
service imap {
  process_limit = 1024
}
${nochroot}
service auth {
  unix_listener auth-userdb {
    mode = 0600
    user = ${INTERNAL_USER}
  }
}
EOF
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid ${pid}) on ${DOVECOT_HOST}:${DOVECOT_PORT}"
    wait_ready || exit 1
    print_addresses
    return 0
  fi
  local bin
  bin="$(find_dovecot)"
  [[ -n "${bin}" ]] || die "dovecot is not installed; run '$0 install' (or scripts/deps.sh)"
  local p
  for p in "${DOVECOT_PORT}" "${DOVECOT_TLS_PORT}"; do
    if port_open "${DOVECOT_HOST}" "${p}"; then
      die "${DOVECOT_HOST}:${p} is already in use by another process (set DOVECOT_PORT / DOVECOT_TLS_PORT)"
    fi
  done
  ensure_mail_user
  ensure_cert
  write_config
  "${bin}" -c "${CONF}" -n >/dev/null 2>"${LOG_DIR}/config-check.err" \
    || { cat "${LOG_DIR}/config-check.err" >&2; die "dovecot rejected ${CONF}"; }
  log "starting dovecot on ${DOVECOT_HOST}:${DOVECOT_PORT} (imaps ${DOVECOT_TLS_PORT}, state ${DOVECOT_STATE_DIR})"
  # dovecot daemonizes itself; its master pid lands in ${PID_FILE}.
  if ! "${bin}" -c "${CONF}" 2>>"${LOG_FILE}"; then
    tail -n 20 "${LOG_FILE}" >&2
    cmd_stop
    die "dovecot failed to start"
  fi
  if ! wait_ready; then
    cmd_stop
    die "dovecot did not become ready; stopped it"
  fi
  print_addresses
}

wait_ready() {
  local start=${SECONDS}
  while ! greets "${DOVECOT_HOST}" "${DOVECOT_PORT}"; do
    if (( SECONDS - start >= DOVECOT_START_TIMEOUT )); then
      if [[ -f "${LOG_FILE}" ]]; then tail -n 30 "${LOG_FILE}" >&2; fi
      log "error: no '* OK' greeting on ${DOVECOT_HOST}:${DOVECOT_PORT} after ${DOVECOT_START_TIMEOUT}s (log ${LOG_FILE})"
      return 1
    fi
    if ! running_pid >/dev/null && (( SECONDS - start >= 2 )); then
      if [[ -f "${LOG_FILE}" ]]; then tail -n 30 "${LOG_FILE}" >&2; fi
      log "error: dovecot is not running (log ${LOG_FILE})"
      return 1
    fi
    sleep 0.2
  done
  log "ready: imap ${DOVECOT_HOST}:${DOVECOT_PORT} (STARTTLS), imaps ${DOVECOT_HOST}:${DOVECOT_TLS_PORT}, CA ${SSL_DIR}/cert.pem"
}

print_addresses() {
  printf '%s:%s\n' "${DOVECOT_HOST}" "${DOVECOT_PORT}"
}

# Every process of this instance: the daemonized master leads its own session,
# and its children (imap, imap-login, auth, log ...) stay in it. Only processes
# whose command line names dovecot are listed.
session_pids() {
  local sid="$1" pid s
  while read -r pid s; do
    [[ "${s}" == "${sid}" ]] || continue
    tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q 'dovecot' || continue
    printf '%s\n' "${pid}"
  done < <(ps -eo pid=,sid=)
}

cmd_stop() {
  local sid=""
  if [[ -f "${PID_FILE}" ]]; then sid="$(cat "${PID_FILE}" 2>/dev/null || true)"; fi
  [[ "${sid}" =~ ^[0-9]+$ ]] || sid=""
  local pids=()
  if [[ -n "${sid}" ]]; then mapfile -t pids < <(session_pids "${sid}"); fi
  if [[ ${#pids[@]} -eq 0 ]]; then
    log "not running"
    return 0
  fi
  # Dovecot 2.3's master leaves logged-in imap processes serving their clients
  # for a while after it exits; SIGTERM them all so every client gets
  # "* BYE Server shutting down." at once, as in a real server restart.
  log "stopping dovecot (master ${sid}, ${#pids[@]} processes)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local start=${SECONDS}
  while mapfile -t pids < <(session_pids "${sid}") && [[ ${#pids[@]} -gt 0 ]]; do
    if (( SECONDS - start >= DOVECOT_STOP_TIMEOUT )); then
      log "still alive after ${DOVECOT_STOP_TIMEOUT}s: SIGKILL ${pids[*]}"
      kill -KILL "${pids[@]}" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  rm -f "${PID_FILE}"
  log "stopped in $(( SECONDS - start ))s (mail kept in ${MAIL_DIR})"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    log "running (pid ${pid}) on ${DOVECOT_HOST}:${DOVECOT_PORT}"
    return 0
  fi
  log "not running"
  return 1
}

cmd_reset() {
  cmd_stop
  if [[ -d "${DOVECOT_STATE_DIR}" ]]; then
    log "deleting ${DOVECOT_STATE_DIR}"
    rm -rf "${DOVECOT_STATE_DIR}"
  fi
}

cmd_env() {
  cat <<EOF
DOVECOT_ADDR=${DOVECOT_HOST}:${DOVECOT_PORT}
DOVECOT_TLS_ADDR=${DOVECOT_HOST}:${DOVECOT_TLS_PORT}
DOVECOT_STATE_DIR=${DOVECOT_STATE_DIR}
DOVECOT_CA_CERT=${SSL_DIR}/cert.pem
DOVECOT_MAIL_DIR=${MAIL_DIR}
DOVECOT_LOG=${LOG_FILE}
DOVECOT_USERS=${DOVECOT_USERS}
EOF
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd="$1"; shift
  case "${cmd}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    env) cmd_env ;;
    -h|--help|help) usage ;;
    *) log "unknown command '${cmd}'"; usage ;;
  esac
}

main "$@"
