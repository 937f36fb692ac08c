#!/usr/bin/env bash
# kafka-secure.sh — a second single-node Kafka broker (scripts/kafka.sh) with a
# SASL_SSL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and an SSL listener
# that requires a client certificate (mutual TLS), for petitiond's security
# tests. Certificates are made here with openssl and keytool; SCRAM users are
# created by the storage format (kafka-storage format --add-scram).
#
#   scripts/kafka-secure.sh start     make certificates and users once, start, wait until ready
#   scripts/kafka-secure.sh stop      stop it (data kept)
#   scripts/kafka-secure.sh status    exit 0 if it runs
#   scripts/kafka-secure.sh reset     stop and delete the state dir
#   scripts/kafka-secure.sh certs     only make the certificates
#   scripts/kafka-secure.sh env       print the addresses and files for tests
#
# Files in $KAFKA_SECURE_STATE_DIR/secure: ca.crt (trust this), client.crt +
# client.key (mTLS), other-ca.crt (a CA that did not sign the broker),
# username, password. See scripts/README.md.
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_SECURE_STATE_DIR="${KAFKA_SECURE_STATE_DIR:-/tmp/petitiond-kafka-secure}"
KAFKA_SECURE_HOST="${KAFKA_SECURE_HOST:-127.0.0.1}"
KAFKA_SECURE_PORT="${KAFKA_SECURE_PORT:-9094}"                       # PLAINTEXT, inter-broker and tools
KAFKA_SECURE_CONTROLLER_PORT="${KAFKA_SECURE_CONTROLLER_PORT:-9095}"
KAFKA_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-9096}"
KAFKA_SSL_PORT="${KAFKA_SSL_PORT:-9097}"
KAFKA_SECURE_USER="${KAFKA_SECURE_USER:-petitiond}"

SEC="${KAFKA_SECURE_STATE_DIR}/secure"
H="${KAFKA_SECURE_HOST}"

log() { printf 'kafka-secure.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed${2:+ ($2)}"; }

# sign NAME CN SAN: a key and a certificate signed by ca.
sign() {
  local name="$1" cn="$2" san="$3"
  openssl req -new -newkey rsa:2048 -nodes -keyout "${SEC}/${name}.key" -subj "/CN=${cn}" \
    -out "${SEC}/${name}.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "${san}" >"${SEC}/${name}.ext"
  openssl x509 -req -in "${SEC}/${name}.csr" -CA "${SEC}/ca.crt" -CAkey "${SEC}/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "${SEC}/${name}.ext" -out "${SEC}/${name}.crt" 2>/dev/null
  rm -f "${SEC}/${name}.csr" "${SEC}/${name}.ext"
}

cmd_certs() {
  [[ -f "${SEC}/.complete" ]] && return 0
  need openssl "apt-get install openssl"
  need keytool "apt-get install openjdk-17-jre-headless"
  rm -rf "${SEC}"
  mkdir -p "${SEC}"
  chmod 700 "${SEC}"
  log "making a test CA, broker and client certificates in ${SEC}"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=petitiond test CA" \
    -keyout "${SEC}/ca.key" -out "${SEC}/ca.crt" 2>/dev/null
  # A CA that signed nothing here: trusting only it must refuse the broker.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=petitiond untrusted CA" \
    -keyout "${SEC}/other-ca.key" -out "${SEC}/other-ca.crt" 2>/dev/null
  sign broker localhost "DNS:localhost,IP:${H}"
  sign client "${KAFKA_SECURE_USER}" "DNS:${KAFKA_SECURE_USER}"
  openssl rand -hex 16 >"${SEC}/storepass"
  openssl rand -hex 16 >"${SEC}/password"
  printf '%s\n' "${KAFKA_SECURE_USER}" >"${SEC}/username"
  local sp
  sp="$(cat "${SEC}/storepass")"
  openssl pkcs12 -export -in "${SEC}/broker.crt" -inkey "${SEC}/broker.key" -certfile "${SEC}/ca.crt" \
    -name broker -out "${SEC}/broker.p12" -passout "pass:${sp}"
  keytool -importcert -noprompt -alias ca -file "${SEC}/ca.crt" -keystore "${SEC}/truststore.p12" \
    -storetype PKCS12 -storepass "${sp}" >/dev/null 2>&1 || die "keytool could not make the truststore"
  chmod 600 "${SEC}"/*
  touch "${SEC}/.complete"
}

kafka() {
  local sp pw u
  sp="$(cat "${SEC}/storepass")"
  pw="$(cat "${SEC}/password")"
  u="$(cat "${SEC}/username")"
  KAFKA_STATE_DIR="${KAFKA_SECURE_STATE_DIR}" \
  KAFKA_HOST="${H}" KAFKA_PORT="${KAFKA_SECURE_PORT}" KAFKA_CONTROLLER_PORT="${KAFKA_SECURE_CONTROLLER_PORT}" \
  KAFKA_FORMAT_ARGS="--add-scram
SCRAM-SHA-256=[name=${u},password=${pw}]
--add-scram
SCRAM-SHA-512=[name=${u},password=${pw}]" \
  KAFKA_EXTRA_PROPERTIES="listeners=PLAINTEXT://${H}:${KAFKA_SECURE_PORT},CONTROLLER://${H}:${KAFKA_SECURE_CONTROLLER_PORT},SASL_SSL://${H}:${KAFKA_SASL_SSL_PORT},SSL://${H}:${KAFKA_SSL_PORT}
advertised.listeners=PLAINTEXT://${H}:${KAFKA_SECURE_PORT},CONTROLLER://${H}:${KAFKA_SECURE_CONTROLLER_PORT},SASL_SSL://${H}:${KAFKA_SASL_SSL_PORT},SSL://${H}:${KAFKA_SSL_PORT}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
ssl.keystore.type=PKCS12
ssl.keystore.location=${SEC}/broker.p12
ssl.keystore.password=${sp}
ssl.key.password=${sp}
ssl.truststore.type=PKCS12
ssl.truststore.location=${SEC}/truststore.p12
ssl.truststore.password=${sp}
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${u}=\"${pw}\";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;" \
    bash "${SCRIPTS_DIR}/kafka.sh" "$@"
}

cmd_start() {
  cmd_certs
  kafka start >/dev/null
  port_wait "${KAFKA_SASL_SSL_PORT}"
  port_wait "${KAFKA_SSL_PORT}"
  log "SASL_SSL on ${H}:${KAFKA_SASL_SSL_PORT}, SSL (client certificate required) on ${H}:${KAFKA_SSL_PORT}"
  printf '%s\n' "${H}:${KAFKA_SASL_SSL_PORT}"
}

port_wait() {
  local i
  for i in $(seq 1 60); do
    (exec 3<>"/dev/tcp/${H}/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  die "${H}:$1 does not accept connections"
}

cmd_env() {
  cat <<EOF
PETITIOND_KAFKA_SASL_SSL=${H}:${KAFKA_SASL_SSL_PORT}
PETITIOND_KAFKA_SSL=${H}:${KAFKA_SSL_PORT}
PETITIOND_KAFKA_SECURE_DIR=${SEC}
EOF
}

case "${1:-}" in
  start) cmd_start ;;
  stop | status) [[ -f "${SEC}/.complete" ]] || { [[ "$1" == stop ]] && exit 0; exit 1; }; kafka "$1" ;;
  reset) KAFKA_STATE_DIR="${KAFKA_SECURE_STATE_DIR}" bash "${SCRIPTS_DIR}/kafka.sh" reset ;;
  certs) cmd_certs ;;
  env) cmd_env ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
