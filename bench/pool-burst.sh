#!/usr/bin/env bash
# Issue 23's sandbox pool figures in one command, on the stack `npm run local` brought up (the
# embedded node), as docs/sandbox-pool.md reports them:
#   bench/pool-burst.sh [--rounds N] [--burst N] [--burst-cpu VCPU] [--steps 1,2,3,4]
# 1. the stack as configured (default local: pool 2, sandboxes of 0.25 vCPU): warm claims (--rounds
#    rounds, default 20, of pool + 1 claims each; the API-server requests and the manager's CPU per
#    claim), then five seed requests 4 s apart;
# 2. the same sandboxes, poolSize 0: --rounds cold claims one after another (each a create of its
#    own); then again with sandbox.cpuLimit equal to sandbox.cpu (requests = limits), if it differs;
# 3. sandboxes shrunk to a request of --burst-cpu (default 0.015) vCPU / 0.25 GiB, the CPU limit as
#    configured, pool = --burst (default 20): a burst of that many claims at once, all from the pool,
#    and the refill beside them. The request is what lets 2 × 20 sandboxes be scheduled on the
#    2-core node beside the local stack's 1.25 vCPU of requests and a manager rollout's 0.25 (at
#    0.05 the pool of 20 alone did not fit, and the fill never finished);
# 4. the same sandboxes, pool 2: the rest created on demand;
# then the stack's sandbox settings as they were (pulumi up). 40 sandboxes starting on 2 cores share
# them whatever their limits (each start is ~0.5 s of CPU): steps 3 and 4 measure concurrency,
# failures and refill, not the speed of one sandbox.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
rounds=20 burst=20 burst_cpu=0.015 steps=1,2,3,4
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --burst) burst=$2; shift 2 ;;
    --burst-cpu) burst_cpu=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--burst N] [--burst-cpu VCPU] [--steps 1,2,3,4]" >&2; exit 2 ;;
  esac
done
step() { [[ ",$steps," == *",$1,"* ]]; }

# The Pulumi setup scripts/local.sh uses: its state directory, backend and passphrase, the
# toolchain's CLI and Kubernetes provider.
state="${AGENTSCOPE_LOCAL_DIR:-$repo/.agentscope-local}"
config_file="$state/Pulumi.local.yaml"
[[ -f $config_file ]] || { echo "no local stack at $state: run 'npm run local' first" >&2; exit 1; }
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$state/pulumi-state}" PULUMI_SKIP_UPDATE_CHECK=true
[[ -n "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]] || export PULUMI_CONFIG_PASSPHRASE_FILE="$state/passphrase"
if ! command -v pulumi >/dev/null; then
  PATH="$(e2e/toolchain/build.sh | sed -n 's/^E2E_BIN_DIR=//p'):$PATH"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
fi
p() { pulumi --non-interactive "$@" --config-file "$config_file" --stack local; }
get() { p config get --path "$1" 2>/dev/null || true; }
set_sandbox() { # poolSize cpu cpuLimit memoryGiB (an empty one left as it is)
  p config set --path sandbox.poolSize "$1" >/dev/null
  [[ -z $2 ]] || p config set --path sandbox.cpu "$2" >/dev/null
  [[ -z $3 ]] || p config set --path sandbox.cpuLimit "$3" >/dev/null
  [[ -z $4 ]] || p config set --path sandbox.memoryGiB "$4" >/dev/null
  echo "== pulumi up: sandbox.poolSize $1, sandbox.cpu $2, sandbox.cpuLimit $3, sandbox.memoryGiB $4" >&2
  p up --yes --skip-preview >/dev/null
}
was=("$(get sandbox.poolSize)" "$(get sandbox.cpu)" "$(get sandbox.cpuLimit)" "$(get sandbox.memoryGiB)")
restore() {
  local k v i=0
  # A full pool first goes to 0 at its own size: the new manager needs room beside the old one's
  # sandboxes, which only a manager removes (a big pool's restore hung that way, its manager Pending).
  local size; size="$(get sandbox.poolSize)"
  if (( ${size:-0} > 2 )); then set_sandbox 0 "" "" ""; fi
  for k in poolSize cpu cpuLimit memoryGiB; do
    v=${was[$i]} i=$((i + 1))
    if [[ -n $v ]]; then p config set --path "sandbox.$k" "$v" >/dev/null; else p config rm --path "sandbox.$k" >/dev/null 2>&1 || true; fi
  done
  echo "== pulumi up: the sandbox settings as they were" >&2
  p up --yes --skip-preview >/dev/null
}

echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. as configured (sandbox.poolSize ${was[0]:-default}, sandbox.cpu ${was[1]:-default}, sandbox.cpuLimit ${was[2]:-= cpu})"
if step 1; then
  bench/warm-pool.sh --rounds "$rounds" --requests 0 --count-api
  bench/warm-pool.sh --rounds 0 --requests 5 --gap 4
fi
trap restore EXIT
if step 2; then
  echo "== 2. cold claims: poolSize 0, the same sandboxes"
  set_sandbox 0 "${was[1]}" "${was[2]}" "${was[3]}"
  bench/warm-pool.sh --rounds 0 --requests 0 --cold "$rounds"
  if [[ -n ${was[2]} && ${was[2]} != "${was[1]}" ]]; then
    echo "== 2b. cold claims: poolSize 0, sandbox.cpuLimit = sandbox.cpu ${was[1]} (requests = limits)"
    set_sandbox 0 "${was[1]}" "${was[1]}" "${was[3]}"
    bench/warm-pool.sh --rounds 0 --requests 0 --cold "$rounds"
  fi
fi
if step 3; then
  echo "== 3. burst of $burst, pool $burst, sandboxes requesting $burst_cpu vCPU / 0.25 GiB (CPU limit ${was[2]:-= cpu})"
  set_sandbox "$burst" "$burst_cpu" "${was[2]}" 0.25
  bench/warm-pool.sh --rounds 0 --requests 0 --burst "$burst"
fi
if step 4; then
  echo "== 4. burst of $burst, pool 2, the same sandboxes"
  set_sandbox 2 "$burst_cpu" "${was[2]}" 0.25
  bench/warm-pool.sh --rounds 0 --requests 0 --burst "$burst"
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
