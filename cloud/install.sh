#!/usr/bin/env bash
# PiCam Guardian: install (or update) the cloud server on Debian 12 / Ubuntu 22.04+.
#
#   sudo cloud/install.sh                                  the runtime, Mosquitto, backups
#   sudo cloud/install.sh --mediamtx-binary ./mediamtx     ...and MediaMTX from a release you downloaded
#   sudo cloud/install.sh --firewall nftables              ...and the inbound firewall
#   cloud/install.sh --root /tmp/cloud-root                a throwaway root: writes only under it
#   cloud/install.sh --dry-run                             says what it would do, changes nothing
#
# Safe to run again: every step checks first and says "ok" when there is nothing
# to do; the env files are written once and never overwritten. See docs/install.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: cloud/install.sh [options]
  --package SPEC          what npm installs: a tarball from `npm pack`, a built package
                          directory, or an npm name (default: this checkout if it is
                          built, else picam-guardian from the npm registry)
  --no-package            leave the installed package alone
  --prefix DIR            where the package goes (default /opt/picam-guardian)
  --mediamtx-binary FILE  the mediamtx binary from a MediaMTX release archive
                          (https://github.com/bluenviron/mediamtx/releases); without
                          it MediaMTX is set up only if /usr/local/bin/mediamtx exists
  --no-mosquitto          do not install or configure Mosquitto (the cloud flow's
                          embedded broker serves the devices instead)
  --firewall KIND         nftables, ufw or none (default none: prints how)
  --no-apt                do not install Debian packages (mosquitto, sqlite3, build tools)
  --root DIR              install into DIR as if it were /: files are written under DIR,
                          system commands (useradd, systemctl, apt-get, npm, nft)
                          are printed instead of run
  --dry-run               print what would change; write and run nothing
  -h, --help              this text
USAGE
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=$(dirname "$SCRIPT_DIR")
PREFIX=/opt/picam-guardian
PACKAGE=""
INSTALL_PACKAGE=1
USE_APT=1
ROOT=""
DRY_RUN=0
MEDIAMTX_BINARY=""
MOSQUITTO=1
FIREWALL=none

while [ $# -gt 0 ]; do
  case "$1" in
    --package) PACKAGE=${2:?--package needs a value}; shift 2 ;;
    --no-package) INSTALL_PACKAGE=0; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --mediamtx-binary) MEDIAMTX_BINARY=${2:?--mediamtx-binary needs a file}; shift 2 ;;
    --no-mosquitto) MOSQUITTO=0; shift ;;
    --firewall) FIREWALL=${2:?--firewall needs nftables, ufw or none}; shift 2 ;;
    --no-apt) USE_APT=0; shift ;;
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "cloud/install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$FIREWALL" in nftables | ufw | none) ;; *) echo "cloud/install.sh: --firewall must be nftables, ufw or none" >&2; exit 2 ;; esac
if [ -n "$MEDIAMTX_BINARY" ] && [ ! -f "$MEDIAMTX_BINARY" ]; then
  echo "cloud/install.sh: $MEDIAMTX_BINARY does not exist (extract mediamtx from the release archive first)" >&2
  exit 2
fi

# The helpers both install scripts share: output, --root/--dry-run aware writes.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=scripts/install-common.sh
. "$SOURCE_DIR/scripts/install-common.sh"

UNIT=picam-guardian-cloud.service
ENV_FILE=/etc/picam-guardian/cloud.env
DATA_DIR=/var/lib/picam-guardian
UNITS_CHANGED=0
PACKAGE_CHANGED=0

require_root cloud/install.sh
say "PiCam Guardian: cloud server${ROOT:+ into $ROOT}$([ "$DRY_RUN" = 1 ] && echo ' (dry run)')"

say "Node.js"
check_node

# sqlite3: cloud/backup.sh copies the live database with it (.backup is
# consistent while the runtime writes). ffmpeg: the camera gateway turns
# uploaded recordings into HLS. python3, make, g++: the SQLite driver is built
# from source when npm finds no prebuilt one.
if [ "$USE_APT" = 1 ]; then
  say "System packages"
  wanted=(sqlite3 ffmpeg python3 make g++)
  if [ "$MOSQUITTO" = 1 ]; then wanted+=(mosquitto mosquitto-clients); fi
  install_apt_packages "${wanted[@]}"
fi

say "User"
ensure_user picam "$DATA_DIR"
put_dir "$DATA_DIR" 0750 picam:picam

if [ "$INSTALL_PACKAGE" = 1 ]; then
  say "Package"
  install_package
fi

say "Configuration"
put_dir /etc/picam-guardian 0750 root:picam
install_env_file "$SCRIPT_DIR/cloud.env.example" "$ENV_FILE"

say "Service and daily backup"
install_unit "$SCRIPT_DIR/systemd/$UNIT"
# Stable paths for the backup scripts, whatever the package layout.
put_file /usr/local/sbin/picam-guardian-backup 0755 root:root <"$SCRIPT_DIR/backup.sh" || true
put_file /usr/local/sbin/picam-guardian-restore 0755 root:root <"$SCRIPT_DIR/restore.sh" || true
install_unit "$SCRIPT_DIR/systemd/picam-guardian-backup.service"
install_unit "$SCRIPT_DIR/systemd/picam-guardian-backup.timer"

# Mosquitto, the seeds' broker: VBC01 cameras over mutual TLS (8883), Pis and
# browsers over WebSocket (9001), the runtime on 127.0.0.1:1883.
MOSQUITTO_CHANGED=0
HAVE_BROKER_CERTS=0
if [ "$MOSQUITTO" = 1 ]; then
  say "Mosquitto"
  if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && ! getent group mosquitto >/dev/null; then
    die "Mosquitto is not installed (apt-get install mosquitto, or leave it out with --no-mosquitto)"
  fi
  put_dir /etc/mosquitto/picam 0750 root:mosquitto
  put_dir /etc/mosquitto/picam/certs 0750 root:mosquitto
  if put_file /etc/mosquitto/picam/acl 0640 root:mosquitto <"$SCRIPT_DIR/mosquitto/acl"; then MOSQUITTO_CHANGED=1; fi
  if put_file /etc/mosquitto/picam/acl-cameras 0640 root:mosquitto <"$SCRIPT_DIR/mosquitto/acl-cameras"; then MOSQUITTO_CHANGED=1; fi
  if put_file /etc/mosquitto/picam/acl-cameras-per-camera 0640 root:mosquitto <"$SCRIPT_DIR/mosquitto/acl-cameras-per-camera"; then MOSQUITTO_CHANGED=1; fi
  # The camera listener follows PICAM_CERT_MODE in the env file (mosquitto.conf explains both
  # modes): per-camera switches it exactly as that file's comment says.
  CERT_MODE=$(sed -n "s/^PICAM_CERT_MODE=[\"']\{0,1\}\([A-Za-z-]*\).*/\1/p" "$ROOT$ENV_FILE" 2>/dev/null | tail -n 1 | tr '[:upper:]' '[:lower:]')
  case "$CERT_MODE" in
    '' | shared) CERT_MODE=shared ;;
    per-camera) ;;
    *) die "PICAM_CERT_MODE in $ENV_FILE must be shared or per-camera (got \"$CERT_MODE\")" ;;
  esac
  note mode "camera certificates: $CERT_MODE"
  mosquitto_conf() {
    if [ "$CERT_MODE" = per-camera ]; then
      sed -e 's|^acl_file /etc/mosquitto/picam/acl-cameras$|#&|' -e 's|^#per-camera ||' "$SCRIPT_DIR/mosquitto/mosquitto.conf"
    else
      cat "$SCRIPT_DIR/mosquitto/mosquitto.conf"
    fi
  }
  # Debian's /etc/mosquitto/mosquitto.conf includes conf.d and sets persistence itself.
  if mosquitto_conf | put_file /etc/mosquitto/conf.d/picam-guardian.conf 0644 root:root; then MOSQUITTO_CHANGED=1; fi
  # One descriptor per device: Debian's unit leaves systemd's soft limit of 1,024.
  put_dir /etc/systemd/system/mosquitto.service.d 0755 root:root
  if put_file /etc/systemd/system/mosquitto.service.d/picam-guardian.conf 0644 root:root <"$SCRIPT_DIR/mosquitto/systemd-limits.conf"; then
    run systemctl daemon-reload
    MOSQUITTO_CHANGED=1
  fi
  # The password file belongs to the site (mosquitto_passwd): created empty once.
  if [ -f "$ROOT/etc/mosquitto/picam/passwords" ]; then
    note kept "/etc/mosquitto/picam/passwords (never overwritten)"
  else
    put_file /etc/mosquitto/picam/passwords 0640 root:mosquitto </dev/null || true
    MOSQUITTO_CHANGED=1
  fi
  # The broker's certificate from `picam-guardian certs` in the data directory.
  # Mosquitto reads them as its own user: copies it may read, the CA key stays behind.
  CERTS=$DATA_DIR/certs
  if [ -f "$ROOT$CERTS/ca.crt" ] && [ -f "$ROOT$CERTS/broker.crt" ] && [ -f "$ROOT$CERTS/broker.key" ]; then
    HAVE_BROKER_CERTS=1
    for f in ca.crt broker.crt; do
      if put_file "/etc/mosquitto/picam/certs/$f" 0644 root:mosquitto <"$ROOT$CERTS/$f"; then MOSQUITTO_CHANGED=1; fi
    done
    if put_file /etc/mosquitto/picam/certs/broker.key 0640 root:mosquitto <"$ROOT$CERTS/broker.key"; then MOSQUITTO_CHANGED=1; fi
  else
    note missing "broker certificates in $CERTS (picam-guardian certs, then run this again)"
  fi
  # Per-camera certificates: the CRL the gateway writes when a camera is removed. Copied now, and
  # again by picam-guardian-crl.path whenever the gateway writes it (Mosquitto then reloads).
  if [ "$CERT_MODE" = per-camera ]; then
    if [ -f "$ROOT$CERTS/cameras.crl" ]; then
      if put_file /etc/mosquitto/picam/certs/cameras.crl 0644 root:mosquitto <"$ROOT$CERTS/cameras.crl"; then MOSQUITTO_CHANGED=1; fi
    else
      HAVE_BROKER_CERTS=0
      note missing "the camera CRL $CERTS/cameras.crl (picam-guardian certs writes it, then run this again)"
    fi
  fi
  install_unit "$SCRIPT_DIR/systemd/picam-guardian-crl.service"
  install_unit "$SCRIPT_DIR/systemd/picam-guardian-crl.path"
  if [ "$MOSQUITTO_CHANGED" = 1 ]; then
    # Without its certificates Mosquitto would not start at all: restart only with them.
    if [ "$HAVE_BROKER_CERTS" = 1 ]; then run systemctl restart mosquitto; else note waiting "Mosquitto restarts once the certificates are there"; fi
  fi
fi

# MediaMTX: one static binary, not in Debian, and this script downloads nothing.
say "MediaMTX"
# Whether anything of MediaMTX's changed decides its restart: count it apart.
CHANGED_BEFORE=$CHANGED
CHANGED=0
if [ -n "$MEDIAMTX_BINARY" ]; then
  put_file /usr/local/bin/mediamtx 0755 root:root <"$MEDIAMTX_BINARY" || true
fi
if [ -f "$ROOT/usr/local/bin/mediamtx" ] || { [ "$DRY_RUN" = 1 ] && [ -n "$MEDIAMTX_BINARY" ]; }; then
  put_dir /etc/mediamtx 0755 root:root
  put_file /etc/mediamtx/mediamtx.yml 0644 root:root <"$SCRIPT_DIR/mediamtx.yml" || true
  # Site values as MTX_* overrides, so mediamtx.yml stays the shipped one. Written once.
  if [ -f "$ROOT/etc/mediamtx/mediamtx.env" ]; then
    note kept "/etc/mediamtx/mediamtx.env (never overwritten)"
  else
    put_file /etc/mediamtx/mediamtx.env 0644 root:root <<'MTXENV' || true
# MediaMTX overrides (MTX_<KEY IN CAPITALS>=value, lists comma-separated); see
# /etc/mediamtx/mediamtx.yml. Restart after a change: systemctl restart mediamtx
# The public address(es) browsers reach for WebRTC (the VM knows only its private IP):
#MTX_WEBRTCADDITIONALHOSTS=203.0.113.10,cams.example.org
# If the cloud runtime's internal port (PICAM_INTERNAL_PORT) is not 1881:
#MTX_AUTHHTTPADDRESS=http://127.0.0.1:1881/mediamtx/auth
MTXENV
  fi
  install_unit "$SCRIPT_DIR/systemd/mediamtx.service"
  enable_unit mediamtx.service
  if [ "$CHANGED" = 1 ]; then run systemctl restart mediamtx; fi
else
  note skipped "no /usr/local/bin/mediamtx: download the linux_amd64 (or _arm64) archive from"
  note "" "https://github.com/bluenviron/mediamtx/releases, extract it, run this again with --mediamtx-binary ./mediamtx"
fi

if [ "$CHANGED_BEFORE" = 1 ]; then CHANGED=1; fi

say "Firewall"
case "$FIREWALL" in
  nftables)
    put_file /etc/picam-guardian/nftables.conf 0644 root:root <"$SCRIPT_DIR/firewall/nftables.conf" || true
    # nftables.service loads /etc/nftables.conf at boot: include ours from it.
    include='include "/etc/picam-guardian/nftables.conf"'
    if [ -f "$ROOT/etc/nftables.conf" ] && grep -qxF "$include" "$ROOT/etc/nftables.conf"; then
      note ok "/etc/nftables.conf includes it"
    elif [ -f "$ROOT/etc/nftables.conf" ]; then
      { cat "$ROOT/etc/nftables.conf"; printf '\n# PiCam Guardian (cloud/install.sh)\n%s\n' "$include"; } | put_file /etc/nftables.conf 0755 root:root || true
    else
      printf '#!/usr/sbin/nft -f\n# PiCam Guardian (cloud/install.sh)\n%s\n' "$include" | put_file /etc/nftables.conf 0755 root:root || true
    fi
    # Check before applying: a half-loaded ruleset on a remote server can lock you out.
    run nft -c -f /etc/nftables.conf
    run nft -f /etc/nftables.conf
    enable_unit nftables.service
    ;;
  ufw)
    run bash "$SCRIPT_DIR/firewall/ufw.sh" --enable
    ;;
  none)
    note skipped "no firewall changes (--firewall nftables or ufw; rules in cloud/firewall/)"
    ;;
esac

say "Services"
if [ "$UNITS_CHANGED" = 1 ]; then run systemctl daemon-reload; fi
enable_unit "$UNIT"
enable_unit picam-guardian-backup.timer
# Per-camera certificates with Mosquitto: a removed camera's CRL reaches Mosquitto at once.
if [ "$MOSQUITTO" = 1 ] && [ "${CERT_MODE:-shared}" = per-camera ]; then
  enable_unit picam-guardian-crl.path
  run systemctl start picam-guardian-crl.path
fi
read -r -a missing_vars <<<"$(missing_settings "$ENV_FILE" PICAM_ADMIN_USER PICAM_ADMIN_PASSWORD_HASH PICAM_CREDENTIAL_SECRET MQTT_USERNAME MQTT_PASSWORD)"
if [ ${#missing_vars[@]} -eq 0 ]; then
  if [ "$UNITS_CHANGED" = 1 ] || [ "$PACKAGE_CHANGED" = 1 ]; then run systemctl restart "$UNIT"; else run systemctl start "$UNIT"; fi
fi

say ""
if [ "$DRY_RUN" = 1 ]; then
  say "Dry run: nothing was changed."
elif [ "$CHANGED" = 0 ]; then
  say "Done: nothing to change."
else
  say "Done."
fi
say "Next steps (docs/install.md has each in full):"
if [ ${#missing_vars[@]} -gt 0 ]; then
  say "  - fill in ${missing_vars[*]} in $ENV_FILE;"
  say "    each *_HASH (in single quotes) from: $PREFIX/bin/picam-guardian hash-password"
  say "    then: sudo systemctl start picam-guardian-cloud"
fi
say "  - the dashboard's first admin: open /dashboard/ from this machine, or elsewhere with the one-time"
say "    code in journalctl -u picam-guardian-cloud; then users, cameras, enrolment and alerts on its Admin page"
if [ "$MOSQUITTO" = 1 ]; then
  if [ "$HAVE_BROKER_CERTS" = 0 ]; then
    say "  - certificates: sudo -u picam $PREFIX/bin/picam-guardian certs --dir $DATA_DIR/certs --host cams.example.org"
    say "    then run this script again (it gives Mosquitto its copies)"
  fi
  say "  - broker logins: sudo mosquitto_passwd /etc/mosquitto/picam/passwords picam-cloud (and one per Pi)"
  say "  - keep PICAM_MQTT_BROKER=external in the env file: the flow then reads devices from Mosquitto"
fi
say "  - TLS for the dashboard and editor: cloud/nginx/picam-guardian.conf or cloud/caddy/Caddyfile"
say "Logs:    journalctl -u picam-guardian-cloud -f"
say "Backups: daily into /var/backups/picam-guardian (systemctl list-timers picam-guardian-backup)"
