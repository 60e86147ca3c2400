#!/usr/bin/env bash
# Everything the slow suites build from the Go module proxy, cached by version: first the Jaeger
# binary of the local trace viewer (test:image needs it first), then the e2e toolchain (test:e2e).
# .ci/run starts this in the background. Output: both scripts' logs; the last line is the
# toolchain's bin directory, as e2e/toolchain/build.sh prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
e2e/images/jaeger/build.sh
e2e/toolchain/build.sh
