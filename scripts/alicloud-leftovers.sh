#!/usr/bin/env bash
# Lists what a destroyed stack could have left billable: its cluster, VPC, NAT gateway and EIPs, found
# by the names the stack gives them (components/alicloud: cluster <prefix>-<env>, VPC and NAT <prefix>,
# EIP <prefix>-nat, the bootstrap's <prefix>-<env>-apiserver-bootstrap). Exits 1 when anything is left.
# The CLI query syntax of the ROA call (cs GET ... --name) and DescribeEipAddresses --EipName are
# unverified: if a line errors, list the resources in the console instead.
#   scripts/alicloud-leftovers.sh REGION PREFIX ENVIRONMENT
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: $0 REGION PREFIX ENVIRONMENT" >&2; exit 2; }
region=$1 prefix=$2 env=$3
left="$(
  aliyun cs GET /api/v1/clusters --name "$prefix-$env" | jq -r '.clusters[]?.cluster_id'
  aliyun vpc DescribeVpcs --RegionId "$region" --VpcName "$prefix" | jq -r '.Vpcs.Vpc[]?.VpcId'
  aliyun vpc DescribeNatGateways --RegionId "$region" --Name "$prefix" | jq -r '.NatGateways.NatGateway[]?.NatGatewayId'
  for eip in "$prefix-nat" "$prefix-$env-apiserver-bootstrap"; do
    aliyun vpc DescribeEipAddresses --RegionId "$region" --EipName "$eip" | jq -r '.EipAddresses.EipAddress[]?.AllocationId'
  done
)"
if [[ -n $left ]]; then echo "LEFT BEHIND (billable): $left"; exit 1; fi
echo "nothing billable left"
