#!/usr/bin/env bash
# Create .venv and install the app (and, with --dev, what the tests need).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)-${req}"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install --disable-pip-version-check -q -r "$req"
  .venv/bin/pip install --disable-pip-version-check -q --no-deps -e .
  touch "$stamp"
fi
