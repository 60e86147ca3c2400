#!/usr/bin/env bash
# Fast Python suites (app, sandbox wiring, Redis sessions, auth, bad input):
# the real agent on loopback against a fake model and a real redis-server.
# Works on a fresh Debian machine; re-runs reuse the virtualenv.
# Usage: scripts/test-python.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
  echo "test-python.sh: CPython 3.11 is required (the locks are for 3.11), found $(python3 -V)" >&2
  exit 1
}
apt_install() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v redis-server >/dev/null || apt_install redis-server

venv=${AGENT_TEST_VENV:-.venv/agent-tests}
locks=(agent-image/requirements.txt test/python/requirements.txt)
want=$(cat "${locks[@]}" | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$venv/.locks" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$venv"
  # Debian's python3 makes venvs only with python3-venv installed.
  python3 -m venv "$venv" 2>/dev/null || { rm -rf "$venv"; apt_install python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet --no-deps --require-hashes -r "${locks[0]}" -r "${locks[1]}"
  echo "$want" >"$venv/.locks"
fi

# AgentScope 2.x (test_agentscope2.py runs it as a child process) needs a venv of its own: 2.x and
# the runtime's agentscope 1.x cannot share one.
as2_venv=${AGENTSCOPE2_TEST_VENV:-.venv/agentscope2}
as2_lock=agent-image/requirements-agentscope2.txt
want=$(sha256sum "$as2_lock" | cut -d' ' -f1)
if [[ "$(cat "$as2_venv/.locks" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$as2_venv"
  python3 -m venv "$as2_venv"
  "$as2_venv/bin/pip" install --quiet --no-deps --require-hashes --only-binary=:all: -r "$as2_lock"
  echo "$want" >"$as2_venv/.locks"
fi
export AGENTSCOPE2_PYTHON="$(cd "$as2_venv" && pwd)/bin/python"

[[ -n "${AGENT_TEST_PREPARE_ONLY:-}" ]] && exit 0
# The image suites are test-image.sh's: they need podman, which this script does not install.
ignores=()
while read -r suite; do ignores+=("--ignore=$suite"); done < <(grep -v '^#' test/python/image-suites.txt)
exec "$venv/bin/python" -m pytest test/python "${ignores[@]}" -p no:cacheprovider -ra "$@"
