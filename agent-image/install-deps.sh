#!/bin/sh
# Build step shared by both images: a venv at /opt/venv from one hashed lock.
# Wheels only, so no compiler is ever needed; the exceptions are oss2 and its
# dependency crcmod, published only as source: oss2 is pure Python and
# crcmod's setup falls back to pure Python when it finds no compiler.
# No pip left behind; bytecode
# compiled here because the running container cannot write it
# (unchecked-hash: valid whatever the files' times).
set -eu
lock=$1
if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi
python3 -m venv /opt/venv
/opt/venv/bin/pip install --no-deps --require-hashes --only-binary=:all: \
  --no-binary=oss2,crcmod --no-compile --disable-pip-version-check -r "$lock"
/opt/venv/bin/pip uninstall --yes --quiet pip
/opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib
