#!/usr/bin/env bash
# Stand-in for pulumi, aliyun, podman and skopeo in test/bootstrap.test.ts (linked under each name on
# PATH): records every call as one line "<name> <args...>" in $STUB_LOG and answers the few reads
# scripts/alicloud-bootstrap.sh makes with the shapes those CLIs print (values from $STUB_* or fixed
# test ids). A call whose line matches $STUB_FAIL fails with status 1.
set -euo pipefail
name=$(basename "$0")
line="$name $*"
echo "$line" >>"$STUB_LOG"
if [[ -n ${STUB_FAIL:-} && $line =~ $STUB_FAIL ]]; then echo "stub: $line failed" >&2; exit 1; fi
case "$name" in
  pulumi)
    case "$*" in
      "config get --stack "*" alicloud:region") echo cn-hangzhou ;;
      "config get --stack "*" environment") echo dev ;;
      "config get --stack "*" namePrefix") echo smoke ;;
      "config get --stack "*" --path network.vpcCidr") echo 10.88.0.0/16 ;;
      "config get --stack "*" --path network.zones") echo '["cn-hangzhou-i"]' ;;
      "config get --stack "*" --path registry.namespace") echo smoke ;;
      "config get --stack "*" --path registry.existingInstanceId") echo cri-shared ;;
      "config get "*) exit 1 ;; # not set: pulumi exits non-zero
      "stack output --stack "*" clusterId") [[ -f $STUB_LOG.destroyed ]] && exit 1; echo c0123456789abcdef ;;
      "stack output --stack "*" registryLoginServer") echo cri-shared-registry.cn-hangzhou.cr.aliyuncs.com ;;
      "stack output --stack "*" registryVpcLoginServer") echo cri-shared-registry-vpc.cn-hangzhou.cr.aliyuncs.com ;;
      "stack output --stack "*" registryPush"*) echo secret ;;
      "destroy "*) touch "$STUB_LOG.destroyed" ;;
    esac ;;
  aliyun)
    case "$*" in
      "cs GET /clusters/"*) echo '{"external_loadbalancer_id":"lb-apiserver"}' ;;
      "slb CreateAccessControlList "*) echo '{"AclId":"acl-bootstrap"}' ;;
      "vpc AllocateEipAddress "*) echo '{"AllocationId":"eip-bootstrap"}' ;;
      "vpc DescribeVpcs "*) if [[ -n ${STUB_LEFTOVER:-} ]]; then echo '{"Vpcs":{"Vpc":[{"VpcId":"vpc-left"}]}}'; else echo '{}'; fi ;;
      *) echo '{}' ;;
    esac ;;
  skopeo)
    args=("$@")
    for i in "${!args[@]}"; do
      if [[ ${args[$i]} == --digestfile ]]; then echo "sha256:$(printf 'ab%.0s' {1..32})" >"${args[$((i + 1))]}"; fi
    done ;;
esac
