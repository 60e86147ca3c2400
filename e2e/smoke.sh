#!/usr/bin/env bash
# Proves the e2e toolchain end to end, and times it: builds (or finds cached) the binaries,
# starts the fake cluster, checks that a Deployment becomes Available on the ordinary fake
# node and that an ACS-labelled pod lands on the virtual node with a bound PVC, then runs
# the real Pulumi CLI on fixtures/configmap (`up`, `preview --expect-no-changes`, `destroy`),
# and stops the cluster, also on failure.
#
# Needs: go, node and the repository's node_modules (npm ci), openssl, curl.
# Environment: as for toolchain/build.sh and cluster/cluster.sh; E2E_KEEP_WORKDIR=1 keeps the
# temporary directory (Pulumi state, cluster logs) for a look afterwards.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
log() { echo "[e2e-smoke] $*" >&2; }
declare -A took

[[ -z "${PULUMI_IGNORE_AMBIENT_PLUGINS:-}" ]] || {
  log "PULUMI_IGNORE_AMBIENT_PLUGINS is set: the CLI would not find our pulumi-resource-kubernetes on PATH"
  exit 1
}
[[ -d "$repo/node_modules/@pulumi/pulumi" && -d "$repo/node_modules/@pulumi/kubernetes" ]] || {
  log "run npm ci at the repository root first"
  exit 1
}

t=$SECONDS
bin="$("$here/toolchain/build.sh" | sed -n 's/^E2E_BIN_DIR=//p')"
took[toolchain]=$((SECONDS - t))
export PATH="$bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/agentscope-e2e-smoke.XXXXXX")"
export E2E_BIN_DIR="$bin" E2E_CLUSTER_DIR="$work/cluster"
export PULUMI_HOME="$work/pulumi-home" PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE=e2e-smoke PULUMI_SKIP_UPDATE_CHECK=true
# Nothing can be downloaded here: fail fast instead of trying to fetch plugins.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$work/state"

cleanup() {
  local rc=$?
  "$here/cluster/cluster.sh" stop || rc=1
  if [[ "${E2E_KEEP_WORKDIR:-0}" == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t=$SECONDS
eval "$("$here/cluster/cluster.sh" start | sed 's/^/export /')"
took[cluster_start]=$((SECONDS - t))
k() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }

# --- the cluster: a Deployment on the ordinary node, an ACS pod with a PVC on the virtual node
t=$SECONDS
k apply -f - >&2 <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: smoke-ordinary, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: smoke-ordinary}}
  template:
    metadata: {labels: {app: smoke-ordinary}}
    spec:
      containers: [{name: app, image: registry.invalid/smoke:1}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: smoke-data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: smoke-acs
  namespace: default
  labels: {alibabacloud.com/acs: "true", alibabacloud.com/compute-class: general-purpose}
spec:
  tolerations:
  - {key: virtual-kubelet.io/provider, operator: Equal, value: alibabacloud, effect: NoSchedule}
  containers: [{name: app, image: registry.invalid/smoke:1, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: smoke-data}}]
EOF
k wait --for=condition=Available deployment/smoke-ordinary --timeout=120s >&2
k wait --for=jsonpath='{.status.phase}'=Bound pvc/smoke-data --timeout=120s >&2
k wait --for=condition=Ready pod/smoke-acs --timeout=120s >&2
nodes="$(k get pods -l app=smoke-ordinary -o jsonpath='{.items[*].spec.nodeName}')"
acs_node="$(k get pod smoke-acs -o jsonpath='{.spec.nodeName}')"
[[ "$nodes" == "kwok-ordinary kwok-ordinary" ]] || { log "deployment pods on '$nodes', expected kwok-ordinary"; exit 1; }
[[ "$acs_node" == virtual-kubelet-cn-hangzhou-i ]] || { log "ACS pod on '$acs_node', expected the virtual node"; exit 1; }
k get nodes,pods,pvc,pv -o wide >&2
k delete deployment/smoke-ordinary pod/smoke-acs pvc/smoke-data --wait=true --timeout=60s >&2
took[cluster_checks]=$((SECONDS - t))

# --- the real Pulumi engine on a TypeScript program
prog="$work/program"
cp -r "$repo/e2e/fixtures/configmap" "$prog"
ln -s "$repo/node_modules" "$prog/node_modules"
cd "$prog"
pulumi version >&2
pulumi stack init e2e --non-interactive >&2
pulumi config set --secret kubeconfig "$(cat "$KUBECONFIG")" >&2
t=$SECONDS
pulumi up --yes --non-interactive --skip-preview >&2
took[pulumi_up]=$((SECONDS - t))
pulumi plugin ls >&2
[[ "$(k get configmap e2e-smoke -o jsonpath='{.data.value}')" == hello ]] || { log "ConfigMap not created"; exit 1; }
t=$SECONDS
pulumi preview --expect-no-changes --non-interactive >&2
took[pulumi_preview_no_change]=$((SECONDS - t))
pulumi config set value changed >&2
pulumi preview --diff --non-interactive >&2
t=$SECONDS
pulumi destroy --yes --non-interactive --skip-preview >&2
took[pulumi_destroy]=$((SECONDS - t))
if k get configmap e2e-smoke >/dev/null 2>&1; then log "ConfigMap still there after destroy"; exit 1; fi
pulumi stack rm --yes --non-interactive >&2
cd "$repo"

for key in toolchain cluster_start cluster_checks pulumi_up pulumi_preview_no_change pulumi_destroy; do
  echo "e2e-smoke time ${key}: ${took[$key]}s"
done
echo "e2e-smoke: OK"
