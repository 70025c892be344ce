#!/usr/bin/env bash
# PiCam Guardian cloud server: the same inbound rules as nftables.conf, for ufw.
#
#   sudo cloud/firewall/ufw.sh            add the rules (existing ones are skipped by ufw)
#   sudo cloud/firewall/ufw.sh --enable   ...and switch ufw on
#   cloud/firewall/ufw.sh --dry-run       print the ufw commands only
#
# SSH is allowed first, so enabling ufw over an SSH session does not lock you out.
# Cloud providers filter too (Oracle's security lists / NSGs, AWS security
# groups): open the same ports there.
set -euo pipefail

ENABLE=0
DRY_RUN=0
for arg in "$@"; do
  case "$arg" in
    --enable) ENABLE=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      sed -n '2,10p' "$0"
      exit 0
      ;;
    *)
      echo "ufw.sh: unknown option $arg" >&2
      exit 2
      ;;
  esac
done

ufw_() {
  if [ "$DRY_RUN" = 1 ]; then
    echo "ufw $*"
  else
    ufw "$@"
  fi
}

if [ "$DRY_RUN" = 0 ] && ! command -v ufw >/dev/null 2>&1; then
  echo "ufw.sh: ufw is not installed (sudo apt-get install ufw), or use cloud/firewall/nftables.conf" >&2
  exit 1
fi

ufw_ default deny incoming
ufw_ default allow outgoing
# ufw's "limit": more than 6 connections in 30 s from one address are refused.
ufw_ limit 22/tcp comment 'ssh'
ufw_ allow 80/tcp comment 'reverse proxy: ACME, redirect, camera gateway'
ufw_ allow 443/tcp comment 'reverse proxy: dashboard, editor, API (TLS)'
ufw_ allow 8080/tcp comment 'VBC01 camera gateway (firmware on 8080)'
ufw_ allow 8883/tcp comment 'MQTT over TLS (VBC01 cameras)'
ufw_ allow 9001/tcp comment 'MQTT over WebSocket (Pis, browsers)'
ufw_ allow 8554/tcp comment 'MediaMTX RTSP (Pis publish)'
ufw_ allow 8889/tcp comment 'MediaMTX WebRTC signalling (WHEP)'
ufw_ allow 8189/udp comment 'MediaMTX WebRTC media'
ufw_ allow 5000:5050/udp comment 'VBC01 live view: camera RTP/RTCP (PICAM_LIVE_PORT_MIN-MAX)'
ufw_ allow 5100:5199/udp comment 'VBC01 live view: browsers WebRTC media (PICAM_LIVE_ICE_PORTS)'
# Not opened, local only: 1883 (MQTT without TLS), 1880 (the runtime behind
# the proxy), 9997 (MediaMTX API), 9998 (MediaMTX metrics). Incoming traffic
# is denied by default, so nothing needs to be said for them.

if [ "$ENABLE" = 1 ]; then
  ufw_ --force enable
fi
ufw_ status verbose
