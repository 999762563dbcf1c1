#!/usr/bin/env bash
# Installs (from Debian's packages, when missing) and starts what the optional suites need:
# Redis and RabbitMQ on their default local ports, shellcheck for the script checks, jq for
# the deployment parameters' script, curl for the documentation's examples, and Chromium
# for the web app's browser tests.
# Idempotent: a service that already answers is left as it is. Needs root (or sudo) for
# apt-get; `npm start` and `npm test` need none of this (those suites skip, outside CI).
#   scripts/services.sh
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=() command package
  for pair in redis-server:redis-server rabbitmq-server:rabbitmq-server shellcheck:shellcheck jq:jq redis-cli:redis-tools curl:curl chromium:chromium; do
    command="${pair%%:*}" package="${pair##*:}"
    command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]}"
  as_root apt-get update -qq
  # Debian's packages try to start their services at install; containers have no init for that.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_port() {
  local name="$1" port="$2" seconds="$3" # $4: a folder of logs to show on failure
  for _ in $(seq 1 "$seconds"); do
    if port_open "$port"; then
      echo "$name answers on 127.0.0.1:$port"
      return
    fi
    sleep 1
  done
  echo "$name did not start within $seconds s" >&2
  if [ -n "${4:-}" ]; then
    # What the service said last is the fastest way to know why.
    find "$4" -maxdepth 1 -type f -newermt "$((seconds + 60)) seconds ago" -exec tail -n 30 {} + >&2 2>/dev/null || true
  fi
  exit 1
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "Redis answers on 127.0.0.1:6379"
    return
  fi
  echo "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/local.log
  wait_for_port Redis 6379 30
}

# The test broker keeps its data in a folder of its own, emptied at every start: the suites
# declare queues of their own on every run, and a broker that has to recover thousands of
# them after an unclean stop takes minutes to open its port. Nothing in it outlives a start.
RABBITMQ_DATA=/var/tmp/farmacias-rabbitmq

# Whether a node of this broker (port not open yet: still booting) runs: such a node must
# keep its folder. Every RabbitMQ node's runtime runs `-s rabbit boot`, but neither its data
# folder nor its name is on the command line (they reach it through the environment), and
# the fault suites start private nodes of their own: this one is told by its environment.
test_broker_running() {
  local pid
  for pid in $(pgrep -f -- '-s rabbit boot' 2>/dev/null); do
    as_root cat "/proc/$pid/environ" 2>/dev/null | tr '\0' '\n' | grep -qx "RABBITMQ_MNESIA_BASE=$RABBITMQ_DATA" && return 0
  done
  return 1
}

start_rabbitmq() {
  if port_open 5672; then
    echo "RabbitMQ answers on 127.0.0.1:5672"
    return
  fi
  if test_broker_running; then
    echo "RabbitMQ is booting already"
  else
    echo "starting RabbitMQ (data in $RABBITMQ_DATA, emptied)"
    as_root rm -rf "$RABBITMQ_DATA"
    as_root mkdir -p "$RABBITMQ_DATA"
    if id -u rabbitmq >/dev/null 2>&1; then as_root chown rabbitmq:rabbitmq "$RABBITMQ_DATA"; fi
    as_root env PATH="$PATH:/usr/sbin" RABBITMQ_MNESIA_BASE="$RABBITMQ_DATA" \
      rabbitmq-server -detached || true
  fi
  # The node takes a while to boot; its AMQP port opening is the sign it is ready.
  wait_for_port RabbitMQ 5672 120 /var/log/rabbitmq
}

install_missing
start_redis
start_rabbitmq
