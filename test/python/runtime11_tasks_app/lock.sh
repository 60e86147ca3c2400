#!/usr/bin/env bash
# Hash-locks requirements.in for the image's Python (CPython 3.11, x86_64 glibc), wheels only
# except oss2 and crcmod (published only as source; see agent-image/install-deps.sh). Needs uv.
set -euo pipefail
cd "$(dirname "$0")"
uv pip compile requirements.in --generate-hashes --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 --no-header --quiet \
  --only-binary :all: --no-binary oss2 --no-binary crcmod -o requirements.txt
