# Shared by scripts/demo and scripts/test: make .venv with Python 3.11+ and install uptake into it.
# Usage: source scripts/_venv.sh EXTRAS   (e.g. "dev")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UPTAKE_VENV:-$ROOT/.venv}"
find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: uptake needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  return 1
}
if [ ! -x "$VENV/bin/python" ]; then
  PY="$(find_python)"
  echo "Creating virtual environment in $VENV with $("$PY" --version)" >&2
  "$PY" -m venv "$VENV"
fi
# Every dependency comes from a lock file with hashes (requirements/<extras>.lock, made by uv from
# pyproject.toml: docs/development.md): the same versions on every machine, and pip refuses any
# file whose hash differs. uptake itself is then installed without dependencies.
LOCK="$ROOT/requirements/${1//,/-}.lock"
if [ ! -f "$LOCK" ]; then
  echo "error: no lock file $LOCK for the extras '$1' (see docs/development.md, 'Dependencies')" >&2
  return 1 2>/dev/null || exit 1
fi
STAMP="$VENV/.uptake-installed-$1"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ] || [ "$LOCK" -nt "$STAMP" ]; then
  echo "Installing uptake[$1] and its locked dependencies into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --require-hashes -r "$LOCK" >&2
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT" >&2
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
# The portal's front-end packages (NHS.UK frontend, Vega-Lite), pinned by package-lock.json and
# served locally. Without npm the portal still runs, unstyled and without charts.
FRONTEND="$ROOT/src/uptake/web/frontend"
if [ ! -f "$FRONTEND/node_modules/.package-lock.json" ] || [ "$FRONTEND/package-lock.json" -nt "$FRONTEND/node_modules/.package-lock.json" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "Installing the portal's front-end packages (npm ci)" >&2
    (cd "$FRONTEND" && npm ci --no-audit --no-fund --loglevel=error >&2)
  else
    echo "warning: npm not found: the portal will have no NHS.UK styles or charts (install Node.js 20+)" >&2
  fi
fi
