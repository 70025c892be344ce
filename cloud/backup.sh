#!/usr/bin/env bash
# PiCam Guardian: back up the cloud server into one dated archive (seed 004's
# backup strategy: database, certificates, configuration; plus what Node-RED
# needs to come back as it was).
#
#   sudo cloud/backup.sh                 -> /var/backups/picam-guardian/picam-guardian-backup-<UTC time>.tar.gz
#   sudo cloud/backup.sh --keep 14       ...and delete all but the newest 14
#   cloud/backup.sh --root DIR           back up the install under DIR (tests)
#
# What goes in (under files/, at the paths they came from):
#   the SQLite database     copied with sqlite3's .backup: consistent while the
#                           runtime writes (a plain cp of a WAL database is not),
#                           then checked with PRAGMA integrity_check
#   /var/lib/picam-guardian flows.json, flows_cred.json, .config.*.json, certs/
#                           (the CA key too: without it no camera certificate can be
#                           re-issued), the deploy history; uploads/ (camera media,
#                           often gigabytes, expiring anyway) only with --with-uploads
#   /etc/picam-guardian/cloud.env  (with PICAM_CREDENTIAL_SECRET, which decrypts flows_cred.json)
#   /etc/mosquitto/picam/, /etc/mosquitto/conf.d/picam-guardian.conf, /etc/mediamtx/mediamtx.env
# plus MANIFEST and SHA256SUMS, which restore.sh checks. The archive is 0600:
# it holds every secret of the installation. Copy it off the machine.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: cloud/backup.sh [--out DIR] [--data-dir DIR] [--env FILE] [--db FILE] [--keep N] [--with-uploads] [--root DIR]
  --out DIR       where archives go (default /var/backups/picam-guardian)
  --data-dir DIR  the runtime's data directory (default /var/lib/picam-guardian)
  --env FILE      the runtime's env file (default /etc/picam-guardian/cloud.env)
  --db FILE       the database (default: PICAM_DB_FILE from the env file, else
                  <data dir>/picam-guardian.db)
  --keep N        then delete all but the newest N archives in --out (default: keep all)
  --with-uploads  include <data dir>/uploads (camera thumbnails and recordings)
  --root DIR      every path above is inside DIR (a test install, a mounted disk)
USAGE
}

OUT=/var/backups/picam-guardian
DATA_DIR=/var/lib/picam-guardian
ENV_FILE=/etc/picam-guardian/cloud.env
DB=""
KEEP=0
UPLOADS=0
ROOT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --data-dir) DATA_DIR=${2:?--data-dir needs a directory}; shift 2 ;;
    --env) ENV_FILE=${2:?--env needs a file}; shift 2 ;;
    --db) DB=${2:?--db needs a file}; shift 2 ;;
    --keep) KEEP=${2:?--keep needs a number}; shift 2 ;;
    --with-uploads) UPLOADS=1; shift ;;
    --root) ROOT=$(realpath -m "${2:?--root needs a directory}"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "backup.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

die() {
  echo "backup.sh: $*" >&2
  exit 1
}
case "$KEEP" in '' | *[!0-9]*) die "--keep must be a number, got $KEEP" ;; esac
command -v sqlite3 >/dev/null 2>&1 || die "the sqlite3 command is missing (apt-get install sqlite3): it copies the live database consistently"
[ -d "$ROOT$DATA_DIR" ] || die "no data directory $ROOT$DATA_DIR (--data-dir)"
DATA_DIR=${DATA_DIR%/}

# The database the runtime uses: the env file's PICAM_DB_FILE, as systemd reads it (quotes removed).
if [ -z "$DB" ] && [ -f "$ROOT$ENV_FILE" ]; then
  DB=$(sed -n "s/^PICAM_DB_FILE=[\"']\{0,1\}\([^\"']*\)[\"']\{0,1\}[[:space:]]*$/\1/p" "$ROOT$ENV_FILE" | tail -n 1)
fi
DB=${DB:-$DATA_DIR/picam-guardian.db}

# Everything from here on is private: the staging copy holds the same secrets.
umask 077
mkdir -p "$ROOT$OUT"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name=picam-guardian-backup-$stamp
stage=$(mktemp -d "$ROOT$OUT/.staging-XXXXXX")
trap 'rm -rf "$stage"' EXIT
top=$stage/$name
files=$top/files
mkdir -p "$files$DATA_DIR"

# 1. The data directory, except the live database files (copied in step 2:
#    a raw copy of a database being written, or of its -wal, can be torn) and
#    what is rebuilt anyway.
excludes=(--exclude=./node_modules --exclude=./hls --exclude='./.staging-*' --exclude='*.pre-restore-*')
if [ "$UPLOADS" = 0 ]; then excludes+=(--exclude=./uploads); fi
case "$DB" in
  "$DATA_DIR"/*)
    rel=./${DB#"$DATA_DIR"/}
    excludes+=("--exclude=$rel" "--exclude=$rel-wal" "--exclude=$rel-shm" "--exclude=$rel-journal")
    ;;
esac
tar -C "$ROOT$DATA_DIR" --anchored "${excludes[@]}" -cf - . | tar -C "$files$DATA_DIR" -xpf -

# 2. The database, through SQLite's online backup.
if [ -f "$ROOT$DB" ]; then
  mkdir -p "$(dirname "$files$DB")"
  case "$ROOT$DB$files" in *"'"*) die "a path contains a single quote: $ROOT$DB" ;; esac
  sqlite3 "$ROOT$DB" ".timeout 10000" ".backup '$files$DB'"
  check=$(sqlite3 "$files$DB" 'PRAGMA integrity_check;')
  [ "$check" = ok ] || die "the copy of $DB fails its integrity check: $check"
  db_line="db=$DB"
else
  echo "backup.sh: no database at $DB yet; backing up the rest" >&2
  db_line="db="
fi

# 3. Configuration outside the data directory, where present.
for path in "$ENV_FILE" /etc/mosquitto/picam /etc/mosquitto/conf.d/picam-guardian.conf /etc/mediamtx/mediamtx.env; do
  if [ -e "$ROOT$path" ]; then
    mkdir -p "$(dirname "$files$path")"
    cp -a "$ROOT$path" "$files$path"
  fi
done
[ -e "$ROOT$ENV_FILE" ] || echo "backup.sh: no env file at $ENV_FILE (--env); without its PICAM_CREDENTIAL_SECRET the saved credentials cannot be read" >&2

# 4. What restore.sh checks before it touches anything.
version=""
pkg=$ROOT/opt/picam-guardian/lib/node_modules/picam-guardian/package.json
if [ -f "$pkg" ]; then version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n 1); fi
{
  echo "format=1"
  echo "created=$stamp"
  echo "host=$(hostname 2>/dev/null || echo unknown)"
  echo "picam_guardian_version=$version"
  echo "data_dir=$DATA_DIR"
  echo "env_file=$ENV_FILE"
  echo "$db_line"
} >"$top/MANIFEST"
(cd "$top" && find files -type f -print0 | sort -z | xargs -0 -r sha256sum >SHA256SUMS)

# 5. One archive, complete or absent: written under a temporary name, then renamed.
archive=$ROOT$OUT/$name.tar.gz
tar -C "$stage" -czf "$archive.partial" "$name"
chmod 0600 "$archive.partial"
mv "$archive.partial" "$archive"
echo "$archive"

# 6. Rotation: the newest N stay (names sort by time).
if [ "$KEEP" -gt 0 ]; then
  mapfile -t old < <(find "$ROOT$OUT" -maxdepth 1 -name 'picam-guardian-backup-*.tar.gz' | sort | head -n -"$KEEP")
  for f in "${old[@]}"; do
    rm -f "$f"
    echo "removed $f"
  done
fi
