#!/usr/bin/env bash
# Builds the targets of agent-image/Dockerfile (`agent`, `sandbox-manager`, optionally `sandbox`
# and `stand-in-model`) with podman from the local debootstrap base, with the same arguments as
# test/python/images.py `build()` (the image tests), so the two share podman's layer cache: a run
# after `npm run test:image` rebuilds nothing.
#
# Usage: scripts/build-agent-images.sh AGENT_TAG MANAGER_TAG [SANDBOX_TAG [STAND_IN_MODEL_TAG]]
#   SANDBOX_TAG: also build the `sandbox` target (our runtime-sandbox-base);
#   STAND_IN_MODEL_TAG: also the stand-in model.
# Needs podman and the base image: run scripts/setup-podman.sh and scripts/make-base-image.sh first.
# Environment: BASE_IMAGE (default localhost/bookworm-python:3.11, as make-base-image.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 2 && $# -le 4 ]] || { echo "usage: $0 AGENT_TAG MANAGER_TAG [SANDBOX_TAG [STAND_IN_MODEL_TAG]]" >&2; exit 2; }
base=${BASE_IMAGE:-localhost/bookworm-python:3.11}
# This machine reaches PyPI through a TLS-inspecting proxy: pip in the build needs the host's trust
# store, passed as a build secret so it stays out of every layer (as images.py does).
ca=/etc/ssl/certs/ca-certificates.crt
podman image exists "$base" || { echo "$0: $base is missing: run scripts/make-base-image.sh" >&2; exit 1; }
pairs=("agent=$1" "sandbox-manager=$2")
[[ $# -ge 3 ]] && pairs+=("sandbox=$3")
[[ $# -ge 4 ]] && pairs+=("stand-in-model=$4")
for pair in "${pairs[@]}"; do
  target=${pair%%=*} tag=${pair#*=}
  podman build --quiet --secret "id=pip-ca,src=$ca" --build-arg "BASE_IMAGE=$base" \
    --target "$target" -t "$tag" agent-image >/dev/null
  echo "built $tag (target $target)" >&2
done
