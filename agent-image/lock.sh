#!/usr/bin/env bash
# Regenerates the hashed locks from requirements.in (needs `uv` on PATH).
# requirements.txt: the agent image; requirements-sandbox-manager.txt: the
# sandbox manager image (full dependency set); requirements-sandbox.txt: the
# sandbox image (the box routers' dependencies at the manager lock's versions,
# plus the runtime wheel's own hashed line from requirements.txt, installed
# without its dependencies); requirements-agentscope2.txt: the AgentScope 2.x
# service image (its own resolution: agentscope 2.x and the runtime's 1.x
# conflict). All for CPython 3.11 on x86_64 glibc, the Python of the default
# and the local base images.
set -euo pipefail
cd "$(dirname "$0")"
common=(--generate-hashes --python-version 3.11
        --python-platform x86_64-manylinux_2_28 --no-header --quiet)
uv pip compile requirements.in "${common[@]}" --excludes agent-excludes.txt \
  -o requirements.txt
uv pip compile requirements.in "${common[@]}" \
  -o requirements-sandbox-manager.txt
uv pip compile requirements-agentscope2.in "${common[@]}" \
  -o requirements-agentscope2.txt
uv pip compile requirements-sandbox.in "${common[@]}" \
  -c requirements-sandbox-manager.txt -o requirements-sandbox.txt
# The runtime's block: its pin line and every continuation (hash) line.
awk '/^agentscope-runtime==/ {on=1} on {print; if ($0 !~ /\\$/) exit}' requirements.txt \
  >>requirements-sandbox.txt
