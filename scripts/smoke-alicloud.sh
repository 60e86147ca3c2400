#!/usr/bin/env bash
# Smoke test on a real Alibaba Cloud account: a throwaway `dev` stack, up -> request -> sandbox on
# ACS -> NetworkPolicy probe -> destroy -> nothing billable left. It cannot run in CI here; read it
# before running it.
#
# Run from a machine inside the region that can reach the new VPC's API server (see README
# "Prerequisites": the API server is private), with `pulumi`, `kubectl`, `jq`, `curl` and the
# `aliyun` CLI logged in to the same account as the alicloud provider.
#
# Cost (estimate, pay-as-you-go, cn-hangzhou, 2026 list prices not verified here): ACK Pro cluster
# fee, 2 x ecs.g7.xlarge system nodes, a NAT gateway + EIP, SLS logs, ACS pods (agent, manager,
# 2 pooled sandboxes, Redis) for the ~30-40 minutes the script runs: in the order of a few US dollars.
# The ACR EE instance is the team's shared one (dev adopts `registry.existingInstanceId`); it is not
# bought here. Set SMOKE_REGISTRY_ID to it.
#
# Permissions (RAM): create/delete VPC, vSwitch, NAT gateway, EIP, SNAT; ACK (cs:*) on the new
# cluster incl. add-ons; ACS pods; SLS projects created by ACK; SLB (the ACL is only created for a
# load-balancer exposure, which this script does not use); cr:GetAuthorizationToken,
# cr:ListInstanceEndpoint, cr:CreateRepository on the shared instance; read-only list calls for the
# leftover check (vpc:DescribeVpcs, cs:DescribeClustersV1, vpc:DescribeNatGateways, vpc:DescribeEipAddresses).
set -euo pipefail

: "${SMOKE_REGISTRY_ID:?set SMOKE_REGISTRY_ID to the shared ACR EE instance id, cri-...}"
: "${DASHSCOPE_API_KEY:?set DASHSCOPE_API_KEY (the model key for the seed request)}"
REGION="${SMOKE_REGION:-cn-hangzhou}"
ZONE="${SMOKE_ZONE:-${REGION}-i}"
STACK="smoke-$(date +%Y%m%d%H%M%S)"
PREFIX="smoke"

cleanup() {
  echo "== destroy (always, with a fresh credential)"
  pulumi destroy --stack "$STACK" --yes --run-program || echo "DESTROY FAILED: clean up stack $STACK by hand" >&2
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

echo "== up"
pulumi up --stack "$STACK" --yes

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

trap - EXIT
cleanup
rm -f "$KUBECONFIG_FILE"

# CLI query syntax of the ROA call (cs GET ... --name) and DescribeEipAddresses --EipName are unverified:
# if a line errors, list the resources in the console instead.
echo "== nothing billable left: cluster ${PREFIX}-dev, VPC and NAT ${PREFIX}, EIP ${PREFIX}-nat"
LEFT="$(
  aliyun cs GET /api/v1/clusters --name "${PREFIX}-dev" 2>/dev/null | jq -r '.clusters[]?.cluster_id'
  aliyun vpc DescribeVpcs --RegionId "$REGION" --VpcName "$PREFIX" | jq -r '.Vpcs.Vpc[]?.VpcId'
  aliyun vpc DescribeNatGateways --RegionId "$REGION" --Name "$PREFIX" | jq -r '.NatGateways.NatGateway[]?.NatGatewayId'
  aliyun vpc DescribeEipAddresses --RegionId "$REGION" --EipName "${PREFIX}-nat" | jq -r '.EipAddresses.EipAddress[]?.AllocationId'
)"
if [ -n "$LEFT" ]; then echo "LEFT BEHIND (billable): $LEFT"; exit 1; fi
echo "smoke test passed"
