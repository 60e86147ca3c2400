// The Alibaba Cloud double for the whole program under mocks: what the provider computes for each
// resource type and answers for each data source, as terraform-provider-alicloud does ("TFP", see
// alicloud-facts.ts). It never echoes an input back as a value the provider computes. Behaviours and
// the tests relying on them: docs/cloud-contract.md. An unknown invoke token fails.
import { createHash } from "node:crypto";
import type { Account } from "./alicloud-facts";
import { ADDON_CATALOGUE, defaultAccount, ENUMS, REGION } from "./alicloud-facts";

type Inputs = Record<string, unknown>;

/** The API server address the double gives a new cluster (kubeconfig and connections.apiServerIntranet). */
export const DOUBLE_API_SERVER_INTRANET = "https://10.32.192.10:6443";
/** The VPC address the double gives a new Tair/Redis instance. */
export const DOUBLE_REDIS_PRIVATE_IP = "10.32.0.200";
const ACCOUNT_ID = "1234567890123456";

const hex = (seed: string, n: number) => createHash("sha256").update(seed).digest("hex").slice(0, n);
const alnum = (seed: string, n: number) => BigInt(`0x${hex(seed, 40)}`).toString(36).padStart(n, "0").slice(0, n);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
/** A string input, or `fallback` when it is unset (inputs arrive untyped). */
const str = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : fallback);
const regexOf = (v: unknown): RegExp | undefined => (typeof v === "string" ? new RegExp(v) : undefined);

function kubeconfig(server: string, clusterId: string): string {
  return [
    "apiVersion: v1", "kind: Config", "clusters:", `- cluster: {server: '${server}'}`, `  name: ${clusterId}`,
    "contexts:", `- context: {cluster: ${clusterId}, user: ${clusterId}-user}`, `  name: ${clusterId}`, `current-context: ${clusterId}`,
    "users:", `- name: ${clusterId}-user`, "  user: {token: double-temporary-token}",
  ].join("\n");
}

/** One registered resource as the double remembers it. */
interface Held { type: string; id: string; inputs: Inputs }

export class AlicloudDouble {
  readonly account: Account;
  /** Problems a real provider would report (validation, missing parents); runProgram throws them. */
  readonly problems: string[] = [];
  /** Every data-source call, with its inputs (tests check the call shape). */
  readonly invoked: { token: string; inputs: Inputs }[] = [];
  private readonly held = new Map<string, Held>();
  /** Registry instance id → whether its internet endpoint is on (an InternetEndpoint resource turns it on). */
  private readonly internetOn = new Set<string>();
  private readonly snatTables = new Set<string>();

  /** The add-ons ACK offers (a test may swap in other schemas). */
  readonly catalogue: typeof ADDON_CATALOGUE;

  constructor(account: Account = defaultAccount(), catalogue: typeof ADDON_CATALOGUE = ADDON_CATALOGUE) {
    this.account = account;
    this.catalogue = catalogue;
  }

  /**
   * The id the provider sets (TFP `d.SetId(...)` in each resource's Create): cloud ids for top-level
   * objects, `a:b` composites for children. Undefined for non-Alibaba types (mocks.ts default).
   */
  id(type: string, name: string, inputs: Inputs): string | undefined {
    const s = (k: string) => String(inputs[k]);
    switch (type) {
      case "alicloud:cs/managedKubernetes:ManagedKubernetes": return `c${hex(name, 32)}`;
      case "alicloud:cs/nodePool:NodePool": return `${s("clusterId")}:np${hex(name, 32)}`;
      case "alicloud:cs/kubernetesAddon:KubernetesAddon": return `${s("clusterId")}:${s("name")}`;
      case "alicloud:cs/autoscalingConfig:AutoscalingConfig": return s("clusterId");
      case "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance": return `cri-${alnum(name, 16)}`;
      case "alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace": return `${s("instanceId")}:${s("name")}`;
      case "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo": return `${s("instanceId")}:${s("namespace")}:${s("name")}`;
      case "alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc": return `${s("instanceId")}:${s("vpcId")}:${s("vswitchId")}:${s("moduleName")}`;
      case "alicloud:cr/endpointAclPolicy:EndpointAclPolicy": return `${s("instanceId")}:${s("endpointType")}:${s("entry")}`;
      case "alicloud:cr/internetEndpoint:InternetEndpoint": return s("instanceId");
      case "alicloud:vpc/network:Network": return `vpc-${alnum(name, 21)}`;
      case "alicloud:vpc/switch:Switch": return `vsw-${alnum(name, 21)}`;
      case "alicloud:vpc/natGateway:NatGateway": return `ngw-${alnum(name, 21)}`;
      case "alicloud:vpc/snatEntry:SnatEntry": return `${s("snatTableId")}:snat-${alnum(name, 21)}`;
      case "alicloud:ecs/eipAddress:EipAddress": return `eip-${alnum(name, 21)}`;
      case "alicloud:ecs/eipAssociation:EipAssociation": return `${s("allocationId")}:${s("instanceId")}`;
      case "alicloud:kvstore/instance:Instance": return `r-${alnum(name, 18)}`;
      case "alicloud:slb/acl:Acl": return `acl-${alnum(name, 21)}`;
      case "alicloud:slb/aclEntryAttachment:AclEntryAttachment": return `${s("aclId")}:${s("entry")}`;
      default: return undefined;
    }
  }

  /** Outputs the provider computes for a new resource (merged over its inputs by mocks.ts). */
  state(type: string, name: string, inputs: Inputs): Inputs {
    const id = this.id(type, name, inputs);
    if (id === undefined) return {};
    this.validate(type, id, inputs);
    this.held.set(`${type}|${id}`, { type, id, inputs });
    switch (type) {
      case "alicloud:cs/managedKubernetes:ManagedKubernetes":
        return {
          // typings cs/managedKubernetes.d.ts `connections`; the internet address only with slbInternetEnabled.
          connections: { apiServerIntranet: DOUBLE_API_SERVER_INTRANET, apiServerInternet: inputs["slbInternetEnabled"] === true ? "https://47.96.0.10:6443" : "", masterPublicIp: "", serviceDomain: `*.${id}.${REGION}.alicontainer.com` },
          // `rrsaMetadata` is filled only when enableRrsa is on (typings `rrsaMetadata`).
          rrsaMetadata: inputs["enableRrsa"] === true
            ? { enabled: true, ramOidcProviderArn: `acs:ram::${ACCOUNT_ID}:oidc-provider/ack-rrsa-${id}`, ramOidcProviderName: `ack-rrsa-${id}`, rrsaOidcIssuerUrl: `https://oidc-ack-${REGION}.oss-${REGION}.aliyuncs.com/${id}` }
            : { enabled: false, ramOidcProviderArn: "", ramOidcProviderName: "", rrsaOidcIssuerUrl: "" },
          // typings `version`: "If you do not specify a value, the latest available version at resource creation is used".
          version: inputs["version"] ?? "1.34.1-aliyun.1",
          clusterSpec: inputs["clusterSpec"] ?? "ack.pro.small",
        };
      case "alicloud:cs/nodePool:NodePool":
        return { nodePoolId: id.split(":")[1], scalingGroupId: `asg-${alnum(name, 20)}` };
      case "alicloud:cs/kubernetesAddon:KubernetesAddon": {
        // version and config are Optional+Computed (resource_alicloud_cs_kubernetes_addon.go): unset means
        // ACK's default version and the add-on's own config, never the input echoed.
        const meta = this.catalogue[String(inputs["name"])];
        return { version: inputs["version"] ?? meta?.version ?? "", config: inputs["config"] ?? "", nextVersion: "", canUpgrade: false, required: meta?.installByDefault ?? false };
      }
      case "alicloud:cs/autoscalingConfig:AutoscalingConfig":
        // Schema defaults (resource_alicloud_cs_autoscaling_config.go `Default:`).
        return { coolDownDuration: "10m", unneededDuration: "10m", utilizationThreshold: "0.5", gpuUtilizationThreshold: "0.5", scanInterval: "30s", scaleDownEnabled: true, expander: "least-waste", ...inputs };
      case "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance":
        return { status: "RUNNING", createdTime: "2026-12-07T00:00:00Z", endTime: "2027-12-07T00:00:00Z", regionId: REGION };
      case "alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc":
        return { status: "RUNNING" };
      case "alicloud:cr/internetEndpoint:InternetEndpoint":
        this.internetOn.add(String(inputs["instanceId"]));
        return { status: "RUNNING" };
      case "alicloud:vpc/network:Network":
        return { routerId: `vrt-${alnum(name, 21)}`, routeTableId: `vtb-${alnum(name, 21)}`, status: "Available" };
      case "alicloud:vpc/natGateway:NatGateway":
        // typings vpc/natGateway.d.ts `snatTableIds`: "The nat gateway will auto create a snat".
        this.snatTables.add(`stb-${alnum(name, 21)}`);
        return { snatTableIds: `stb-${alnum(name, 21)}`, forwardTableIds: `ftb-${alnum(name, 21)}`, status: "Available" };
      case "alicloud:vpc/snatEntry:SnatEntry":
        return { snatEntryId: id.split(":")[1], status: "Available" };
      case "alicloud:ecs/eipAddress:EipAddress":
        return { ipAddress: "47.96.1.2", status: "Available" };
      case "alicloud:kvstore/instance:Instance":
        return { connectionDomain: `${id}.redis.rds.aliyuncs.com`, port: 6379, privateIp: DOUBLE_REDIS_PRIVATE_IP, status: "Normal" };
      default:
        return {};
    }
  }

  /** Answers for the data sources the program calls; throws on any other token. */
  call(token: string, inputs: Inputs): Inputs {
    this.invoked.push({ token, inputs });
    switch (token) {
      case "alicloud:cs/getClusterCredential:getClusterCredential": return this.clusterCredential(inputs);
      case "alicloud:cs/getKubernetesAddons:getKubernetesAddons": return this.kubernetesAddons(inputs);
      case "alicloud:cs/getKubernetesAddonMetadata:getKubernetesAddonMetadata": return this.addonMetadata(inputs);
      case "alicloud:cs/getRegistryEnterpriseInstances:getRegistryEnterpriseInstances": return this.registryInstances(inputs);
      case "alicloud:vpc/getSwitches:getSwitches": return this.switches(inputs);
      case "alicloud:ram/getRoles:getRoles": return this.roles(inputs);
      default: throw new Error(`the Alibaba Cloud double has no data source ${token}: add one, with its source, to test/support/canned.ts`);
    }
  }

  private fail(message: string): never {
    this.problems.push(message);
    throw new Error(message);
  }

  private clusters(): { id: string; name: string; apiServerIntranet: string; addons: string[] }[] {
    const created = [...this.held.values()].filter((h) => h.type === "alicloud:cs/managedKubernetes:ManagedKubernetes").map((h) => ({
      id: h.id,
      name: String(h.inputs["name"]),
      apiServerIntranet: DOUBLE_API_SERVER_INTRANET,
      addons: (h.inputs["addons"] as { name: string }[] | undefined ?? []).map((a) => a.name),
    }));
    return [...this.account.clusters, ...created];
  }

  /** data_source_alicloud_cs_cluster_credential.go: DescribeClusterDetail first (an unknown cluster fails). */
  private clusterCredential(inputs: Inputs): Inputs {
    const clusterId = String(inputs["clusterId"]);
    const cluster = this.clusters().find((c) => c.id === clusterId);
    if (!cluster) this.fail(`DescribeClusterDetail: ErrorClusterNotFound ${clusterId}`);
    const minutes = inputs["temporaryDurationMinutes"] as number | undefined;
    // ACK API DescribeClusterUserKubeconfig TemporaryDurationMinutes: "Valid values: 15 to 4320".
    if (minutes !== undefined && (minutes < 15 || minutes > 4320)) this.fail(`DescribeClusterUserKubeconfig: TemporaryDurationMinutes ${minutes} outside 15..4320`);
    // The provider asks for the internet kubeconfig (service_alicloud_cs.go DescribeClusterKubeConfigWithExpiration,
    // PrivateIpAddress false); what ACK returns for a cluster without an internet endpoint is unsettled
    // (docs/first-real-up.md): the double answers with the intranet server.
    return {
      id: hex(clusterId, 8),
      clusterId,
      clusterName: cluster.name,
      kubeConfig: kubeconfig(cluster.apiServerIntranet, clusterId),
      // Computed by ACK from the requested lifetime (a fixed clock keeps runs reproducible).
      expiration: new Date(Date.UTC(2026, 11, 7) + (minutes ?? 4320) * 60_000).toISOString(),
      certificateAuthority: { clusterCert: "double-ca", clientCert: "double-cert", clientKey: "double-key" },
      ...(minutes !== undefined ? { temporaryDurationMinutes: minutes } : {}),
    };
  }

  /** Add-ons installed on a cluster: at creation (`addons`) or as cs.KubernetesAddon resources. */
  private installed(clusterId: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of this.clusters().find((c) => c.id === clusterId)?.addons ?? []) out.set(name, this.catalogue[name]?.version ?? "");
    for (const h of this.held.values()) {
      if (h.type === "alicloud:cs/kubernetesAddon:KubernetesAddon" && h.inputs["clusterId"] === clusterId) {
        const name = String(h.inputs["name"]);
        out.set(name, str(h.inputs["version"], this.catalogue[name]?.version));
      }
    }
    return out;
  }

  /**
   * data_source_alicloud_cs_kubernetes_addons.go dataAlicloudCSKubernetesAddonsRead: every add-on ACK
   * offers (describeAvailableAddons), kept when name_regex matches its name and when `ids` holds
   * `<clusterId>:<name>`; the answer's ids are built the same way. fetchAddonsMetadata sorts by name,
   * descending. service_alicloud_cs.go DescribeCsKubernetesAllAvailableAddons: an add-on not installed
   * has no current_version or config, only next_version (the version ACK would install).
   */
  private kubernetesAddons(inputs: Inputs): Inputs {
    const clusterId = String(inputs["clusterId"]);
    if (!this.clusters().some((c) => c.id === clusterId)) this.fail(`ListAddons: ErrorClusterNotFound ${clusterId}`);
    const installed = this.installed(clusterId);
    const ids = inputs["ids"] === undefined ? undefined : list(inputs["ids"]);
    const nameRegex = regexOf(inputs["nameRegex"]);
    const kept = Object.entries(this.catalogue).filter(([name]) =>
      (nameRegex === undefined || nameRegex.test(name)) && (ids === undefined || ids.length === 0 || ids.includes(`${clusterId}:${name}`)));
    const addons = kept
      .map(([name, meta]) => {
        const current = installed.get(name);
        return {
          name,
          currentVersion: current ?? "",
          nextVersion: current === undefined ? meta.version : "",
          required: meta.installByDefault,
          currentConfig: "",
          supportedActions: current === undefined ? ["install"] : ["upgrade", "uninstall", "config"],
        };
      })
      .sort((a, b) => (a.name > b.name ? -1 : a.name < b.name ? 1 : 0));
    return {
      id: hex(clusterId, 8),
      clusterId,
      ids: kept.map(([name]) => `${clusterId}:${name}`),
      names: kept.map(([name]) => name),
      addons,
      ...(inputs["nameRegex"] !== undefined ? { nameRegex: inputs["nameRegex"] } : {}),
    };
  }

  /**
   * data_source_alicloud_cs_kubernetes_addon_metadata.go: DescribeAddon(cluster, name, version) (an
   * unknown name or version fails), then fetchJsonSchema: "" stays "", keys starting `x-ui` are
   * dropped, and the JSON comes back re-indented with tabs.
   */
  private addonMetadata(inputs: Inputs): Inputs {
    const clusterId = String(inputs["clusterId"]);
    const name = String(inputs["name"]);
    const version = str(inputs["version"]);
    if (!this.clusters().some((c) => c.id === clusterId)) this.fail(`DescribeAddon: ErrorClusterNotFound ${clusterId}`);
    const meta = this.catalogue[name];
    if (!meta || (version !== "" && version !== meta.version)) this.fail(`DescribeAddon: AddonNotFound ${name}@${version}`);
    const strip = (node: unknown): unknown => node !== null && typeof node === "object" && !Array.isArray(node)
      ? Object.fromEntries(Object.entries(node as Inputs).filter(([k]) => !k.startsWith("x-ui")).map(([k, v]) => [k, strip(v)]))
      : node;
    const configSchema = meta.schema === "" ? "" : JSON.stringify(strip(JSON.parse(meta.schema)), null, "\t");
    return { id: hex(clusterId, 8), clusterId, name, version, configSchema };
  }

  private registries(): { id: string; name: string; createTime: number }[] {
    const created = [...this.held.values()].filter((h) => h.type === "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance")
      .map((h, i) => ({ id: h.id, name: String(h.inputs["instanceName"]), createTime: 100 + i }));
    return [...this.account.registries, ...created];
  }

  /**
   * data_source_alicloud_cr_ee_instances.go: filter by `ids` (instance id) and `nameRegex` (instance
   * name), oldest first; public/VPC domains only of endpoints that are enabled; temp_username and
   * authorization_token only with enable_details. Domains `<instance name>-registry[-vpc].<region>.cr.aliyuncs.com`
   * (ACR API examples: GetInstanceEndpoint `shanghai-instance1-registry.cn-shanghai.cr.aliyuncs.com`,
   * RouteItem `test-instance-registry-vpc.cn-hangzhou.cr.aliyuncs.com`).
   */
  private registryInstances(inputs: Inputs): Inputs {
    const ids = inputs["ids"] === undefined ? undefined : list(inputs["ids"]);
    const nameRegex = regexOf(inputs["nameRegex"]);
    const found = this.registries()
      .filter((r) => (ids === undefined || ids.includes(r.id)) && (nameRegex === undefined || nameRegex.test(r.name)))
      .sort((a, b) => a.createTime - b.createTime);
    const vpcLinked = (id: string) => [...this.held.values()].some((h) => h.type === "alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc" && h.inputs["instanceId"] === id);
    const details = inputs["enableDetails"] === true;
    return {
      id: hex(found.map((r) => r.name).join(","), 8),
      ids: found.map((r) => r.id),
      names: found.map((r) => r.name),
      instances: found.map((r) => ({
        id: r.id,
        name: r.name,
        region: REGION,
        specification: "Standard",
        namespaceQuota: "15",
        namespaceUsage: "1",
        repoQuota: "1000",
        repoUsage: "4",
        vpcEndpoints: vpcLinked(r.id) ? [`${r.name}-registry-vpc.${REGION}.cr.aliyuncs.com`] : [],
        publicEndpoints: this.internetOn.has(r.id) ? [`${r.name}-registry.${REGION}.cr.aliyuncs.com`] : [],
        ...(details ? { tempUsername: "cr_temp_user", authorizationToken: "double-authorization-token" } : { tempUsername: "", authorizationToken: "" }),
      })),
      ...(inputs["enableDetails"] !== undefined ? { enableDetails: inputs["enableDetails"] } : {}),
    };
  }

  private allSwitches() {
    const created = [...this.held.values()].filter((h) => h.type === "alicloud:vpc/switch:Switch").map((h) => ({
      id: h.id, vpcId: String(h.inputs["vpcId"]), zoneId: String(h.inputs["zoneId"]), cidrBlock: String(h.inputs["cidrBlock"]), vswitchName: str(h.inputs["vswitchName"]),
    }));
    return [...this.account.vswitches, ...created];
  }

  /**
   * data_source_alicloud_vswitches.go: DescribeVSwitches, kept when `ids` holds the VSwitchId (and
   * vpcId/zoneId/nameRegex match), in the API's listing order, not the order of `ids`: the double
   * lists by id, descending, so code that assumes the order of `ids` fails here.
   */
  private switches(inputs: Inputs): Inputs {
    const ids = inputs["ids"] === undefined ? undefined : list(inputs["ids"]);
    const nameRegex = regexOf(inputs["nameRegex"]);
    const found = this.allSwitches()
      .filter((s) => (ids === undefined || ids.length === 0 || ids.includes(s.id))
        && (inputs["vpcId"] === undefined || s.vpcId === inputs["vpcId"])
        && (inputs["zoneId"] === undefined || s.zoneId === inputs["zoneId"])
        && (nameRegex === undefined || nameRegex.test(s.vswitchName)))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    return {
      id: hex(found.map((s) => s.id).join(","), 8),
      ids: found.map((s) => s.id),
      names: found.map((s) => s.vswitchName),
      vswitches: found.map((s) => ({ ...s, name: s.vswitchName, status: "Available", isDefault: false })),
    };
  }

  /** data_source_alicloud_ram_roles.go: `ids` match RoleId, `name_regex` matches RoleName. */
  private roles(inputs: Inputs): Inputs {
    const ids = inputs["ids"] === undefined ? undefined : list(inputs["ids"]);
    const nameRegex = regexOf(inputs["nameRegex"]);
    const found = this.account.roles.filter((r) => (ids === undefined || ids.includes(r.id)) && (nameRegex === undefined || nameRegex.test(r.name)));
    return {
      id: hex(found.map((r) => r.id).join(","), 8),
      ids: found.map((r) => r.id),
      names: found.map((r) => r.name),
      roles: found.map((r) => ({ id: r.id, name: r.name, arn: `acs:ram::${ACCOUNT_ID}:role/${r.name.toLowerCase()}`, description: "", assumeRolePolicyDocument: "", document: "", createDate: "", updateDate: "" })),
      ...(inputs["nameRegex"] !== undefined ? { nameRegex: inputs["nameRegex"] } : {}),
    };
  }

  /** Schema validation and the parent objects the API needs (reported, as the provider would fail the step). */
  private validate(type: string, id: string, inputs: Inputs): void {
    const report = (m: string) => this.problems.push(`${type} ${id}: ${m}`);
    for (const [key, allowed] of Object.entries(ENUMS[type] ?? {})) {
      const v = inputs[key];
      if (v !== undefined && !allowed.includes(v as string)) report(`${key} ${JSON.stringify(v)} is not one of ${allowed.join(", ")}`);
    }
    const clusterKnown = () => this.clusters().some((c) => c.id === inputs["clusterId"]);
    const registryKnown = () => this.registries().some((r) => r.id === inputs["instanceId"]);
    switch (type) {
      case "alicloud:cs/nodePool:NodePool": {
        if (!clusterKnown()) report(`cluster ${String(inputs["clusterId"])} not found`);
        // resource_alicloud_cs_kubernetes_node_pool.go scaling_config: min_size IntBetween(0, 1000), max_size IntBetween(0, 2000);
        // typings cs/nodePool.d.ts scalingConfig.maxSize: "`maxSize` has to be greater than `minSize`".
        const sc = inputs["scalingConfig"] as { minSize?: number; maxSize?: number } | undefined;
        if (sc?.minSize !== undefined && (sc.minSize < 0 || sc.minSize > 1000)) report(`scalingConfig.minSize ${sc.minSize} outside 0..1000`);
        if (sc?.maxSize !== undefined && (sc.maxSize < 0 || sc.maxSize > 2000)) report(`scalingConfig.maxSize ${sc.maxSize} outside 0..2000`);
        if (sc?.minSize !== undefined && sc.maxSize !== undefined && sc.maxSize <= sc.minSize) report("scalingConfig.maxSize has to be greater than minSize");
        // typings cs/nodePool.d.ts systemDiskSize: basic disk 20 to 500; ESSD PL1 (the default level) 20 to 2048,
        // PL0 1 to 2048; cloud_auto 1 to 2048; other categories 20 to 2048.
        const disk = inputs["systemDiskSize"] as number | undefined;
        const category = inputs["systemDiskCategory"];
        const pl0 = category === "cloud_essd" && inputs["systemDiskPerformanceLevel"] === "PL0";
        const [diskMin, diskMax] = category === "cloud" ? [20, 500] : category === "cloud_auto" || pl0 ? [1, 2048] : [20, 2048];
        if (disk !== undefined && (disk < diskMin || disk > diskMax)) report(`systemDiskSize ${disk} outside ${diskMin}..${diskMax} GiB`);
        const tokens = (inputs["instanceMetadataOptions"] as { httpTokens?: string } | undefined)?.httpTokens;
        if (tokens !== undefined && !["optional", "required"].includes(tokens)) report(`instanceMetadataOptions.httpTokens ${tokens} is not optional or required`);
        break;
      }
      case "alicloud:cs/kubernetesAddon:KubernetesAddon":
      case "alicloud:cs/autoscalingConfig:AutoscalingConfig":
        if (!clusterKnown()) report(`cluster ${String(inputs["clusterId"])} not found`);
        if (type.endsWith("KubernetesAddon") && !(String(inputs["name"]) in this.catalogue)) report(`add-on ${String(inputs["name"])} is not offered (AddonNotFound)`);
        break;
      case "alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace":
      case "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo":
      case "alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc":
      case "alicloud:cr/internetEndpoint:InternetEndpoint":
        if (!registryKnown()) report(`registry instance ${String(inputs["instanceId"])} not found`);
        if (type.endsWith("VpcEndpointLinkedVpc") && !this.allSwitches().some((s) => s.id === inputs["vswitchId"] && s.vpcId === inputs["vpcId"])) {
          report(`vSwitch ${String(inputs["vswitchId"])} is not in VPC ${String(inputs["vpcId"])}`);
        }
        break;
      case "alicloud:vpc/network:Network": {
        // typings vpc/network.d.ts cidrBlock: "The subnet mask must be 8 to 28 bits in length."
        const cidr = str(inputs["cidrBlock"]);
        const bits = Number(cidr.split("/")[1]);
        if (cidr !== "" && !(bits >= 8 && bits <= 28)) report(`cidrBlock ${cidr}: the mask must be 8 to 28 bits`);
        break;
      }
      case "alicloud:vpc/switch:Switch": {
        // typings vpc/switch.d.ts cidrBlock: "The subnet mask must be `16` to `29` bits in length."
        const bits = Number(String(inputs["cidrBlock"]).split("/")[1]);
        if (!(bits >= 16 && bits <= 29)) report(`cidrBlock ${String(inputs["cidrBlock"])}: the mask must be 16 to 29 bits`);
        const vpc = [...this.account.vpcs, ...[...this.held.values()].filter((h) => h.type === "alicloud:vpc/network:Network").map((h) => ({ id: h.id, cidrBlock: String(h.inputs["cidrBlock"]) }))]
          .find((v) => v.id === inputs["vpcId"]);
        if (!vpc) report(`VPC ${String(inputs["vpcId"])} not found`);
        else if (!cidrWithin(String(inputs["cidrBlock"]), vpc.cidrBlock)) report(`cidrBlock ${String(inputs["cidrBlock"])} is outside the VPC's ${vpc.cidrBlock}`);
        break;
      }
      case "alicloud:vpc/snatEntry:SnatEntry":
        if (!this.snatTables.has(String(inputs["snatTableId"]))) report(`SNAT table ${String(inputs["snatTableId"])} not found`);
        break;
      default:
        break;
    }
  }

}

function cidrWithin(inner: string, outer: string): boolean {
  const parse = (c: string) => {
    const [ip, bits] = c.split("/");
    const n = ip!.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    return { n, bits: Number(bits) };
  };
  const a = parse(inner);
  const b = parse(outer);
  if (a.bits < b.bits) return false;
  const size = 2 ** (32 - b.bits);
  return Math.floor(a.n / size) === Math.floor(b.n / size);
}

/** The id the provider (and so the double) gives a registered resource: a pure function of its type, name and inputs. */
export function providerIdOf(r: { type: string; name: string; inputs: Inputs }): string {
  const id = new AlicloudDouble().id(r.type, r.name, r.inputs);
  if (id === undefined) throw new Error(`the Alibaba Cloud double assigns no id to ${r.type}`);
  return id;
}

/** runWithMocks options that put a double (a fresh one by default) behind every Alibaba Cloud call. */
export function doubleOptions(double: AlicloudDouble = new AlicloudDouble()): {
  id: (type: string, name: string, inputs: Inputs) => string | undefined;
  state: (type: string, name: string, inputs: Inputs) => Inputs;
  call: (token: string, inputs: Inputs) => Inputs;
} {
  return {
    id: (type, name, inputs) => double.id(type, name, inputs),
    state: (type, name, inputs) => double.state(type, name, inputs),
    call: (token, inputs) => double.call(token, inputs),
  };
}
