#!/usr/bin/env bash
# Smoke test on a real Alibaba Cloud account: a throwaway `dev` stack, brought up from this runner
# (outside the VPC) by the two-phase bootstrap (scripts/alicloud-bootstrap.sh, docs/alicloud-bootstrap.md),
# checked while the bootstrap keeps the API server open to this runner, torn down, nothing billable left.
# It cannot run in CI here; read it, and run `scripts/alicloud-bootstrap.sh --dry-run up <stack> <ip>`, first.
#
#   SMOKE_RUNNER_IP=<this runner's public IPv4> SMOKE_REGISTRY_ID=cri-... DASHSCOPE_API_KEY=... scripts/smoke-alicloud.sh
#   scripts/smoke-alicloud.sh --checks STACK   (the checks alone; the bootstrap calls it)
#
# Needs `pulumi`, `kubectl`, `jq`, `curl`, `podman`, `skopeo` and the `aliyun` CLI logged in to the same
# account as the alicloud provider. Cost: the bootstrap's --dry-run prints its estimate and method.
# The ACR EE instance is the team's shared one (dev adopts registry.existingInstanceId); it is not bought here.
#
# Permissions (RAM): create/delete VPC, vSwitch, NAT gateway, EIP, SNAT; ACK (cs:*) on the new
# cluster incl. add-ons and ModifyCluster; ACS pods; SLS projects created by ACK; SLB access-control
# lists and the API server listener's ACL; cr:GetAuthorizationToken, cr:ListInstanceEndpoint,
# cr:CreateRepository and the endpoint ACL on the shared instance; read-only list calls for the
# leftover check (vpc:DescribeVpcs, cs:DescribeClustersV1, vpc:DescribeNatGateways, vpc:DescribeEipAddresses).
set -euo pipefail
cd "$(dirname "$0")/.."

checks() { # STACK: the request, ACS placement and the metadata probe, while the API server is open
  local STACK=$1
  KUBECONFIG_FILE="$(mktemp)"
  pulumi stack output --stack "$STACK" --show-secrets kubeconfig > "$KUBECONFIG_FILE"
  export KUBECONFIG="$KUBECONFIG_FILE"
  AGENTS_NS="$(pulumi stack output --stack "$STACK" agentsNamespace)"
  SANDBOX_NS="$(pulumi stack output --stack "$STACK" sandboxNamespace)"
  TOKEN="$(pulumi stack output --stack "$STACK" --show-secrets agentApiToken)"

  echo "== Poseidon and the virtual node are installed"
  # The virtual node carries the taint our ACS pods tolerate (components/workload/acs.ts).
  kubectl get nodes -o json | jq -e '[.items[].spec.taints[]? | select(.key == "virtual-kubelet.io/provider")] | length > 0' >/dev/null \
    || { echo "no virtual node (no node with the virtual-kubelet.io/provider taint)"; exit 1; }
  kubectl -n kube-system get pods -o name | grep -qi poseidon || { echo "no Poseidon pod in kube-system"; exit 1; }

  echo "== the seed request through the agent (exposure: cluster, so via port-forward)"
  kubectl -n "$AGENTS_NS" port-forward svc/agent-friday 18080:8080 >/dev/null 2>&1 &
  PF=$!
  sleep 5
  curl -fsS -N --max-time 120 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"input":[{"role":"user","content":[{"type":"text","text":"Say hello in one word."}]}],"stream":true}' \
    http://127.0.0.1:18080/process | head -c 2000
  kill "$PF"

  echo "== a pooled sandbox runs on ACS"
  kubectl -n "$SANDBOX_NS" wait --for=condition=Ready pod -l app.kubernetes.io/managed-by=runtime-sandbox-server --timeout=600s
  SANDBOX="$(kubectl -n "$SANDBOX_NS" get pod -l app.kubernetes.io/managed-by=runtime-sandbox-server -o jsonpath='{.items[0].metadata.name}')"
  kubectl -n "$SANDBOX_NS" get pod "$SANDBOX" -o jsonpath='{.metadata.labels.alibabacloud\.com/acs}' | grep -qx true

  echo "== NetworkPolicy probe: the sandbox must NOT reach the metadata service"
  if kubectl -n "$SANDBOX_NS" exec "$SANDBOX" -- python3 -c 'import urllib.request as u; u.urlopen("http://100.100.100.200/latest/meta-data/", timeout=5)'; then
    echo "FAIL: sandbox reached 100.100.100.200: NetworkPolicies are not enforced on ACS"; exit 1
  fi
  echo "ok: metadata service unreachable from the sandbox"
  rm -f "$KUBECONFIG_FILE"
}

if [[ ${1:-} == --checks ]]; then checks "$2"; exit 0; fi

: "${SMOKE_RUNNER_IP:?set SMOKE_RUNNER_IP to the public IPv4 address of this runner (the bootstrap opens ACR and the API server to it alone)}"
: "${SMOKE_REGISTRY_ID:?set SMOKE_REGISTRY_ID to the shared ACR EE instance id, cri-...}"
: "${DASHSCOPE_API_KEY:?set DASHSCOPE_API_KEY (the model key for the seed request)}"
REGION="${SMOKE_REGION:-cn-hangzhou}"
ZONE="${SMOKE_ZONE:-${REGION}-i}"
STACK="smoke-$(date +%Y%m%d%H%M%S)"
PREFIX="smoke"

cleanup() {
  echo "== teardown (always): reopen, destroy with a fresh credential, close, leftovers"
  scripts/alicloud-bootstrap.sh down "$STACK" "$SMOKE_RUNNER_IP" || echo "TEARDOWN FAILED: clean up stack $STACK by hand" >&2
  pulumi stack rm "$STACK" --yes || true
}

pulumi stack init "$STACK"
trap cleanup EXIT
pulumi config set --stack "$STACK" alicloud:region "$REGION"
pulumi config set --stack "$STACK" environment dev
pulumi config set --stack "$STACK" namePrefix "$PREFIX"
pulumi config set --stack "$STACK" --path 'network.zones[0]' "$ZONE"
pulumi config set --stack "$STACK" --path network.vpcCidr 10.88.0.0/16
pulumi config set --stack "$STACK" --path registry.existingInstanceId "$SMOKE_REGISTRY_ID"
pulumi config set --stack "$STACK" --path registry.namespace "$PREFIX"
pulumi config set --stack "$STACK" --secret modelApiKey "$DASHSCOPE_API_KEY"

echo "== two-phase up, the checks while the API server is open"
BOOTSTRAP_WHILE_OPEN="scripts/smoke-alicloud.sh --checks" scripts/alicloud-bootstrap.sh up "$STACK" "$SMOKE_RUNNER_IP"
echo "smoke test passed (teardown follows)"
