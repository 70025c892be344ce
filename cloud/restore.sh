#!/usr/bin/env bash
# PiCam Guardian: restore a cloud server from an archive made by backup.sh.
#
#   sudo cloud/restore.sh --verify-only ARCHIVE   check it, change nothing
#   sudo systemctl stop picam-guardian-cloud
#   sudo cloud/restore.sh ARCHIVE                 onto a fresh install (refuses to overwrite)
#   sudo cloud/restore.sh --force ARCHIVE         over an existing one
#   cloud/restore.sh --root DIR ARCHIVE           into DIR (a test install, a mounted disk)
#
# Before anything is written the archive is verified: one top folder, no
# absolute or ../ paths, every file's SHA-256 as recorded, the database's
# PRAGMA integrity_check. Files are put back at the paths they came from; files
# there that the archive does not have are left alone. With --force the
# database it replaces is kept beside it as <db>.pre-restore-<time>.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: cloud/restore.sh [--force] [--verify-only] [--root DIR] ARCHIVE
  --force        overwrite files that exist (the replaced database is kept)
  --verify-only  check the archive and stop
  --root DIR     restore into DIR instead of /
USAGE
}

FORCE=0
VERIFY_ONLY=0
ROOT=""
ARCHIVE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1; shift ;;
    --verify-only) VERIFY_ONLY=1; shift ;;
    --root) ROOT=$(realpath -m "${2:?--root needs a directory}"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "restore.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *)
      [ -z "$ARCHIVE" ] || { echo "restore.sh: one archive at a time" >&2; exit 2; }
      ARCHIVE=$1
      shift
      ;;
  esac
done
die() {
  echo "restore.sh: $*" >&2
  exit 1
}
[ -n "$ARCHIVE" ] || { usage >&2; exit 2; }
[ -f "$ARCHIVE" ] || die "no such archive: $ARCHIVE"
command -v sqlite3 >/dev/null 2>&1 || die "the sqlite3 command is missing (apt-get install sqlite3): it checks the database before it is restored"

# --- Verify -------------------------------------------------------------------
gzip -t "$ARCHIVE" 2>/dev/null || die "$ARCHIVE is not a complete gzip file (truncated copy?)"
mapfile -t members < <(tar -tzf "$ARCHIVE")
[ ${#members[@]} -gt 0 ] || die "$ARCHIVE is empty"
top=${members[0]%%/*}
case "$top" in picam-guardian-backup-*) ;; *) die "$ARCHIVE is not a PiCam Guardian backup (top folder $top)" ;; esac
for m in "${members[@]}"; do
  case "$m" in
    /* | ../* | */../* | */..) die "$ARCHIVE has an unsafe path: $m" ;;
    "$top" | "$top"/*) ;;
    *) die "$ARCHIVE has a file outside $top/: $m" ;;
  esac
done
# Symbolic and hard links could point the copy outside the target: none are expected.
if tar -tvzf "$ARCHIVE" | grep -q '^[lh]'; then die "$ARCHIVE contains links; refusing"; fi

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" --no-same-owner -xzpf "$ARCHIVE"
dir=$work/$top
if [ ! -f "$dir/MANIFEST" ] || [ ! -f "$dir/SHA256SUMS" ]; then die "$ARCHIVE has no MANIFEST or SHA256SUMS"; fi
(cd "$dir" && sha256sum --quiet --strict -c SHA256SUMS) || die "$ARCHIVE: files differ from their recorded checksums"
manifest() { sed -n "s/^$1=//p" "$dir/MANIFEST" | head -n 1; }
DB=$(manifest db)
DATA_DIR=$(manifest data_dir)
ENV_FILE=$(manifest env_file)
if [ -n "$DB" ]; then
  [ -f "$dir/files$DB" ] || die "$ARCHIVE: the database $DB named in MANIFEST is missing"
  check=$(sqlite3 "$dir/files$DB" 'PRAGMA integrity_check;' 2>&1) || true
  [ "$check" = ok ] || die "$ARCHIVE: the database fails its integrity check: $check"
  rows=$(sqlite3 "$dir/files$DB" "SELECT count(*) FROM sqlite_master WHERE type = 'table';")
fi
echo "verified $ARCHIVE: made $(manifest created) on $(manifest host), picam-guardian $(manifest picam_guardian_version), $(grep -c . "$dir/SHA256SUMS") files${DB:+, database with ${rows:-0} tables}"
if [ "$VERIFY_ONLY" = 1 ]; then exit 0; fi

# --- Restore ------------------------------------------------------------------
# Replacing the database under a running runtime would corrupt it.
if [ -z "$ROOT" ] && command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet picam-guardian-cloud 2>/dev/null; then
  die "picam-guardian-cloud is running: sudo systemctl stop picam-guardian-cloud, then restore"
fi

mapfile -t paths < <(cd "$dir/files" && find . -type f | sed 's#^\.##' | sort)
existing=()
for p in "${paths[@]}"; do
  if [ -e "$ROOT$p" ]; then existing+=("$p"); fi
done
if [ ${#existing[@]} -gt 0 ] && [ "$FORCE" = 0 ]; then
  {
    echo "restore.sh: ${#existing[@]} file(s) exist and would be overwritten, e.g."
    printf '  %s\n' "${existing[@]:0:5}"
    echo "  nothing was changed; run again with --force to overwrite"
  } >&2
  exit 1
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
for p in "${paths[@]}"; do
  target=$ROOT$p
  mkdir -p "$(dirname "$target")"
  if [ "$p" = "$DB" ]; then
    if [ -f "$target" ]; then
      mv "$target" "$target.pre-restore-$stamp"
      echo "kept the replaced database as $p.pre-restore-$stamp"
    fi
    # The old database's -wal would be replayed into the restored one: remove it.
    rm -f "$target-wal" "$target-shm" "$target-journal"
  fi
  cp -p "$dir/files$p" "$target.restoring"
  mv -f "$target.restoring" "$target"
done

# Owners: the archive's user ids belong to the machine it came from.
if [ -z "$ROOT" ]; then
  if getent passwd picam >/dev/null && [ -n "$DATA_DIR" ] && [ -d "$DATA_DIR" ]; then chown -R picam:picam "$DATA_DIR"; fi
  if getent group picam >/dev/null && [ -n "$ENV_FILE" ] && [ -f "$ENV_FILE" ]; then chown root:picam "$ENV_FILE"; fi
  if getent group mosquitto >/dev/null && [ -d /etc/mosquitto/picam ]; then chown -R root:mosquitto /etc/mosquitto/picam; fi
fi
echo "restored ${#paths[@]} files${ROOT:+ into $ROOT}"
echo "next: sudo systemctl restart mosquitto; sudo systemctl start picam-guardian-cloud"
