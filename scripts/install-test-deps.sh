#!/usr/bin/env bash
# Installs what the tests need from the system, from Debian's packages, as root:
# Mosquitto (the external-broker and Pi end-to-end tests) and ffmpeg with
# ffprobe (both ends of the RTSP stream in the camera tests, and the demo's
# test pattern), zip (archives for the upload tests), and the tools that check
# pi/ and cloud/ (shellcheck, systemd-analyze, nft, nginx, caddy, sqlite3), PostgreSQL's server, and
# Chromium for the dashboard's browser tests, GStreamer's RTSP server as the IP camera, and
# RabbitMQ (its MQTT plugin) and HAProxy for the cluster role's tests.
# Elsewhere the tests that need them say why they skipped.
set -euo pipefail
missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v zip >/dev/null 2>&1 || missing+=(zip)
# The install-script checks: shell lint, unit verification, firewall and proxy syntax, backups.
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
# WS-Discovery's multicast test sets up loopback multicast in a network namespace of its own (unshare + ip).
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing+=(iproute2)
# The PostgreSQL store (the cluster role, issue 21): each test starts its own server from these programs.
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
# The dashboard's browser tests drive Debian's Chromium with playwright-core.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The IP-camera tests' camera: GStreamer's RTSP server (Digest auth, main and sub streams, H.264 and H.265).
if ! /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' >/dev/null 2>&1; then
  missing+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad)
fi
# The cluster role (docs/cluster.md): RabbitMQ nodes with the MQTT plugin, HAProxy in front of them.
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: ${missing[*]} missing and this is not a root Debian machine;" >&2
  echo "  install them (apt-get install ${missing[*]}) or the tests that need them will be skipped." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
}
# The packages start system services (a broker on 1883, web servers on 80); the tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop mosquitto nginx caddy postgresql rabbitmq-server haproxy >/dev/null 2>&1 || true; fi
echo "install-test-deps: installed ${missing[*]}"
