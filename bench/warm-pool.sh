#!/usr/bin/env bash
# The warm pool's benchmark (bench/warm_pool.py) against the stack `npm run local` brought up on
# the embedded cluster, whose Service IPs this machine routes. Usage:
#   bench/warm-pool.sh [--rounds N] [--requests N] [--agent NAME] [--gap S] [--burst N]
#                      [--reap-agent-pod] [--count-api]   (bench/warm_pool.py says what each measures)
# Other clusters: KUBECONFIG=<file> with Service IPs routable from here.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KUBECONFIG="${KUBECONFIG:-$repo/.agentscope-local/cluster/admin.kubeconfig}"
[[ -f $KUBECONFIG ]] || { echo "no cluster at $KUBECONFIG: run 'npm run local' first" >&2; exit 1; }
python="$repo/.venv/agent-tests/bin/python"
[[ -x $python ]] || { echo "no $python: run scripts/setup.sh first" >&2; exit 1; }
if ! command -v kubectl >/dev/null; then
  PATH="$("$repo/e2e/toolchain/build.sh" 2>/dev/null | sed -n 's/^E2E_BIN_DIR=//p'):$PATH"
fi

agent=friday rest=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --agent) agent=$2; shift 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done

svc() { # label selector -> "namespace name clusterIP port" of the one Service it selects
  kubectl get svc -A -l "$1" -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name} {.spec.clusterIP} {.spec.ports[0].port}{"\n"}{end}'
}
read -r ns _ _ manager_port < <(svc app.kubernetes.io/component=sandbox-manager)
read -r agent_ns agent_svc agent_ip agent_port < <(svc app.kubernetes.io/component=agent-runtime | grep " agent-$agent " || true)
[[ -n ${manager_port:-} && -n ${agent_ip:-} ]] || { echo "no sandbox manager or no agent '$agent' Service in the cluster" >&2; exit 1; }
secret() { kubectl -n "$agent_ns" get secret "$agent_svc" -o jsonpath="{.data.$1}" | base64 -d; }
manager_env() { kubectl -n "$ns" get secret sandbox-manager-config -o jsonpath='{.data.sandbox-manager\.env}' | base64 -d | sed -n "s/^$1=//p" | tr -d "'\""; }

tokens="$(mktemp -d)" forward=
trap '[[ -n $forward ]] && kill "$forward" 2>/dev/null; rm -rf "$tokens"' EXIT
# The manager admits only agent pods (its NetworkPolicy): reach it through a port-forward on
# loopback, which adds a hop the agent does not have (so the figures are, if anything, high).
# Its metrics port too (the claim counters by source), when metrics are on.
metrics_port="$(kubectl -n "$ns" get deploy sandbox-manager -o jsonpath='{.spec.template.spec.containers[0].ports[?(@.name=="metrics")].containerPort}')"
kubectl -n "$ns" port-forward "deploy/sandbox-manager" "0:$manager_port" ${metrics_port:+"0:$metrics_port"} >"$tokens/forward.log" 2>&1 &
forward=$!
for _ in $(seq 50); do
  local_port="$(sed -n "s/^Forwarding from 127.0.0.1:\([0-9]*\) -> $manager_port\$/\1/p" "$tokens/forward.log")"
  local_metrics="$(sed -n "s/^Forwarding from 127.0.0.1:\([0-9]*\) -> ${metrics_port:-none}\$/\1/p" "$tokens/forward.log")"
  [[ -n $local_port && ( -z $metrics_port || -n $local_metrics ) ]] && break
  sleep 0.2
done
[[ -n ${local_port:-} ]] || { cat "$tokens/forward.log" >&2; echo "the port-forward to the sandbox manager did not start" >&2; exit 1; }
(umask 077; secret SANDBOX_MANAGER_TOKEN >"$tokens/manager"; secret AGENT_API_TOKEN >"$tokens/agent")
sandbox_ns="$(manager_env K8S_NAMESPACE)"
pool_size="$(manager_env POOL_SIZE)"
sandbox_type="$(manager_env DEFAULT_SANDBOX_TYPE | cut -d, -f1)"

"$python" "$repo/bench/warm_pool.py" \
  --manager-url "http://127.0.0.1:$local_port" --manager-token-file "$tokens/manager" \
  --agent-url "http://$agent_ip:$agent_port" --agent-token-file "$tokens/agent" \
  --sandbox-namespace "$sandbox_ns" --sandbox-type "$sandbox_type" --pool-size "$pool_size" \
  --agent-namespace "$agent_ns" --agent-service "$agent_svc" --manager-namespace "$ns" \
  ${local_metrics:+--metrics-url "http://127.0.0.1:$local_metrics/metrics"} "${rest[@]}"
