#!/usr/bin/env bash
# Slow suite: builds the three images (and a user agent image from
# examples/seed-agent) with podman from the local debootstrap base
# and runs them as Kubernetes will (uid 10001, read-only root, /tmp only);
# and the Jaeger trace viewer (binary built from its Go module by
# e2e/images/jaeger/build.sh, cached by version; needs go) as a process and an image.
# Works on a fresh Debian machine; re-runs reuse the base image and the venv.
# Usage: scripts/test-image.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-podman.sh
scripts/make-base-image.sh
# The fast script prepares the virtualenv; run nothing from it.
AGENT_TEST_PREPARE_ONLY=1 scripts/test-python.sh
exec .venv/agent-tests/bin/python -m pytest test/python/test_image.py \
  test/python/test_user_agent_image.py test/python/test_workspace_image.py test/python/test_jaeger.py -p no:cacheprovider -ra -s "$@"
