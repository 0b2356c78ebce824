#!/usr/bin/env bash
# Installs everything Flywheel needs on a fresh Debian machine with Python 3.11:
# redis-server (Debian package), a .venv with CPU torch and the project, and the model exports.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: redis-server (the embedded stack); with --test also chromium (the dashboard's
# browser test) and node/npm (a non-Python consumer of the curated topic: docs/interop.md).
missing=""
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing="$missing redis-server"
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.flywheel-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  # torch first and pinned exactly: a looser requirement pulls several GB of CUDA packages.
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e ".[dev]"
  touch "$stamp"
fi
# A non-Python Kafka client (kafkajs, pinned in clients/node/package-lock.json) for
# tests/integration/test_interop_node.py; the test skips without it.
if [ "${1:-}" = "--test" ] && command -v npm >/dev/null 2>&1; then
  if [ ! -f clients/node/node_modules/.package-lock.json ] \
     || [ clients/node/package-lock.json -nt clients/node/node_modules/.package-lock.json ]; then
    (cd clients/node && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
# With --test: a real Label Studio in its own virtualenv (.flywheel/label-studio; its Django
# pins must not meet ours) for tests/integration/test_label_studio.py.
if [ "${1:-}" = "--test" ]; then
  scripts/label_studio.sh
fi
# Export the ONNX models once (cached in .flywheel/models), so workers start fast.
HF_HUB_OFFLINE=1 .venv/bin/flywheel model >/dev/null
echo "setup ok: $(.venv/bin/python --version), redis $(redis-server --version | cut -d' ' -f3)"
