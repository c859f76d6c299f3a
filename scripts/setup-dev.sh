#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian/Ubuntu machine (CI runs this too):
# a .venv with nb-orchestra and its dev extras, and the system's Chromium for the browser test.
# Usage: bash scripts/setup-dev.sh        then: .venv/bin/python -m pytest -q
# Never runs `playwright install`: the browser test drives /usr/bin/chromium (or $NBO_CHROMIUM).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'

# The prebuilt JupyterLab extension (%%flow highlighting, nb_orchestra/labextension): an editable
# install leaves the wheel's share/ files out, so link it where JupyterLab and Notebook 7 look
# (a rebuild by labextension/build.py shows at the next page load). A real copy is left alone.
ext=.venv/share/jupyter/labextensions/nb-orchestra
if [ -L "$ext" ] || [ ! -e "$ext" ]; then
  mkdir -p "$(dirname "$ext")" && ln -sfn "$PWD/nb_orchestra/labextension" "$ext"
else
  echo "note: $ext is a copy from a regular install; rebuilds show after pip install ." >&2
fi

CHROMIUM=${NBO_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ "$CHROMIUM" = /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser test (apt-get)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: no Chromium at $CHROMIUM: tests/test_browser.py will fail until you install one" >&2
    echo "  (Debian: apt-get install -y chromium; elsewhere set NBO_CHROMIUM to a Chrome/Chromium executable)" >&2
  fi
fi
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$PG_BIN/initdb" ] || echo "warning: no PostgreSQL binaries in $PG_BIN: the PostgreSQL tests will fail" \
  "(Debian: apt-get install -y postgresql-15, or set PG_BIN)" >&2
echo "Ready: .venv/bin/python -m pytest -q"
