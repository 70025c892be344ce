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

# --- common helpers (identical in pi/install.sh and cloud/install.sh) ---
# Each script stands alone, so its folder can be copied to a machine by itself;
# test/unit/install-scripts.test.ts checks the two copies stay the same.

# A throwaway root is made absolute so every path below can be "$ROOT/etc/...";
# it need not exist yet (a dry run creates nothing, not even it).
if [ -n "$ROOT" ]; then ROOT=$(realpath -m "$ROOT"); fi
CHANGED=0

say() { printf '%s\n' "$*"; }
note() { printf '  %-8s %s\n' "$1" "$2"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Runs a command that changes the system. --dry-run and --root only print it:
# a throwaway root must never create users or start services on this machine.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    note would "$*"
  elif [ -n "$ROOT" ]; then
    note skipped "$* (--root)"
  else
    note run "$*"
    "$@"
    CHANGED=1
  fi
}

# Writes stdin to DEST (under ROOT) with MODE and OWNER (user:group), unless
# it already has exactly that content and mode. Written to a temporary file
# beside DEST and renamed, so a secret is never readable with a wider mode and
# a reader never sees half a file. Returns 0 when it changed something.
put_file() {
  local dest="$ROOT$1" mode=$2 owner=$3 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest" && has_mode "$dest" "$mode" "$owner"; then
    rm -f "$tmp"
    note ok "$1"
    return 1
  fi
  if [ "$DRY_RUN" = 1 ]; then
    rm -f "$tmp"
    note would "write $1 (mode $mode, $owner)"
    return 0
  fi
  mkdir -p "$(dirname "$dest")"
  local staged
  staged=$(mktemp "$dest.XXXXXX")
  cat "$tmp" >"$staged"
  rm -f "$tmp"
  chmod "$mode" "$staged"
  own "$owner" "$staged" "$1"
  mv -f "$staged" "$dest"
  note wrote "$1 (mode $mode)"
  CHANGED=1
  return 0
}

# Does PATH have MODE and (outside a throwaway root, where the users do not exist) OWNER?
has_mode() {
  [ "$(stat -c %a "$1")" = "${2#0}" ] && { [ -n "$ROOT" ] || [ "$(stat -c %U:%G "$1")" = "$3" ]; }
}

# chown, except in a throwaway root, where the users do not exist.
own() {
  local owner=$1 path=$2 shown=${3:-$2}
  if [ -n "$ROOT" ]; then
    note skipped "chown $owner $shown (--root)"
  else
    chown "$owner" "$path"
  fi
}

# Creates directory DIR (under ROOT) with MODE and OWNER when it is missing.
put_dir() {
  local dir="$ROOT$1" mode=$2 owner=$3
  if [ -d "$dir" ] && has_mode "$dir" "$mode" "$owner"; then
    note ok "$1/"
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then
    note would "create $1/ (mode $mode, $owner)"
    return 0
  fi
  mkdir -p "$dir"
  chmod "$mode" "$dir"
  own "$owner" "$dir" "$1"
  note created "$1/ (mode $mode)"
  CHANGED=1
}

# Does the target system have this command? In a throwaway root: look inside it.
target_has() {
  if [ -n "$ROOT" ]; then
    [ -x "$ROOT/usr/bin/$1" ] || [ -x "$ROOT/usr/sbin/$1" ] || [ -x "$ROOT/bin/$1" ] || [ -x "$ROOT/sbin/$1" ]
  else
    command -v "$1" >/dev/null 2>&1
  fi
}

group_exists() {
  if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; else getent group "$1" >/dev/null; fi
}
user_exists() {
  if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/passwd" 2>/dev/null; else getent passwd "$1" >/dev/null; fi
}
in_group() {
  if [ -n "$ROOT" ]; then
    grep -Eq "^$2:[^:]*:[^:]*:(.*,)?$1(,|$)" "$ROOT/etc/group" 2>/dev/null
  else
    id -nG "$1" 2>/dev/null | tr ' ' '\n' | grep -qx "$2"
  fi
}

# The service's own user: no login, no home of its own beyond the data dir.
ensure_user() {
  local user=$1 home=$2
  if user_exists "$user"; then
    note ok "user $user"
  else
    run useradd --system --user-group --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$user"
  fi
}

# Node.js 20 or newer, where systemd finds it: the package's command starts
# with `#!/usr/bin/env node`, and a unit's PATH is /usr/local/bin:/usr/bin:...
check_node() {
  local how="Node.js 20 or newer is needed. Debian's and Raspberry Pi OS's own packages are older; use NodeSource's:
    curl -fsSL https://deb.nodesource.com/setup_20.x -o nodesource_setup.sh
    less nodesource_setup.sh && sudo bash nodesource_setup.sh && sudo apt-get install -y nodejs"
  local node major
  if ! node=$(command -v node); then
    if [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ]; then
      note warning "node not found (install it before a real install)"
      return 0
    fi
    die "$how"
  fi
  major=$("$node" -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ] || die "found Node.js $("$node" --version) at $node. $how"
    note warning "Node.js $("$node" --version) is too old for a real install"
    return 0
  fi
  case "$node" in
    /usr/bin/node | /usr/local/bin/node) note ok "Node.js $("$node" --version) ($node)" ;;
    *) note warning "Node.js is $node, outside systemd's PATH: the service will not find it (install Node.js system-wide, e.g. from NodeSource)" ;;
  esac
}

# Which version a package source holds: a tarball, a directory, or "" for an npm name.
source_version() {
  local spec=$1
  if [ -f "$spec" ]; then
    tar -xzOf "$spec" package/package.json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).version'
  elif [ -f "$spec/package.json" ]; then
    node -p 'require(process.argv[1]).version' "$spec/package.json"
  fi
}

# Installs the package with npm into PREFIX (PREFIX/bin/picam-guardian).
# A directory is packed first: `npm install -g <dir>` would only link to it,
# and the service (ProtectHome=yes) could not read a checkout in a home directory.
install_package() {
  local spec=$PACKAGE installed="" wanted="" npm_major allow=()
  if [ -z "$spec" ]; then
    if [ -f "$SOURCE_DIR/dist/cli/picam-guardian.js" ] && [ -f "$SOURCE_DIR/package.json" ]; then
      spec=$SOURCE_DIR
    else
      spec=picam-guardian
    fi
  fi
  if [ -d "$spec" ] && [ ! -f "$spec/dist/cli/picam-guardian.js" ]; then
    die "$spec is not built (no dist/): run npm install && npm run build there, or give --package a tarball"
  fi
  if [ -f "$ROOT$PREFIX/lib/node_modules/picam-guardian/package.json" ] && command -v node >/dev/null 2>&1; then
    installed=$(node -p 'require(process.argv[1]).version' "$ROOT$PREFIX/lib/node_modules/picam-guardian/package.json")
  fi
  if [ -f "$spec" ] || [ -d "$spec" ]; then
    wanted=$(source_version "$spec")
    spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
  fi
  if [ -n "$installed" ] && [ "$installed" = "$wanted" ]; then
    note ok "picam-guardian $installed in $PREFIX"
    return 0
  fi
  # npm 11 runs a dependency's install script only when allowed: the SQLite
  # driver and the I²C modules build native code (as package.json's allowScripts).
  npm_major=$(npm --version 2>/dev/null | cut -d. -f1 || true)
  if [ "${npm_major:-0}" -ge 11 ]; then allow=("--allow-scripts=sqlite3,i2c-bus,ioctl"); fi
  if [ -d "$spec" ]; then
    if [ "$DRY_RUN" = 1 ] || [ -n "$ROOT" ]; then
      run npm pack --ignore-scripts "$spec"
      run npm install --global --prefix "$PREFIX" --omit=dev --no-audit --no-fund "${allow[@]}" "picam-guardian-$wanted.tgz"
    else
      local packdir tarball
      packdir=$(mktemp -d)
      # --ignore-scripts: the package is already built; `prepare` would need the dev tools.
      tarball=$(cd "$packdir" && npm pack --ignore-scripts --silent "$spec" | tail -n 1)
      run npm install --global --prefix "$PREFIX" --omit=dev --no-audit --no-fund "${allow[@]}" "$packdir/$tarball"
      rm -rf "$packdir"
    fi
  else
    run npm install --global --prefix "$PREFIX" --omit=dev --no-audit --no-fund "${allow[@]}" "$spec"
  fi
  PACKAGE_CHANGED=1
}

# Copies the env template to DEST once, with a fresh credential secret; never
# overwrites it (it holds the site's secrets), only corrects its mode.
install_env_file() {
  local template=$1 dest=$2
  if [ -f "$ROOT$dest" ]; then
    if [ "$(stat -c %a "$ROOT$dest")" != 640 ]; then
      run_local chmod 0640 "$ROOT$dest"
      note fixed "$dest mode 0640"
      CHANGED=1
    fi
    note kept "$dest (never overwritten)"
    return 0
  fi
  local secret
  secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  sed "s/^PICAM_CREDENTIAL_SECRET=\$/PICAM_CREDENTIAL_SECRET=$secret/" "$template" | put_file "$dest" 0640 root:picam || true
}

# chmod and friends on files under ROOT: allowed in a throwaway root, not in a dry run.
run_local() {
  if [ "$DRY_RUN" = 1 ]; then note would "$*"; else "$@"; fi
}

# The required variables still empty (or missing) in an env file.
missing_settings() {
  local file=$1 name
  shift
  for name in "$@"; do
    grep -Eq "^$name=.+" "$ROOT$file" 2>/dev/null || printf '%s ' "$name"
  done
}

# Installs a unit file from the package with its paths adjusted to PREFIX.
install_unit() {
  local src=$1 name
  name=$(basename "$src")
  if sed "s#/opt/picam-guardian#$PREFIX#g" "$src" | put_file "/etc/systemd/system/$name" 0644 root:root; then
    UNITS_CHANGED=1
  fi
}

# Is the unit file in the throwaway root (ours, or the distribution's)?
unit_in_root() {
  local d
  for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    if [ -e "$ROOT$d/$1" ]; then return 0; fi
  done
  return 1
}

enable_unit() {
  local unit=$1
  if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && ! command -v systemctl >/dev/null 2>&1; then
    note warning "no systemctl: enable $unit yourself"
    return 0
  fi
  if command -v systemctl >/dev/null 2>&1 && systemctl ${ROOT:+--root="$ROOT"} is-enabled --quiet "$unit" 2>/dev/null; then
    note ok "$unit enabled"
  elif [ "$DRY_RUN" = 1 ]; then
    note would "systemctl enable $unit"
  elif [ -n "$ROOT" ] && command -v systemctl >/dev/null 2>&1 && unit_in_root "$unit"; then
    # systemctl --root only creates the symlinks inside the throwaway root.
    local out
    out=$(systemctl --root="$ROOT" enable "$unit" 2>&1) || die "systemctl --root=$ROOT enable $unit: $out"
    note enabled "$unit (in $ROOT)"
    CHANGED=1
  elif [ -n "$ROOT" ]; then
    note skipped "systemctl enable $unit (--root: no $unit in $ROOT)"
  else
    run systemctl enable "$unit"
  fi
}
# --- end of common helpers ---

UNIT=picam-guardian-cloud.service
ENV_FILE=/etc/picam-guardian/cloud.env
DATA_DIR=/var/lib/picam-guardian
UNITS_CHANGED=0
PACKAGE_CHANGED=0

if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo cloud/install.sh), or try it with --root DIR or --dry-run"
fi
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
  missing=()
  for p in "${wanted[@]}"; do
    if [ -n "$ROOT" ] || ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    note ok "${wanted[*]}"
  else
    run apt-get install -y --no-install-recommends "${missing[@]}"
  fi
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
  # Debian's /etc/mosquitto/mosquitto.conf includes conf.d and sets persistence itself.
  if put_file /etc/mosquitto/conf.d/picam-guardian.conf 0644 root:root <"$SCRIPT_DIR/mosquitto/mosquitto.conf"; then MOSQUITTO_CHANGED=1; fi
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
# If the cloud runtime does not listen on 127.0.0.1:1880:
#MTX_AUTHHTTPADDRESS=http://127.0.0.1:1880/mediamtx/auth
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
read -r -a missing_vars <<<"$(missing_settings "$ENV_FILE" PICAM_ADMIN_USER PICAM_ADMIN_PASSWORD_HASH PICAM_API_USER PICAM_API_PASSWORD_HASH PICAM_CREDENTIAL_SECRET MQTT_USERNAME MQTT_PASSWORD)"
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
