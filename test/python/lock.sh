#!/usr/bin/env bash
# Hashed lock of the test tools, constrained to the agent's lock so that both
# install into one virtualenv (needs `uv` on PATH).
set -euo pipefail
cd "$(dirname "$0")"
uv pip compile requirements.in --generate-hashes --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 --no-header --quiet \
  -c ../../agent-image/requirements.txt -o requirements.txt
