#!/usr/bin/env bash
# Run the whole test suite from ./.venv on a virtual screen (the GUI tests need OpenGL, which
# Qt's offscreen platform lacks; see docs/headless.md). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v xvfb-run >/dev/null 2>&1; then
  exec xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python -m pytest "$@"
fi
if [ -z "${DISPLAY:-}" ]; then
  echo "error: no display and no xvfb-run; run scripts/setup.sh as root to install Xvfb" >&2
  exit 2
fi
exec .venv/bin/python -m pytest "$@"
