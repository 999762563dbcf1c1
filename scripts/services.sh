#!/usr/bin/env bash
# Installs (from Debian's packages, when missing) and starts what the optional suites need:
# Redis and RabbitMQ on their default local ports, shellcheck for the script checks, and
# curl for the documentation's examples.
# Idempotent: a service that already answers is left as it is. Needs root (or sudo) for
# apt-get; `npm start` and `npm test` need none of this (those suites skip, outside CI).
#   scripts/services.sh
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=() command package
  for pair in redis-server:redis-server rabbitmq-server:rabbitmq-server shellcheck:shellcheck redis-cli:redis-tools curl:curl; do
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
  local name="$1" port="$2" seconds="$3"
  for _ in $(seq 1 "$seconds"); do
    if port_open "$port"; then
      echo "$name answers on 127.0.0.1:$port"
      return
    fi
    sleep 1
  done
  echo "$name did not start within $seconds s" >&2
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

start_rabbitmq() {
  if port_open 5672; then
    echo "RabbitMQ answers on 127.0.0.1:5672"
    return
  fi
  echo "starting RabbitMQ"
  PATH="$PATH:/usr/sbin" as_root rabbitmq-server -detached || true
  # The node takes a while to boot; its AMQP port opening is the sign it is ready.
  wait_for_port RabbitMQ 5672 120
}

install_missing
start_redis
start_rabbitmq
