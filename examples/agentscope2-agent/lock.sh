#!/usr/bin/env bash
# Hash-locks requirements.in into requirements.txt for the image's Python (CPython 3.11, x86_64
# glibc), as agent-image/lock.sh does; the image installs it with --require-hashes, wheels only.
# Needs `uv` on PATH.
set -euo pipefail
cd "$(dirname "$0")"
uv pip compile requirements.in --generate-hashes --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 --no-header --quiet --only-binary :all: \
  -o requirements.txt
