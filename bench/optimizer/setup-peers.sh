#!/usr/bin/env bash
# Creates the bench-only peer venv (Optuna TPE/GPSampler, OSS Vizier, matplotlib) from PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python3 -m venv "$here/.venv-peers"
"$here/.venv-peers/bin/pip" install --quiet --upgrade pip
"$here/.venv-peers/bin/pip" install -r "$here/peers-requirements.txt"
"$here/.venv-peers/bin/pip" freeze > "$here/peers-freeze.txt"
