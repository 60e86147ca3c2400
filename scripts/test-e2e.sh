#!/usr/bin/env bash
# The end-to-end suite: the stack under the real Pulumi engine on the embedded cluster. Builds the
# toolchain (cached: e2e/toolchain/build.sh), starts a registry with htpasswd auth on loopback
# (e2e/registry/registry.sh) and the cluster with a real node (E2E_REAL_NODE=1
# e2e/cluster/cluster.sh: pods run; NetworkPolicies enforced by kube-router) plus the ACS-like kwok
# node, builds and pushes every image (scripts/push-images.sh), then runs test/e2e with vitest:
# `pulumi up`, the objects read back, the seed's demo through the agent, restarts, NetworkPolicies
# on real packets, `preview --expect-no-changes`, a one-field diff, a refused bad config, `destroy`
# and `stack rm`, on a local and an ACS-like stack, plus the policy pack under the engine and the
# example program installed from the packed npm tarball (test/e2e/package.test.ts). Stops the
# cluster and the registry on every exit, and prints the wall times.
#
# Works on a fresh Debian machine, as root, after scripts/setup.sh (npm ci at the root and in
# policy/): what else it needs comes from Debian's packages (podman & co., containerd, runc, CNI
# plugins, docker-registry) and from the Go module proxy (the toolchain).
# Environment (all optional): E2E_APISERVER_PORT (26443), E2E_ETCD_PORT (22379),
# E2E_REGISTRY_PORT (25000), E2E_KEEP_WORKDIR=1 keeps the work directory (state, logs).
# Extra arguments go to vitest (e.g. a test file name).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
log() { echo "[test-e2e] $*" >&2; }
# shellcheck source=scripts/lib/debian-packages.sh
source scripts/lib/debian-packages.sh
declare -A took
order=()
timed() { # name command...
  local name=$1 t=$SECONDS
  shift
  "$@"
  took[$name]=$((SECONDS - t))
  order+=("$name")
}
suite_start=$SECONDS

[[ -z "${PULUMI_IGNORE_AMBIENT_PLUGINS:-}" ]] || { log "PULUMI_IGNORE_AMBIENT_PLUGINS is set: the CLI would not find the toolchain's plugins on PATH"; exit 1; }
for d in node_modules/@pulumi/pulumi node_modules/@pulumi/kubernetes node_modules/vitest policy/node_modules/@pulumi/policy; do
  [[ -d $d ]] || { log "$d is missing: run scripts/setup.sh first"; exit 1; }
done

# ---------- what the machine needs (Debian packages; a second run installs nothing)
install_missing_debian_packages openssl curl
scripts/setup-podman.sh

# ---------- toolchain (built from the Go module proxy once, then cached)
build_toolchain() { bin="$(e2e/toolchain/build.sh | sed -n 's/^E2E_BIN_DIR=//p')"; [[ -n $bin ]]; }
timed "toolchain build" build_toolchain
export PATH="$bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/agentscope-e2e.XXXXXX")"
export E2E_REGISTRY_DIR="$work/registry" E2E_CLUSTER_DIR="$work/cluster"
cleanup() {
  local rc=$?
  set +e
  # The suite runs in a session of its own (below): an interrupted run stops it too.
  [[ -n ${suite_pid:-} ]] && kill -TERM -- "-$suite_pid" 2>/dev/null
  [[ -n ${watchdog_pid:-} ]] && kill "$watchdog_pid" 2>/dev/null
  if [[ -f "$work/cluster/env" ]] || [[ -d "$work/cluster/run" ]]; then
    E2E_BIN_DIR="$bin" e2e/cluster/cluster.sh stop || rc=1
  fi
  e2e/registry/registry.sh stop
  if [[ $rc -ne 0 ]]; then
    for f in "$work"/cluster/logs/*.log "$work/registry/registry.log"; do
      [[ -f $f ]] && { echo "----- tail of $f" >&2; tail -n 15 "$f" >&2; }
    done
  fi
  if [[ "${E2E_KEEP_WORKDIR:-0}" == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------- a registry with htpasswd auth on loopback (the node pulls from it with credentials)
export E2E_REGISTRY_PORT=${E2E_REGISTRY_PORT:-25000}
start_registry() { eval "$(e2e/registry/registry.sh start | sed 's/^/export /')"; }
timed "registry start" start_registry

# ---------- the embedded cluster: control plane, a real node, the ACS-like virtual node (kwok)
export E2E_APISERVER_PORT=${E2E_APISERVER_PORT:-26443} E2E_ETCD_PORT=${E2E_ETCD_PORT:-22379}
start_cluster() {
  eval "$(E2E_BIN_DIR="$bin" E2E_REAL_NODE=1 e2e/cluster/cluster.sh start | sed 's/^/export /')"
  # The API server's address as the default/kubernetes EndpointSlice publishes it: the stack
  # reads it for the sandbox manager's egress policy.
  E2E_APISERVER_ENDPOINT="$(kubectl get endpointslice -n default kubernetes -o jsonpath='{.endpoints[0].addresses[0]}')"
  export E2E_APISERVER_ENDPOINT
}
timed "cluster start" start_cluster

# ---------- every image, built with podman from the debootstrap base, pushed, consumed by digest
images() {
  # Users' own agents too (test/e2e/user-agents.test.ts), as `npm run local` builds them; the
  # sandboxes' egress proxy for test/e2e/sandbox-egress-packets.test.ts.
  BUILD_EGRESS_PROXY_IMAGE=1 scripts/push-images.sh "$work/images.env" \
    "$(printf 'seed\t%s\t%s\t%s' examples/seed-agent app:agent_app agentscope-runtime)" \
    "$(printf 'helper\t%s\t%s\t%s' examples/agentscope2-agent agent_hooks agentscope2)"
  # Without credentials the registry refuses the pull.
  if skopeo inspect --tls-verify=false --no-creds "docker://$(sed -n 's/^agent=//p' "$work/images.env")" >/dev/null 2>&1; then
    log "the registry served an image without credentials"; return 1
  fi
}
timed "image build + push" images
image_ref() { sed -n "s/^$1=//p" "$work/images.env"; }
E2E_AGENT_IMAGE="$(image_ref agent)" E2E_MANAGER_IMAGE="$(image_ref sandbox-manager)"
E2E_SANDBOX_IMAGE="$(image_ref sandbox)" E2E_STAND_IN_MODEL_IMAGE="$(image_ref stand-in-model)" E2E_REDIS_IMAGE="$(image_ref redis)"
E2E_TRACE_VIEWER_IMAGE="$(image_ref jaeger)"
E2E_SEED_AGENT_IMAGE="$(image_ref agent-seed)" E2E_AGENTSCOPE2_AGENT_IMAGE="$(image_ref agent-helper)"
E2E_WORKSPACE_IMAGE="$(image_ref agentscope2-workspace)" E2E_EGRESS_PROXY_IMAGE="$(image_ref egress-proxy)"
export E2E_AGENT_IMAGE E2E_MANAGER_IMAGE E2E_SANDBOX_IMAGE E2E_STAND_IN_MODEL_IMAGE E2E_REDIS_IMAGE E2E_TRACE_VIEWER_IMAGE
export E2E_SEED_AGENT_IMAGE E2E_AGENTSCOPE2_AGENT_IMAGE E2E_WORKSPACE_IMAGE E2E_EGRESS_PROXY_IMAGE
for name in agent sandbox-manager sandbox stand-in-model redis jaeger agent-seed agent-helper agentscope2-workspace egress-proxy; do log "$name image $(image_ref "$name")"; done

# ---------- the suite
export E2E_WORK="$work" E2E_TIMINGS="$work/timings.tsv"
export PULUMI_HOME="$work/pulumi-home" PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE="$(openssl rand -hex 16)" PULUMI_SKIP_UPDATE_CHECK=true
# Nothing can be downloaded here: fail fast instead of trying to fetch plugins.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$work/state" && : >"$E2E_TIMINGS"
# The watchdog: `cluster.sh check` every 10 s while the suite runs. A pod whose sandbox cannot be
# torn down, or a cluster component that exited, stops the suite within a minute with the
# kubelet's error, instead of the test that needed that pod's resources timing out much later.
watch_node() { # pid of the suite's session
  local problem pause
  trap 'kill "$pause" 2>/dev/null; exit 0' TERM
  while :; do
    sleep 10 &
    pause=$!
    wait "$pause"
    kill -0 "$1" 2>/dev/null || return 0
    if ! problem="$(E2E_BIN_DIR="$bin" e2e/cluster/cluster.sh check 2>&1)"; then
      printf '%s\n' "$problem" >"$work/node-problem"
      log "stopping the suite: the embedded cluster cannot go on:"
      printf '  %s\n' "$problem" >&2
      kill -TERM -- "-$1" 2>/dev/null
      return 0
    fi
  done
}
suite_rc=0
t=$SECONDS
setsid npx vitest run --config test/e2e/vitest.config.ts "$@" &
suite_pid=$!
watch_node "$suite_pid" &
watchdog_pid=$!
wait "$suite_pid" || suite_rc=$?
suite_pid=""
kill "$watchdog_pid" 2>/dev/null || true
wait "$watchdog_pid" 2>/dev/null || true
watchdog_pid=""
if [[ -s $work/node-problem ]]; then
  log "the suite was stopped by the node watchdog: $(head -n 1 "$work/node-problem")"
  suite_rc=1
fi
took["vitest suite"]=$((SECONDS - t))
order+=("vitest suite")

echo
echo "== end-to-end wall times (s)"
for name in "${order[@]}"; do printf '  %-34s %6s\n' "$name" "${took[$name]}"; done
while IFS=$'\t' read -r name secs; do printf '  %-34s %6s\n' "$name" "$secs"; done <"$E2E_TIMINGS"
printf '  %-34s %6s\n' "total (this script)" "$((SECONDS - suite_start))"
exit "$suite_rc"
