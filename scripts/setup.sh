#!/usr/bin/env bash
# Set-up on a fresh machine: the stack's and the policy pack's Node dependencies, and the agent's
# test virtualenv (with redis-server from Debian). Re-runs are quick.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
npm ci --prefix policy --no-audit --no-fund
AGENT_TEST_PREPARE_ONLY=1 scripts/test-python.sh
