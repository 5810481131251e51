#!/usr/bin/env bash
# Create .venv with kgrec and its dependencies: the CPU build of torch first (never a
# multi-GB CUDA download), then the project in editable mode with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "kgrec installed in .venv ($(.venv/bin/kgrec --version 2>/dev/null || echo ready))" >&2
