#!/usr/bin/env bash
# Overhead of metrics, stats publishing and lag monitoring on pipeline throughput:
# alternating runs with them off and on, on the same prompts (bench/pipeline.py).
set -euo pipefail
cd "$(dirname "$0")/.."
for ops in off on off on; do
  .venv/bin/python bench/pipeline.py --n "${N:-1500}" --ops "$ops" 2>/dev/null | grep -E "^# .*metrics|events/s \(first"
done
