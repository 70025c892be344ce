#!/usr/bin/env bash
# PiCam Guardian: the helpers pi/install.sh and cloud/install.sh share (sourced
# by both after they have parsed their options: ROOT, DRY_RUN and the like are
# theirs). Say-what-you-do output, writes that go under --root and are skipped
# by --dry-run, and idempotent file and directory updates.
# shellcheck disable=SC2034,SC2154  # variables are set and read by the scripts that source this

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
# Refuses to change the real system without root; --root and --dry-run need none.
require_root() {
  if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo $1), or try it with --root DIR or --dry-run"
  fi
}

# Installs the Debian packages named that are not installed yet (under --root: all, printed).
install_apt_packages() {
  local p missing=()
  for p in "$@"; do
    if [ -n "$ROOT" ] || ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    note ok "$*"
  else
    run apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

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
