// Canned answers for the whole program under mocks: data sources by token (an unknown token fails)
// and the outputs a cloud would assign. No test framework here, so the benchmark can use it too.

const KUBECONFIG = [
  "apiVersion: v1", "kind: Config", "clusters:", "- cluster: {server: 'https://10.32.192.10:6443'}", "  name: ack",
  "contexts:", "- context: {cluster: ack, user: admin}", "  name: ack", "current-context: ack",
  "users:", "- name: admin", "  user: {token: mock-token}",
].join("\n");

/** Canned answers for the data sources the program calls; undefined for any other token. */
export function cannedCall(
  token: string,
  inputs: Record<string, unknown>,
  inputsById: (id: string) => Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  switch (token) {
    case "alicloud:cs/getKubernetesVersion:getKubernetesVersion":
      return { metadatas: [{ version: "1.33.3-aliyun.1" }, { version: "1.34.1-aliyun.1" }, { version: "1.32.7-aliyun.1" }] };
    case "alicloud:cs/getClusterCredential:getClusterCredential":
      return { clusterId: inputs["clusterId"], kubeConfig: KUBECONFIG };
    case "alicloud:cs/getRegistryEnterpriseInstances:getRegistryEnterpriseInstances": {
      const ids = (inputs["ids"] as string[] | undefined) ?? [];
      return {
        ids,
        instances: ids.map((id) => ({
          id,
          name: id,
          publicEndpoints: [`${id}-registry.cn-hangzhou.cr.aliyuncs.com`],
          vpcEndpoints: [`${id}-registry-vpc.cn-hangzhou.cr.aliyuncs.com`],
          tempUsername: "cr_temp_user",
          authorizationToken: "mock-authorization-token",
        })),
      };
    }
    case "alicloud:cs/getKubernetesAddons:getKubernetesAddons":
      return {
        clusterId: inputs["clusterId"],
        addons: ((inputs["ids"] as string[] | undefined) ?? []).map((name) => ({ name, currentVersion: "v1.0.0", nextVersion: "", currentConfig: "{}", required: false, supportedActions: [] })),
      };
    case "alicloud:cs/getKubernetesAddonMetadata:getKubernetesAddonMetadata":
      // A stand-in schema: the real one comes from ACK (its keys are not in public docs we could find).
      return { ...inputs, id: "meta", configSchema: JSON.stringify({ type: "object", properties: inputs["name"] === "image-cache-operator"
        // Stand-in, too: rbac.secret as a Helm chart nests it (the real shape comes from ACK at deploy time).
        ? { rbac: { type: "object", properties: { secret: { type: "boolean" } } } }
        : { ExampleKey: { type: "string" } } }) };
    case "alicloud:cr/getEndpointAclService:getEndpointAclService":
      return { ...inputs, id: `${String(inputs["instanceId"])}:internet`, status: "RUNNING" };
    case "alicloud:vpc/getSwitches:getSwitches": {
      const ids = (inputs["ids"] as string[] | undefined) ?? [];
      return {
        ids,
        vswitches: ids.map((id) => {
          const s = inputsById(id) ?? {};
          return { id, zoneId: s["zoneId"] ?? "cn-hangzhou-i", cidrBlock: s["cidrBlock"] ?? "10.99.0.0/19", vpcId: s["vpcId"] ?? "vpc-existing" };
        }),
      };
    }
    default:
      return undefined;
  }
}

/** Cloud-assigned outputs the program reads from Alibaba Cloud resources (mocks.ts covers the rest). */
export function cannedState(type: string): Record<string, unknown> {
  switch (type) {
    case "alicloud:cs/managedKubernetes:ManagedKubernetes":
      return { connections: { apiServerIntranet: "https://10.32.192.10:6443", apiServerInternet: "" }, rrsaMetadata: { ramOidcProviderArn: "acs:ram::1234:oidc-provider/ack-rrsa-c1" } };
    case "alicloud:vpc/natGateway:NatGateway":
      return { snatTableIds: "stb-mock1" };
    case "alicloud:ecs/eipAddress:EipAddress":
      return { ipAddress: "47.96.1.2" };
    case "alicloud:kvstore/instance:Instance":
      return { connectionDomain: "r-mock.redis.rds.aliyuncs.com", port: 6379, privateIp: "10.32.0.200" };
    default:
      return {};
  }
}

