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
mapfile -t suites < <(grep -v '^#' test/python/image-suites.txt)
exec .venv/agent-tests/bin/python -m pytest "${suites[@]}" -p no:cacheprovider -ra -s "$@"
