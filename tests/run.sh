#!/usr/bin/env bash
# The whole test suite on a fresh Debian/Ubuntu machine: installs what is missing
# (PostgreSQL server from Debian, the project with its test extra into .venv), then runs
# pytest against the *installed* package (catalogs compiled by the build).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q '.[test]'

export CI="${CI:-}"
# Two workers (each with its own Synapse and PostgreSQL); PYTEST_WORKERS=0 runs in one process.
exec .venv/bin/pytest -n "${PYTEST_WORKERS:-2}" "$@"
