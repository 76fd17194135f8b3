#!/usr/bin/env bash
# Install everything the tests need and run the whole suite.
# Browser and Redis tests are never skipped: if Chromium or Redis cannot be made
# available this script fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
}

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "== installing Debian chromium and chromium-driver for the browser tests"
  apt_install chromium chromium-driver
fi

redis_up() { .venv/bin/python -c "import redis,sys; redis.Redis(host='127.0.0.1', port=6379, socket_timeout=1).ping()" >/dev/null 2>&1; }
started_redis=""
if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  echo "== starting a loopback Redis on 127.0.0.1:6379 for the tests"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --pidfile /tmp/navigator-test-redis.pid --logfile /tmp/navigator-test-redis.log
  started_redis=1
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
fi
cleanup() { [ -n "$started_redis" ] && kill "$(cat /tmp/navigator-test-redis.pid)" 2>/dev/null || true; }
trap cleanup EXIT

export NAVIGATOR_REQUIRE_BROWSER=1 NAVIGATOR_REQUIRE_REDIS=1
.venv/bin/ruff check .
.venv/bin/mypy  # supernet/ and navigator/, as configured in pyproject.toml
.venv/bin/python -m pytest "$@"
