#!/usr/bin/env bash
# The end-to-end suite (issue 5): the stack under the real Pulumi engine against a real Kubernetes
# API server. Builds the toolchain (cached: e2e/toolchain/build.sh), starts the fake cluster
# (e2e/cluster/cluster.sh), a local registry with htpasswd auth, builds both images with podman and
# pushes them, then runs test/e2e with vitest: `pulumi up`, the objects read back through the API,
# `preview --expect-no-changes`, a one-field diff, a refused bad config, `destroy` and `stack rm`,
# on a local-like and an ACS-like stack, plus the policy pack under the engine. Stops the cluster
# and the registry on every exit, and prints the wall times.
#
# Works on a fresh Debian machine after scripts/setup.sh (npm ci at the root and in policy/):
# what else it needs comes from Debian's packages (podman & co. through setup-podman.sh,
# docker-registry, apache2-utils) and from the Go module proxy (the toolchain).
# Environment (all optional): E2E_APISERVER_PORT (26443), E2E_ETCD_PORT (22379),
# E2E_REGISTRY_PORT (25000), E2E_KEEP_WORKDIR=1 keeps the work directory (state, logs).
# Extra arguments go to vitest (e.g. a test file name).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
log() { echo "[test-e2e] $*" >&2; }
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
need=()
for p in docker-registry apache2-utils openssl curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/setup-podman.sh

# ---------- toolchain (built from the Go module proxy once, then cached)
build_toolchain() { bin="$(e2e/toolchain/build.sh | sed -n 's/^E2E_BIN_DIR=//p')"; [[ -n $bin ]]; }
timed "toolchain build" build_toolchain
export PATH="$bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/agentscope-e2e.XXXXXX")"
registry_pid=""
cleanup() {
  local rc=$?
  set +e
  if [[ -n $registry_pid ]]; then kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null; fi
  if [[ -f "$work/cluster/env" ]] || [[ -d "$work/cluster/run" ]]; then
    E2E_BIN_DIR="$bin" E2E_CLUSTER_DIR="$work/cluster" e2e/cluster/cluster.sh stop || rc=1
  fi
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

# ---------- the fake cluster
export E2E_APISERVER_PORT=${E2E_APISERVER_PORT:-26443} E2E_ETCD_PORT=${E2E_ETCD_PORT:-22379}
start_cluster() {
  eval "$(E2E_BIN_DIR="$bin" E2E_CLUSTER_DIR="$work/cluster" e2e/cluster/cluster.sh start | sed 's/^/export /')"
  # A real cluster's default/kubernetes EndpointSlice lists the API server's address; the stack reads
  # it for the sandbox manager's egress policy. The fake API server runs with
  # --endpoint-reconciler-type none (a loopback address may not be an endpoint), so the harness
  # supplies the slice, with a documentation address (TEST-NET-1) standing for the API server.
  export E2E_APISERVER_ENDPOINT=192.0.2.10
  kubectl --kubeconfig "$KUBECONFIG" apply -f - >&2 <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes
  namespace: default
  labels: {kubernetes.io/service-name: kubernetes, endpointslice.kubernetes.io/managed-by: agentscope-e2e}
addressType: IPv4
endpoints: [{addresses: ["$E2E_APISERVER_ENDPOINT"], conditions: {ready: true}}]
ports: [{name: https, port: $E2E_APISERVER_PORT, protocol: TCP}]
EOF
}
timed "cluster start" start_cluster

# ---------- a registry with htpasswd auth on loopback
export E2E_REGISTRY="127.0.0.1:${E2E_REGISTRY_PORT:-25000}" E2E_REGISTRY_USER=e2e-pusher
E2E_REGISTRY_PASSWORD="$(openssl rand -hex 16)"
export E2E_REGISTRY_PASSWORD
start_registry() {
  mkdir -p "$work/registry/data"
  htpasswd -Bbn "$E2E_REGISTRY_USER" "$E2E_REGISTRY_PASSWORD" >"$work/registry/htpasswd"
  cat >"$work/registry/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry/data}, delete: {enabled: true}}
http: {addr: "$E2E_REGISTRY", secret: "$(openssl rand -hex 16)"}
auth: {htpasswd: {realm: agentscope-e2e, path: $work/registry/htpasswd}}
EOF
  docker-registry serve "$work/registry/config.yml" >"$work/registry/registry.log" 2>&1 &
  registry_pid=$!
  local code="" i
  for i in $(seq 1 50); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://$E2E_REGISTRY/v2/" || true)"
    [[ $code == 401 ]] && break
    kill -0 "$registry_pid" 2>/dev/null || { log "the registry exited"; cat "$work/registry/registry.log" >&2; return 1; }
    sleep 0.2
  done
  [[ $code == 401 ]] || { log "the registry at $E2E_REGISTRY answered $code, not 401 (auth)"; return 1; }
  [[ "$(curl -s -o /dev/null -w '%{http_code}' -u "$E2E_REGISTRY_USER:$E2E_REGISTRY_PASSWORD" "http://$E2E_REGISTRY/v2/")" == 200 ]]
}
timed "registry start" start_registry

# ---------- both images: built with podman from the debootstrap base, pushed, consumed by digest
images() {
  scripts/make-base-image.sh >&2
  scripts/build-agent-images.sh localhost/agentscope-e2e/agent:latest localhost/agentscope-e2e/sandbox-manager:latest
  local name
  for name in agent sandbox-manager; do
    podman push --quiet --tls-verify=false --creds "$E2E_REGISTRY_USER:$E2E_REGISTRY_PASSWORD" \
      --digestfile "$work/$name.digest" "localhost/agentscope-e2e/$name:latest" "docker://$E2E_REGISTRY/agentscope/$name:e2e"
    # The registry's own word on the digest, asked with the credentials.
    local digest
    digest="$(skopeo inspect --tls-verify=false --creds "$E2E_REGISTRY_USER:$E2E_REGISTRY_PASSWORD" --format '{{.Digest}}' "docker://$E2E_REGISTRY/agentscope/$name:e2e")"
    [[ $digest == "$(cat "$work/$name.digest")" ]] || { log "$name: pushed $(cat "$work/$name.digest"), registry says $digest"; return 1; }
    printf '%s' "$E2E_REGISTRY/agentscope/$name@$digest" >"$work/$name.ref"
  done
  # Without credentials the registry refuses the pull.
  if skopeo inspect --tls-verify=false --no-creds "docker://$E2E_REGISTRY/agentscope/agent:e2e" >/dev/null 2>&1; then
    log "the registry served an image without credentials"; return 1
  fi
}
timed "image build + push" images
export E2E_AGENT_IMAGE="$(cat "$work/agent.ref")" E2E_MANAGER_IMAGE="$(cat "$work/sandbox-manager.ref")"
log "agent image $E2E_AGENT_IMAGE"
log "sandbox manager image $E2E_MANAGER_IMAGE"

# ---------- the suite
export E2E_WORK="$work" E2E_TIMINGS="$work/timings.tsv"
export PULUMI_HOME="$work/pulumi-home" PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE="$(openssl rand -hex 16)" PULUMI_SKIP_UPDATE_CHECK=true
# Nothing can be downloaded here: fail fast instead of trying to fetch plugins.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$work/state" && : >"$E2E_TIMINGS"
suite_rc=0
t=$SECONDS
npx vitest run --config test/e2e/vitest.config.ts "$@" || suite_rc=$?
took["vitest suite"]=$((SECONDS - t))
order+=("vitest suite")

echo
echo "== end-to-end wall times (s)"
for name in "${order[@]}"; do printf '  %-34s %6s\n' "$name" "${took[$name]}"; done
while IFS=$'\t' read -r name secs; do printf '  %-34s %6s\n' "$name" "$secs"; done <"$E2E_TIMINGS"
printf '  %-34s %6s\n' "total (this script)" "$((SECONDS - suite_start))"
exit "$suite_rc"
