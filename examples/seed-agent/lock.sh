#!/usr/bin/env bash
# Hash-locks requirements.in into requirements.txt for the image's Python
# (CPython 3.11, x86_64 glibc), as agent-image/lock.sh does. Needs `uv` on PATH.
# Wheels only (the image has no compiler), except oss2 and crcmod, which are
# published only as source and install without one (agent-image/install-deps.sh).
# --exclude-newer: agentscope-runtime 1.0.1 (built 2025-12-08) leaves its
# dependencies unbounded; resolved today it gets agentscope 2.x, a new major the
# sample was not written for. So resolve as a user did when 1.0.1 was new; the
# one exception is aliyun-python-sdk-core, whose first wheel (2.16.1) came later.
set -euo pipefail
cd "$(dirname "$0")"
uv pip compile requirements.in --generate-hashes --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 --no-header --quiet \
  --only-binary :all: --no-binary oss2 --no-binary crcmod \
  --exclude-newer 2025-12-09T00:00:00Z \
  --exclude-newer-package aliyun-python-sdk-core=2026-12-01T00:00:00Z \
  -o requirements.txt
