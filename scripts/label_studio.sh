#!/usr/bin/env bash
# A real Label Studio for the integration test (tests/integration/test_label_studio.py) and for
# trying the annotation loop locally. It lives in its own virtualenv, never in the project's .venv
# (its ~120 dependencies would fight the project's pins).
#
#   scripts/label_studio.sh                        install (idempotent; a second run only checks)
#   scripts/label_studio.sh --start PORT DATA_DIR  run it in the foreground on 127.0.0.1:PORT,
#                                                  SQLite in DATA_DIR, offline, fixed admin + token
#
# Install: .flywheel/label-studio/venv with label-studio==$LS_VERSION (about 1 GB), and a migrated
# empty SQLite database (.flywheel/label-studio/template-$LS_VERSION) that --start copies into a
# new DATA_DIR: a fresh database needs ~25 s of Django migrations, a copy starts in ~5 s.
#
# --start reads (defaults in brackets): LABEL_STUDIO_USERNAME [admin@flywheel.local],
# LABEL_STUDIO_PASSWORD [flywheel-dev-password], LABEL_STUDIO_USER_TOKEN [flywheel-dev-token]
# (legacy API token, sent as "Authorization: Token <token>"; 6 to 40 characters), and
# SSRF_PROTECTION_ENABLED [false: webhooks to 127.0.0.1 / private addresses are refused otherwise;
# see docs/annotation-tools.md before running this anywhere but a laptop or CI].
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

LS_VERSION=1.23.2
DIR=.flywheel/label-studio
VENV=$DIR/venv
TEMPLATE=$DIR/template-$LS_VERSION

# What Label Studio must not do here: phone home (Sentry error reports with PII on, a PyPI
# version check on every start) or let strangers sign up.
offline_env() {
  export SENTRY_DSN="${SENTRY_DSN:-}" FRONTEND_SENTRY_DSN="${FRONTEND_SENTRY_DSN:-}"
  export LATEST_VERSION_CHECK="${LATEST_VERSION_CHECK:-false}"
  export LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true
  export DJANGO_DB=sqlite
}

install() {
  local stamp=$VENV/.flywheel-label-studio-$LS_VERSION
  if [ ! -f "$stamp" ]; then
    local py=${PYTHON:-python3.11}
    command -v "$py" >/dev/null 2>&1 || py=python3
    [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
    # (the grep drops pip's warnings about this machine's missing local index directories)
    "$VENV/bin/pip" install -q --upgrade pip 2>&1 | { grep -v "neither a file nor a directory" || true; }
    "$VENV/bin/pip" install -q "label-studio==$LS_VERSION" 2>&1 | { grep -v "neither a file nor a directory" || true; }
    rm -f "$VENV"/.flywheel-label-studio-*
    touch "$stamp"
  fi
  if [ ! -f "$TEMPLATE/label_studio.sqlite3" ]; then
    # `label-studio version` applies the migrations before printing; build in a scratch dir and
    # rename, so a concurrent run never sees half a database.
    local tmp
    tmp=$(mktemp -d "$DIR/template.XXXXXX")
    (offline_env; LABEL_STUDIO_BASE_DATA_DIR="$ROOT/$tmp" "$VENV/bin/label-studio" version >"$tmp/migrate.log" 2>&1) ||
      { cat "$tmp/migrate.log" >&2; rm -rf "$tmp"; exit 1; }
    mkdir -p "$tmp/db" && mv "$tmp/label_studio.sqlite3" "$tmp/db/"
    if ! mv -T "$tmp/db" "$TEMPLATE" 2>/dev/null; then :; fi  # another run won the race: fine
    rm -rf "$tmp"
  fi
  echo "label-studio $LS_VERSION ok: $VENV"
}

start() {
  local port=$1 data=$2
  [ -x "$VENV/bin/label-studio" ] || { echo "not installed: run $0 first" >&2; exit 2; }
  mkdir -p "$data"
  data=$(cd "$data" && pwd)
  if [ ! -f "$data/label_studio.sqlite3" ] && [ -f "$TEMPLATE/label_studio.sqlite3" ]; then
    cp "$TEMPLATE/label_studio.sqlite3" "$data/"
  fi
  offline_env
  export LABEL_STUDIO_BASE_DATA_DIR="$data"
  export LABEL_STUDIO_USERNAME="${LABEL_STUDIO_USERNAME:-admin@flywheel.local}"
  export LABEL_STUDIO_PASSWORD="${LABEL_STUDIO_PASSWORD:-flywheel-dev-password}"
  export LABEL_STUDIO_USER_TOKEN="${LABEL_STUDIO_USER_TOKEN:-flywheel-dev-token}"
  export LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true  # 1.23 turns legacy tokens off by default
  export SSRF_PROTECTION_ENABLED="${SSRF_PROTECTION_ENABLED:-false}"
  cd "$data"  # Label Studio writes nothing to the working directory, but be safe
  # exec: the caller's pid is Label Studio's (Django runserver, --noreload: one process).
  # Beware: when PORT is taken Label Studio silently moves to PORT+1; callers poll PORT/health.
  exec "$ROOT/$VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --port "$port"
}

case "${1:-}" in
  "") install ;;
  --start)
    [ $# -eq 3 ] || { echo "usage: $0 --start PORT DATA_DIR" >&2; exit 2; }
    start "$2" "$3"
    ;;
  *) echo "usage: $0 [--start PORT DATA_DIR]" >&2; exit 2 ;;
esac
