#!/usr/bin/env bash
# Makes the local stand-in for python:3.11-slim-bookworm (no Docker Hub here):
# a minimal Debian bookworm with python3 (3.11), venv, and pip on PATH as in
# the official images, imported into podman as $BASE_IMAGE. Skips all work
# when that image exists with the current recipe version.
# Usage: scripts/make-base-image.sh [image name]
set -euo pipefail
image=${1:-${BASE_IMAGE:-localhost/bookworm-python:3.11}}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

recipe=3  # bump when this recipe changes, so old local bases are replaced
if [[ "$(podman image inspect --format '{{index .Labels "base-recipe"}}' "$image" 2>/dev/null)" == "$recipe" ]]; then
  echo "$image exists"
  exit 0
fi
# shellcheck source=scripts/lib/debian-packages.sh
source "$(dirname "$0")/lib/debian-packages.sh"
install_missing_debian_packages debootstrap

root=$(mktemp -d /var/tmp/bookworm-root.XXXXXX)
trap 'rm -rf "$root"' EXIT
# ca-certificates: pip needs a trust store (the build can add its own CA).
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$root" "$mirror" >/dev/null
# Like the official images: pip in /usr/local (so it can upgrade itself) and
# no PEP 668 marker, so a Dockerfile written for them runs unchanged.
# (Debian disables ensurepip; pip installs itself from the wheel that
# python3-venv brings.)
rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
chroot "$root" sh -c 'whl=$(echo /usr/share/python-wheels/pip-*.whl) &&
  python3 "$whl/pip" install -q --no-index --no-cache-dir --disable-pip-version-check "$whl"' 2>/dev/null
find "$root" -name __pycache__ -path '*/usr/local/*' -prune -exec rm -rf {} +
# What the official slim images also leave out: apt lists, caches, docs.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
podman untag "$image" 2>/dev/null || true
tar -C "$root" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  --change "LABEL base-recipe=$recipe" \
  - "$image" >/dev/null
echo "$image created"
