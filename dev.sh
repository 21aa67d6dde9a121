#!/usr/bin/env bash
# The project's two commands (see README.md):
#   ./dev.sh lab    set everything up, start the local S3 with the fashion data, open JupyterLab
#   ./dev.sh test   set everything up (venv, pip extras, Debian chromium, JS bundle), run every test
# Everything the project needs is installed from here; nothing is assumed installed by hand.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="${GTWIDGETS_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_python() {
  local py
  py=$(command -v python3 || true)
  [ -n "$py" ] || { echo "python3 not found: install Python 3.10 or newer" >&2; exit 1; }
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
    { echo "gtwidgets needs Python 3.10 or newer; $("$py" --version) found" >&2; exit 1; }
  echo "$py"
}

setup_venv() {  # $1: pip extras
  local extras=$1 stamp
  if [ ! -x "$PY" ]; then
    say "creating the virtual environment in $VENV"
    "$(need_python)" -m venv "$VENV"
    "$PY" -m pip install -q -U pip
  fi
  stamp="$VENV/.gtwidgets-$extras-$(cat pyproject.toml | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    say "installing gtwidgets[$extras] and its dependencies (about a minute the first time)"
    "$PY" -m pip install -q -e ".[$extras]"
    touch "$stamp"
  fi
}

setup_chromium() {
  [ -x /usr/bin/chromium ] && return
  say "installing Debian's chromium for the browser tests (about 40 s)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

build_js() {
  if ! command -v npm >/dev/null; then
    say "npm not found: using the committed bundle in gtwidgets/static/"
    return
  fi
  say "building the widget bundle from js/ (esbuild)"
  (cd js && npm ci --silent --no-audit --no-fund && npm run --silent build)
}

case "${1:-}" in
  lab)
    shift
    setup_venv lab
    exec "$VENV/bin/gtwidgets" lab "$@"
    ;;
  test)
    shift
    setup_venv test
    setup_chromium
    build_js
    say "running the test suite"
    export GTWIDGETS_HOME="${GTWIDGETS_HOME:-$(mktemp -d)}"
    exec "$PY" -m pytest -q -p no:cacheprovider --timeout=300 \
      -W "ignore::pytest.PytestRemovedIn10Warning" \
      tests "$@"
    ;;
  *)
    echo "usage: ./dev.sh lab | ./dev.sh test [pytest options]" >&2
    exit 2
    ;;
esac
