#!/usr/bin/env bash
# Regenerates the hashed locks from requirements.in (needs `uv` on PATH).
# requirements.txt: the agent image; requirements-sandbox-manager.txt: the
# sandbox manager image (full dependency set). Both for CPython 3.11 on
# x86_64 glibc, the Python of the default and the local base images.
set -euo pipefail
cd "$(dirname "$0")"
common=(--generate-hashes --python-version 3.11
        --python-platform x86_64-manylinux_2_28 --no-header --quiet)
uv pip compile requirements.in "${common[@]}" --excludes agent-excludes.txt \
  -o requirements.txt
uv pip compile requirements.in "${common[@]}" \
  -o requirements-sandbox-manager.txt
