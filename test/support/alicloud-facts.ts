// Facts the Alibaba Cloud double (alicloud-double.ts) encodes, each with its source. "TFP" is
// github.com/aliyun/terraform-provider-alicloud at 81c43b6 (read with the fetch tool); "typings" is
// node_modules/@pulumi/alicloud 3.108.0. docs/cloud-contract.md lists every behaviour and its test.
// No test framework here, so the benchmark can use it too.

export const REGION = "cn-hangzhou";

/** Enums and ranges the provider's schema validates before any API call (TFP resource files, ValidateFunc). */
export const ENUMS: Record<string, Record<string, readonly (string | number | boolean)[]>> = {
  // resource_alicloud_cs_managed_kubernetes.go "cluster_spec"
  "alicloud:cs/managedKubernetes:ManagedKubernetes": { clusterSpec: ["ack.standard", "ack.pro.small", "ack.pro.xlarge", "ack.pro.2xlarge", "ack.pro.4xlarge"] },
  // resource_alicloud_cs_kubernetes_node_pool.go "system_disk_category"
  "alicloud:cs/nodePool:NodePool": { systemDiskCategory: ["cloud_efficiency", "cloud_ssd", "cloud_essd", "cloud_auto", "cloud_essd_entry", "cloud"] },
  // resource_alicloud_cr_ee_instance.go "instance_type", "payment_type", "renewal_status", "image_scanner"
  "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance": {
    instanceType: ["Basic", "Standard", "Advanced", "Economy"], paymentType: ["Subscription", "PayAsYouGo"],
    renewalStatus: ["AutoRenewal", "ManualRenewal"], imageScanner: ["ACR", "SAS", "DISABLE"],
  },
  // resource_alicloud_cr_ee_namespace.go "default_visibility"; resource_alicloud_cr_ee_repo.go "repo_type"
  "alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace": { defaultVisibility: ["PUBLIC", "PRIVATE"] },
  "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo": { repoType: ["PUBLIC", "PRIVATE"] },
  // resource_alicloud_cr_vpc_endpoint_linked_vpc.go "module_name"
  "alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc": { moduleName: ["Registry", "Chart"] },
  // resource_alicloud_kvstore_instance.go "instance_type", "engine_version", "payment_type", "vpc_auth_mode"
  "alicloud:kvstore/instance:Instance": {
    instanceType: ["Memcache", "Redis"], engineVersion: ["2.8", "4.0", "5.0", "6.0", "7.0"],
    paymentType: ["PostPaid", "PrePaid"], vpcAuthMode: ["Close", "Open"],
  },
  // resource_alicloud_nat_gateway.go "nat_type", "network_type", "payment_type"
  "alicloud:vpc/natGateway:NatGateway": { natType: ["Enhanced", "Normal"], networkType: ["internet", "intranet"], paymentType: ["PayAsYouGo", "Subscription"] },
  // resource_alicloud_eip_address.go "internet_charge_type", "payment_type"
  "alicloud:ecs/eipAddress:EipAddress": { internetChargeType: ["PayByBandwidth", "PayByTraffic"], paymentType: ["Subscription", "PayAsYouGo", "PrePaid", "PostPaid"] },
  // resource_alicloud_slb_acl.go "ip_version"
  "alicloud:slb/acl:Acl": { ipVersion: ["ipv4", "ipv6"] },
  // typings cs/autoscalingConfig.d.ts `expander`, `scalerType`
  "alicloud:cs/autoscalingConfig:AutoscalingConfig": { expander: ["least-waste", "random", "priority"], scalerType: ["cluster-autoscaler", "goatscaler"] },
};

/**
 * Arguments whose change replaces the resource (TFP resource schemas, `ForceNew: true`), for the
 * arguments this program sets. cs.ManagedKubernetes: resource_alicloud_cs_managed_kubernetes.go.
 */
export const FORCE_NEW: Record<string, readonly string[]> = {
  "alicloud:cs/managedKubernetes:ManagedKubernetes": ["proxyMode", "serviceCidr"],
  "alicloud:cs/nodePool:NodePool": ["clusterId", "instanceMetadataOptions"],
  "alicloud:cs/kubernetesAddon:KubernetesAddon": ["clusterId", "name"],
  "alicloud:cs/autoscalingConfig:AutoscalingConfig": ["clusterId"],
  "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance": ["instanceName", "paymentType", "renewPeriod", "renewalStatus"],
  "alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace": ["instanceId", "name"],
  "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo": ["instanceId", "namespace", "name"],
  "alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc": ["instanceId", "moduleName", "vpcId", "vswitchId"],
  "alicloud:cr/endpointAclPolicy:EndpointAclPolicy": ["description", "endpointType", "entry", "instanceId", "moduleName"],
  "alicloud:cr/internetEndpoint:InternetEndpoint": ["instanceId"],
  "alicloud:vpc/network:Network": [],
  "alicloud:vpc/switch:Switch": ["cidrBlock", "vpcId", "zoneId"],
  "alicloud:vpc/natGateway:NatGateway": ["paymentType", "vpcId"],
  "alicloud:vpc/snatEntry:SnatEntry": ["snatTableId", "sourceVswitchId"],
  "alicloud:ecs/eipAddress:EipAddress": ["internetChargeType", "paymentType"],
  "alicloud:ecs/eipAssociation:EipAssociation": ["allocationId", "instanceId"],
  "alicloud:kvstore/instance:Instance": ["instanceType"],
  "alicloud:slb/acl:Acl": ["ipVersion"],
  "alicloud:slb/aclEntryAttachment:AclEntryAttachment": ["aclId", "comment", "entry"],
};

/** True when changing `before` to `after` replaces a resource of `type` (the ForceNew arguments above). */
export function replaces(type: string, before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return (FORCE_NEW[type] ?? []).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

/**
 * The add-ons ACK offers a cluster (ListAddons) and what DescribeAddon answers per version. Names:
 * ACK docs and the provider's own example (ack-cluster.ts cites them). Versions and config schemas
 * are STAND-INS: ACK serves them per region and version, and no public page prints them
 * (docs/first-real-up.md). `schema: ""` is what the provider passes on for an add-on without custom
 * configuration (data_source_alicloud_cs_kubernetes_addon_metadata.go fetchJsonSchema: `if schema == "" { return "", nil }`).
 */
export const ADDON_CATALOGUE: Record<string, { version: string; installByDefault: boolean; schema: string }> = {
  "terway-eniip": { version: "v1.13.4", installByDefault: false, schema: "" },
  "terway-controlplane": { version: "v1.13.4", installByDefault: false, schema: "" },
  "metrics-server": { version: "v0.3.9.8-ack", installByDefault: true, schema: "" },
  "ack-virtual-node": { version: "v2.14.6", installByDefault: false, schema: "" },
  "managed-aliyun-acr-credential-helper": {
    version: "v25.04.01",
    installByDefault: false,
    // Stand-in keys, plus an `x-ui` key the provider strips (parseNode, MASKED_CONFIG_KEY_PREFIX).
    schema: JSON.stringify({ type: "object", properties: { ExampleKey: { type: "string" }, "x-ui-layout": { type: "string" } } }),
  },
  "ack-pod-identity-webhook": { version: "v0.2.3", installByDefault: false, schema: "" },
  "csi-plugin": { version: "v1.33.1", installByDefault: true, schema: "" },
  "managed-csiprovisioner": { version: "v1.33.1", installByDefault: true, schema: "" },
  "loongcollector": { version: "v3.1.2", installByDefault: false, schema: "" },
  // Poseidon: no public page prints its schema. Its keys as Alibaba's own ACS template passes them
  // (aliyun-computenest/openclaw-acs-sandbox, acs-production.yaml @ d8649933, lines 1592-1594:
  // '{"TrafficPolicy":true,"NetworkPolicy":true,"ACKNetworkPolicy":true}'); their types are the
  // template's values. Whatever else the real schema holds is unknown (docs/first-real-up.md).
  "poseidon": {
    version: "v0.8.0",
    installByDefault: false,
    schema: JSON.stringify({ type: "object", properties: { TrafficPolicy: { type: "boolean" }, NetworkPolicy: { type: "boolean" }, ACKNetworkPolicy: { type: "boolean" } } }),
  },
  // rbac.secret nested as a Helm chart nests it (ACS docs name the setting, not its JSON).
  "image-cache-operator": {
    version: "v0.3.1",
    installByDefault: false,
    schema: JSON.stringify({ type: "object", properties: { rbac: { type: "object", properties: { secret: { type: "boolean" } } } } }),
  },
  "ack-arms-prometheus": { version: "v1.1.30", installByDefault: false, schema: "" },
};

/** What already exists in the account before any `up`: the objects the shipped configs and tests adopt. */
export interface Account {
  registries: { id: string; name: string; createTime: number }[];
  clusters: { id: string; name: string; apiServerIntranet: string; addons: string[] }[];
  vpcs: { id: string; cidrBlock: string }[];
  vswitches: { id: string; vpcId: string; zoneId: string; cidrBlock: string; vswitchName: string }[];
  /** RAM roles (ram.getRoles): ACK's console authorisation creates AliyunCSManagedAutoScalerRole. */
  roles: { id: string; name: string }[];
}

export function defaultAccount(): Account {
  return {
    registries: [{ id: "cri-agentscopedev7k2p", name: "agentscope-shared", createTime: 1 }],
    clusters: [{ id: "c8a1b2c3d4e5f6a7b8", name: "team-cluster", apiServerIntranet: "https://10.99.192.10:6443", addons: ["terway-eniip", "csi-plugin", "managed-csiprovisioner", "ack-virtual-node"] }],
    vpcs: [{ id: "vpc-bp1team", cidrBlock: "10.99.0.0/16" }],
    vswitches: [
      { id: "vsw-bp1nodes", vpcId: "vpc-bp1team", zoneId: "cn-hangzhou-i", cidrBlock: "10.99.192.0/24", vswitchName: "team-nodes" },
      { id: "vsw-bp1pods", vpcId: "vpc-bp1team", zoneId: "cn-hangzhou-i", cidrBlock: "10.99.0.0/19", vswitchName: "team-pods" },
    ],
    roles: [{ id: "300800000000000001", name: "AliyunCSManagedAutoScalerRole" }],
  };
}
