#!/usr/bin/env bash
# Installs what the tests need from the system: the Mosquitto broker (the
# external-broker end-to-end test runs against it). Debian packages, as root.
set -euo pipefail
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: Mosquitto is missing and this is not a root Debian machine;" >&2
  echo "  install it (apt-get install mosquitto) or the Mosquitto test will be skipped." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends mosquitto >/dev/null 2>&1 || {
  apt-get update -qq
  apt-get install -y --no-install-recommends mosquitto >/dev/null
}
# The package starts a system broker on 1883; the tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop mosquitto >/dev/null 2>&1 || true; fi
echo "install-test-deps: installed $(/usr/sbin/mosquitto -h 2>/dev/null | head -1)"
