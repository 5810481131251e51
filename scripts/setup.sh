#!/usr/bin/env bash
# Create .venv with kgrec and its dependencies: torch 2.13.0 first, then the project in
# editable mode with its test extras.
#
# Which torch build comes depends on the index pip reaches:
#   - the default index (PyPI) serves, on Linux x86_64, the CUDA build: torch 2.13.0+cu130
#     plus about 2.7 GB of nvidia-* packages (CUDA 13 libraries); .venv ends up about 5.7 GB.
#     It runs on machines without a GPU too (training and embedding then use the CPU).
#   - TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu bash scripts/setup.sh installs the
#     CPU-only build (no nvidia-* packages, a few hundred MB) where that index is reachable.
# The script prints the torch build it installed and the size of .venv when it is done.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ -n "$TORCH_INDEX_URL" ]; then
  echo "installing torch 2.13.0 from $TORCH_INDEX_URL" >&2
  .venv/bin/python -m pip install --quiet "torch==2.13.0" --index-url "$TORCH_INDEX_URL"
else
  echo "installing torch 2.13.0 from the default index (on Linux x86_64: the CUDA build, about" \
    "2.7 GB of nvidia-* packages; set TORCH_INDEX_URL for another build)" >&2
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet -e ".[test]"
torch_build=$(.venv/bin/python -c 'import torch; print(torch.__version__)' 2>/dev/null || echo unknown)
echo "kgrec installed in .venv ($(.venv/bin/kgrec --version 2>/dev/null || echo ready));" \
  "torch $torch_build; .venv is $(du -sh .venv | cut -f1)" >&2
