#!/usr/bin/env bash
# The first real `pulumi up` of an Alibaba Cloud stack (dev or prod) from a runner OUTSIDE the VPC the
# stack creates, in two phases, and its teardown. docs/alicloud-bootstrap.md explains every step.
#
#   scripts/alicloud-bootstrap.sh [--dry-run] up   STACK RUNNER_IP
#   scripts/alicloud-bootstrap.sh [--dry-run] down STACK RUNNER_IP
#
# Why two phases: the API server is private (slbInternetEnabled false) and images go to ACR over its
# VPC endpoint, so a runner outside the VPC reaches neither. Phase 1 creates only the cloud layer
# (Alibaba's OpenAPI is public) with ACR's internet endpoint open to RUNNER_IP/32 alone
# (registry.pushFromCidrs); the sandbox image is pushed and pinned. Phase 2 opens the API server to
# the VPC and RUNNER_IP/32 alone (a white-list on its CLB listener, and an EIP), deploys the rest,
# and closes the API server again. `down` opens the same way, destroys, closes, and lists what is left.
#
# --dry-run prints every step, what each phase creates and an estimated cost, and changes nothing
# (it only reads the stack's config). Needs: pulumi, jq; for a real run also aliyun (logged in to
# the account of the alicloud provider), podman and skopeo. The stack and its config must exist.
set -euo pipefail
cd "$(dirname "$0")/.."

dry=0
if [[ ${1:-} == --dry-run ]]; then dry=1; shift; fi
[[ $# -eq 3 && ($1 == up || $1 == down) ]] || { echo "usage: $0 [--dry-run] up|down STACK RUNNER_IP" >&2; exit 2; }
action=$1 stack=$2 runner=$3
[[ $runner =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || { echo "RUNNER_IP must be the runner's public IPv4 address, got $runner" >&2; exit 2; }

step=0
say() { step=$((step + 1)); echo "[$step] $*"; }
# Mutating commands go through run: printed, and executed unless --dry-run.
run() { echo "    \$ $*"; if [[ $dry == 0 ]]; then "$@"; fi; }
cfg() { pulumi config get --stack "$stack" "$@" 2>/dev/null || true; }
out() { pulumi stack output --stack "$stack" "$@"; }

project=$(sed -n 's/^name: *//p' Pulumi.yaml)
region=$(cfg alicloud:region)
[[ -n $region ]] || { echo "stack $stack has no alicloud:region" >&2; exit 1; }
env=$(cfg environment); env=${env:-$stack}
prefix=$(cfg namePrefix); prefix=${prefix:-agentscope}
vpc_cidr=$(cfg --path network.vpcCidr); vpc_cidr=${vpc_cidr:-10.0.0.0/16}
zones=$(cfg --path network.zones | jq 'length' 2>/dev/null || echo 1)
nodes=$(cfg --path cluster.systemNodePool.minSize); nodes=${nodes:-2}
redis_mode=$(cfg --path redis.mode); [[ -n $redis_mode ]] || { [[ $env == prod ]] && redis_mode=managed || redis_mode=in-cluster; }
new_registry=$([[ -n $(cfg --path registry.existingInstanceId) ]] && echo no || echo yes)
# Everything but the cloud layer: the workloads component and what depends on it (logs, trace viewer).
workloads_urn="urn:pulumi:$stack::$project::agentscope:k8s:AgentScopeWorkloads::$prefix"
cloud_only=(--exclude "$workloads_urn" --exclude-dependents)
acl_name="$prefix-$env-apiserver-bootstrap"
eip_name="$prefix-$env-apiserver-bootstrap"

plan() {
  echo "== plan: $action $stack ($env, $region), runner $runner/32"
  echo "phase 1 creates (cloud layer only): VPC $vpc_cidr, $((zones * 2)) vSwitches, NAT gateway + EIP + $((zones * 2)) SNAT entries,"
  echo "  ACK Pro cluster ($nodes x system ECS node), add-ons, ACR $([[ $new_registry == yes ]] && echo "EE instance + ")namespace, repositories, VPC link,"
  echo "  ACR internet endpoint ACL entry $runner/32$([[ $redis_mode == managed ]] && echo ", Tair instance")"
  echo "between: the sandbox image (and $([[ $redis_mode == in-cluster ]] && echo "Redis, mirrored" || echo "no Redis")) pushed to ACR from the runner, sandbox.imageDigests.base pinned"
  echo "phase 2 creates: a white-list ACL ($vpc_cidr, 100.104.0.0/16, $runner/32) on the API server's CLB listener 6443, an EIP on the API"
  echo "  server; then the workloads (namespaces, agents, sandbox manager and pool, Redis, policies, images built by the stack);"
  echo "  then the EIP is released and the ACL removed: the API server is private again"
  # Estimate: (hours) x (unit prices per hour, USD). Defaults are placeholders, not verified list
  # prices: set PRICE_* from the Alibaba Cloud pricing calculator for your region before relying on it.
  local hours=${BOOTSTRAP_HOURS:-1}
  local ack=${PRICE_ACK_PRO_HOUR:-0.09} ecs=${PRICE_ECS_NODE_HOUR:-0.25} nat=${PRICE_NAT_HOUR:-0.05} eip=${PRICE_EIP_HOUR:-0.02}
  local acs=${PRICE_ACS_VCPU_HOUR:-0.05} tair=${PRICE_TAIR_HOUR:-0.05}
  local vcpu=${BOOTSTRAP_ACS_VCPU:-6}
  jq -rn --argjson h "$hours" --argjson ack "$ack" --argjson ecs "$ecs" --argjson n "$nodes" --argjson nat "$nat" --argjson eip "$eip" \
    --argjson acs "$acs" --argjson v "$vcpu" --argjson tair "$tair" --argjson managed "$([[ $redis_mode == managed ]] && echo 1 || echo 0)" \
    '(($ack + $ecs * $n + $nat + $eip * 2 + $acs * $v + $tair * $managed) * $h) as $t
     | "estimated cost: \((($t * 100) | round) / 100) USD for \($h) h (ACK Pro + \($n) ECS + NAT + 2 EIP + \($v) ACS vCPU\(if $managed == 1 then " + Tair" else "" end); PRICE_* to override)"'
  [[ $new_registry == yes ]] && echo "  plus the ACR EE subscription (registry.periodMonths), billed up front and not refunded by teardown"
  return 0
}

# The API server's CLB: ACK "Configure access control policies for the API server"
# (help.aliyun.com/en/ack/ack-managed-and-ack-dedicated/user-guide/configure-network-acls-for-the-api-server-of-an-ack-cluster:
# a white-list on the private CLB's 6443 listener, which also binds the internal endpoint, hence the
# VPC and 100.104.0.0/16, ACK's control-plane range: unverified) and "Expose the API server to the
# Internet with an EIP" (ModifyCluster api_server_eip / api_server_eip_id). The CLB id is the cluster
# detail's external_loadbalancer_id (terraform-provider-alicloud sets slb_id from it).
# What open_api_server made, for close_api_server (placeholders in a dry run).
api_slb='<api-server-clb>' api_acl='<acl-id>' api_eip='<eip-id>'

open_api_server() {
  say "open the API server to the VPC and $runner/32 only"
  local cluster
  cluster=$(out clusterId 2>/dev/null || echo '<clusterId>')
  [[ $dry == 1 ]] || api_slb=$(aliyun cs GET "/clusters/$cluster" | jq -r '.external_loadbalancer_id')
  [[ $dry == 1 ]] || api_acl=$(aliyun slb CreateAccessControlList --RegionId "$region" --AclName "$acl_name" | jq -r '.AclId')
  [[ $dry == 1 ]] && echo "    \$ aliyun slb CreateAccessControlList --RegionId $region --AclName $acl_name"
  run aliyun slb AddAccessControlListEntry --RegionId "$region" --AclId "$api_acl" \
    --AclEntrys "[{\"entry\":\"$vpc_cidr\",\"comment\":\"vpc\"},{\"entry\":\"100.104.0.0/16\",\"comment\":\"ack control plane\"},{\"entry\":\"$runner/32\",\"comment\":\"bootstrap runner\"}]"
  run aliyun slb SetLoadBalancerTCPListenerAttribute --RegionId "$region" --LoadBalancerId "$api_slb" --ListenerPort 6443 --AclStatus on --AclType white --AclId "$api_acl"
  [[ $dry == 1 ]] || api_eip=$(aliyun vpc AllocateEipAddress --RegionId "$region" --Name "$eip_name" --Bandwidth 5 --InternetChargeType PayByTraffic | jq -r '.AllocationId')
  [[ $dry == 1 ]] && echo "    \$ aliyun vpc AllocateEipAddress --RegionId $region --Name $eip_name --Bandwidth 5 --InternetChargeType PayByTraffic"
  run aliyun cs PUT "/api/v2/clusters/$cluster" --body "{\"api_server_eip\":true,\"api_server_eip_id\":\"$api_eip\"}"
}

close_api_server() {
  say "close the API server again: EIP unbound and released, white-list off and deleted"
  local cluster
  # After `down`'s destroy the cluster and its CLB are gone: only the EIP and the ACL are left to release.
  if cluster=$(out clusterId 2>/dev/null) || [[ $dry == 1 ]]; then
    run aliyun cs PUT "/api/v2/clusters/${cluster:-<clusterId>}" --body '{"api_server_eip":false}'
    run aliyun slb SetLoadBalancerTCPListenerAttribute --RegionId "$region" --LoadBalancerId "$api_slb" --ListenerPort 6443 --AclStatus off
  fi
  run aliyun vpc ReleaseEipAddress --RegionId "$region" --AllocationId "$api_eip"
  run aliyun slb DeleteAccessControlList --RegionId "$region" --AclId "$api_acl"
}

sandbox_oci=${TMPDIR:-/tmp}/alicloud-bootstrap-sandbox-$stack
sandbox_digest='sha256:<digest>'
ns=$(cfg --path registry.namespace); ns=${ns:-agentscope}

# Before phase 1: the stack refuses an Alibaba Cloud config without sandbox.imageDigests.base, so the
# digest is fixed first (an OCI layout copy; --preserve-digests keeps it on the push) and pinned under
# a provisional repository; phase 1 creates no pod, and the real repository replaces it before phase 2.
build_sandbox_image() {
  say "build the sandbox image and fix its digest; pin it provisionally (phase 1 runs no pod)"
  run podman build --target sandbox -t localhost/agentscope-bootstrap/sandbox agent-image
  run skopeo copy --digestfile "$sandbox_oci.digest" containers-storage:localhost/agentscope-bootstrap/sandbox "oci:$sandbox_oci"
  [[ $dry == 1 ]] || sandbox_digest=$(cat "$sandbox_oci.digest")
  run pulumi config set --stack "$stack" --path sandbox.imageDigests.base "bootstrap.invalid/$ns/runtime-sandbox-base@$sandbox_digest"
}

push_images() {
  say "push the sandbox image$([[ $redis_mode == in-cluster ]] && echo " and Redis") over ACR's internet endpoint, pin the pulled repository"
  local login vpc creds=(--dest-creds '$(pulumi stack output registryPushUsername --show-secrets):<password>')
  login=$([[ $dry == 1 ]] && echo '<registryLoginServer>' || out registryLoginServer)
  vpc=$([[ $dry == 1 ]] && echo '<registryVpcLoginServer>' || out registryVpcLoginServer)
  [[ $dry == 1 ]] || creds=(--dest-creds "$(out registryPushUsername --show-secrets):$(out registryPushPassword --show-secrets)")
  run skopeo copy --preserve-digests "${creds[@]}" "oci:$sandbox_oci" "docker://$login/$ns/runtime-sandbox-base:bootstrap-${sandbox_digest:7:12}"
  if [[ $redis_mode == in-cluster ]]; then
    local redis; redis=$(sed -n 's/^export const DEFAULT_REDIS_IMAGE = "\(.*\)";/\1/p' components/workload/redis.ts)
    run skopeo copy --all --preserve-digests "${creds[@]}" "docker://$redis" "docker://$login/$ns/redis:bootstrap-${redis##*:}"
  fi
  run pulumi config set --stack "$stack" --path sandbox.imageDigests.base "$vpc/$ns/runtime-sandbox-base@$sandbox_digest"
}

plan
if [[ $action == up ]]; then
  build_sandbox_image
  say "phase 1: open ACR's internet endpoint to $runner/32 only, create the cloud layer"
  run pulumi config set --stack "$stack" --path 'registry.pushFromCidrs[0]' "$runner/32"
  run pulumi up --stack "$stack" --yes "${cloud_only[@]}"
  push_images
  say "phase 2: deploy the workloads through the temporarily opened API server"
  open_api_server
  trap close_api_server EXIT
  run pulumi up --stack "$stack" --yes
  # e.g. the smoke test's checks, while the API server is still reachable from the runner.
  if [[ -n ${BOOTSTRAP_WHILE_OPEN:-} ]]; then run "$BOOTSTRAP_WHILE_OPEN" "$stack"; fi
  trap - EXIT
  close_api_server
  say "close ACR's internet endpoint to the runner (later ups push from inside the VPC, or keep registry.pushFromCidrs for your CI)"
  run pulumi config rm --stack "$stack" --path 'registry.pushFromCidrs'
  run pulumi up --stack "$stack" --yes "${cloud_only[@]}"
else
  say "teardown: reopen the API server, destroy with a fresh credential, close, check leftovers"
  open_api_server
  trap close_api_server EXIT
  run pulumi destroy --stack "$stack" --yes --run-program
  trap - EXIT
  close_api_server
  say "nothing billable left (VPC, NAT gateway, EIPs, cluster named after $prefix)"
  run scripts/alicloud-leftovers.sh "$region" "$prefix" "$env"
fi
echo "done ($action $stack$([[ $dry == 1 ]] && echo ", dry run: nothing changed"))"
