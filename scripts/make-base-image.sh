#!/usr/bin/env bash
# Makes the local stand-in for python:3.11-slim-bookworm (no Docker Hub here):
# a minimal Debian bookworm with python3 (3.11) and python3-venv, imported into
# podman as $BASE_IMAGE. Skips all work when that image already exists.
# Usage: scripts/make-base-image.sh [image name]
set -euo pipefail
image=${1:-${BASE_IMAGE:-localhost/bookworm-python:3.11}}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if podman image exists "$image"; then
  echo "$image exists"
  exit 0
fi
command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

root=$(mktemp -d /var/tmp/bookworm-root.XXXXXX)
trap 'rm -rf "$root"' EXIT
# ca-certificates: pip needs a trust store (the build can add its own CA).
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$root" "$mirror" >/dev/null
# What the official slim images also leave out: apt lists, caches, docs.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
tar -C "$root" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$image" >/dev/null
echo "$image created"
