// The Alibaba Cloud double answers as the provider does, and the program calls it as the provider
// expects. Every behaviour here is a row of docs/cloud-contract.md.
import { describe, expect, it } from "vitest";
import { AUTOSCALER_ROLE, requireAutoscalerRole } from "../../components/alicloud/ack-cluster";
import { addonConfigSchema, checkedAddonConfig, schemaKeys, settingBySchema } from "../../components/alicloud/addon-config";
import { ACS_NETWORK_POLICY_ANNOTATIONS } from "../../components/workload/acs";
import { ADDON_CATALOGUE, defaultAccount, replaces } from "../support/alicloud-facts";
import { AlicloudDouble, doubleOptions } from "../support/canned";
import { runWithMocks, valueOf } from "../support/mocks";
import { runProgram } from "../support/program";
import { PROJECT, shippedStackConfig } from "../support/stack-config";

const ADDONS = "alicloud:cs/getKubernetesAddons:getKubernetesAddons";
const METADATA = "alicloud:cs/getKubernetesAddonMetadata:getKubernetesAddonMetadata";
const CLUSTER = defaultAccount().clusters[0]!.id;
type AddonAnswer = { ids: string[]; names: string[]; addons: { name: string; currentVersion: string; nextVersion: string }[] };

describe("cs.getKubernetesAddons double", () => {
  const double = new AlicloudDouble();
  const addons = (inputs: Record<string, unknown>) => double.call(ADDONS, { clusterId: CLUSTER, ...inputs }) as unknown as AddonAnswer;

  it("finds nothing for a bare add-on name in ids: the wrong call shape", () => {
    expect(addons({ ids: ["image-cache-operator"] }).addons).toEqual([]);
  });

  it("finds an add-on by its <clusterId>:<name> id, and answers ids in that shape", () => {
    const found = addons({ ids: [`${CLUSTER}:image-cache-operator`] });
    expect(found.names).toEqual(["image-cache-operator"]);
    expect(found.ids).toEqual([`${CLUSTER}:image-cache-operator`]);
  });

  it("matches nameRegex against add-on names, sorted by name descending", () => {
    expect(addons({ nameRegex: "^terway" }).addons.map((a) => a.name)).toEqual(["terway-eniip", "terway-controlplane"]);
  });

  it("gives an add-on not installed only a next version; an installed one its current version", () => {
    const [poseidon] = addons({ ids: [`${CLUSTER}:poseidon`] }).addons;
    expect(poseidon).toMatchObject({ currentVersion: "", nextVersion: "v0.8.0" });
    const [terway] = addons({ ids: [`${CLUSTER}:terway-eniip`] }).addons;
    expect(terway).toMatchObject({ currentVersion: "v1.13.4", nextVersion: "" });
  });

  it("fails for a cluster that does not exist", () => {
    expect(() => double.call(ADDONS, { clusterId: "c-nope" })).toThrow(/ErrorClusterNotFound c-nope/);
  });
});

describe("cs.getKubernetesAddonMetadata double", () => {
  const double = new AlicloudDouble();
  const schema = (name: string, version: string) => String(double.call(METADATA, { clusterId: CLUSTER, name, version })["configSchema"]);

  it("passes an empty schema on as an empty string (no custom configuration)", () => {
    expect(schema("metrics-server", "v0.3.9.8-ack")).toBe("");
  });

  it("re-indents the schema with tabs and drops x-ui keys", () => {
    const text = schema("managed-aliyun-acr-credential-helper", "v25.04.01");
    expect(text).toContain("\n\t");
    expect(Object.keys((JSON.parse(text) as { properties: object }).properties)).toEqual(["ExampleKey"]);
  });

  it("fails for a version ACK does not offer", () => {
    expect(() => schema("poseidon", "v9.9.9")).toThrow(/AddonNotFound poseidon@v9.9.9/);
  });
});

describe("cs.getClusterCredential double", () => {
  const CREDENTIAL = "alicloud:cs/getClusterCredential:getClusterCredential";

  it("computes a kubeconfig for a known cluster and refuses a lifetime outside 15..4320 minutes or an unknown cluster", () => {
    const double = new AlicloudDouble();
    expect(String(double.call(CREDENTIAL, { clusterId: CLUSTER, temporaryDurationMinutes: 1440 })["kubeConfig"])).toContain("server: 'https://10.99.192.10:6443'");
    expect(() => double.call(CREDENTIAL, { clusterId: CLUSTER, temporaryDurationMinutes: 10 })).toThrow(/TemporaryDurationMinutes 10 outside 15..4320/);
    expect(() => double.call(CREDENTIAL, { clusterId: "c-nope" })).toThrow(/ErrorClusterNotFound c-nope/);
  });
});

describe("A: the add-on lookup", () => {
  it("finds the image-cache operator's schema through the double by its <clusterId>:<name> id", async () => {
    let schema: Promise<string> | undefined;
    await runWithMocks(() => { schema = valueOf(addonConfigSchema(CLUSTER, "image-cache-operator", {})); }, doubleOptions());
    expect(settingBySchema("image-cache-operator", await schema!, "rbac.secret", true)).toEqual({ rbac: { secret: true } });
  });

  it("is called with <clusterId>:<name> ids by the whole program, and every call finds its add-on", async () => {
    const double = new AlicloudDouble();
    await runProgram(shippedStackConfig("prod"), "prod", false, undefined, double);
    const calls = double.invoked.filter((c) => c.token === ADDONS);
    expect(calls.map((c) => c.inputs["ids"])).toEqual(expect.arrayContaining([[expect.stringMatching(/^c[0-9a-f]{32}:image-cache-operator$/)]]));
    for (const c of calls) expect((double.call(ADDONS, c.inputs) as unknown as AddonAnswer).addons).toHaveLength(1);
  });
});

describe("D: an empty add-on config schema", () => {
  it("means no custom configuration: no keys, an empty config passes, any key is refused by name", () => {
    expect(schemaKeys("poseidon", "")).toEqual([]);
    expect(checkedAddonConfig("poseidon", "", {})).toBe("{}");
    expect(() => checkedAddonConfig("poseidon", "", { a: 1 })).toThrow("poseidon config has key(s) a that its schema does not define (known: none)");
    expect(settingBySchema("image-cache-operator", "", "rbac.secret", true)).toBeUndefined();
  });
});

describe("D: the whole program with an empty image-cache schema", async () => {
  const catalogue = { ...ADDON_CATALOGUE, "image-cache-operator": { ...ADDON_CATALOGUE["image-cache-operator"]!, schema: "" } };
  const run = await runProgram(shippedStackConfig("dev"), "dev", false, undefined, new AlicloudDouble(defaultAccount(), catalogue));

  it("installs the operator without custom configuration instead of stopping the up", () => {
    expect(run.one("alicloud:cs/kubernetesAddon:KubernetesAddon", "-image-cache-operator").inputs).not.toHaveProperty("config");
  });
});

describe("F: Poseidon and the ACS network-policy annotation", async () => {
  const double = new AlicloudDouble();
  const run = await runProgram(shippedStackConfig("prod"), "prod", false, undefined, double);

  it("reads Poseidon's schema through the add-on lookup before installing it", () => {
    expect(double.invoked.filter((c) => c.token === METADATA).map((c) => c.inputs["name"])).toContain("poseidon");
    expect(run.one("alicloud:cs/kubernetesAddon:KubernetesAddon", "-poseidon").inputs["config"]).toBeUndefined();
  });

  it("annotates ACS pods with both keys current ACS docs name", () => {
    const agent = run.ofType("kubernetes:apps/v1:Deployment").find((d) => (d.inputs["metadata"] as { name: string }).name === "agent-friday")!;
    const annotations = (agent.inputs as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations;
    for (const key of ACS_NETWORK_POLICY_ANNOTATIONS) expect(annotations[key], key).toBe("true");
    expect(ACS_NETWORK_POLICY_ANNOTATIONS).toEqual(["alibabacloud.com/enable-network-policy-agent", "network.alibabacloud.com/enable-network-policy-agent"]);
  });
});

describe("H: the auto-scaling system node pool", async () => {
  const run = await runProgram(shippedStackConfig("prod"), "prod");

  it("configures ACK's autoscaler and creates the pool after it", () => {
    const autoscaler = run.one("alicloud:cs/autoscalingConfig:AutoscalingConfig");
    expect(autoscaler.inputs).toMatchObject({ scalerType: "cluster-autoscaler", expander: "least-waste", scaleDownEnabled: true });
    expect(run.one("alicloud:cs/nodePool:NodePool").opts.dependsOn).toEqual([autoscaler.resource]);
    expect(run.calls).toContain("alicloud:ram/getRoles:getRoles");
  });

  it("stops with the console link when the account lacks AliyunCSManagedAutoScalerRole", () => {
    const account = { ...defaultAccount(), roles: [] };
    const names = new AlicloudDouble(account).call("alicloud:ram/getRoles:getRoles", { nameRegex: `^${AUTOSCALER_ROLE}$` })["names"] as string[];
    expect(() => requireAutoscalerRole(names)).toThrow(/needs the RAM role AliyunCSManagedAutoScalerRole: authorise it once per account at https:\/\/ram\.console\.aliyun\.com/);
    expect(requireAutoscalerRole(defaultAccount().roles.map((r) => r.name))).toBe(true);
  });
});

describe("J: ACR's internet endpoint", () => {
  it("is a resource whose entries change in place, where each old ACL policy entry was ForceNew", () => {
    const before = { instanceId: "cri-1", entries: [{ entry: "203.0.113.7/32" }] };
    expect(replaces("alicloud:cr/internetEndpoint:InternetEndpoint", before, { ...before, entries: [{ entry: "198.51.100.0/24" }] })).toEqual([]);
    expect(replaces("alicloud:cr/endpointAclPolicy:EndpointAclPolicy", { entry: "203.0.113.7/32" }, { entry: "198.51.100.0/24" })).toEqual(["entry"]);
  });

  it("lists a public domain only while the internet endpoint is on", async () => {
    const dev = shippedStackConfig("dev");
    const off = new AlicloudDouble();
    await runProgram(dev, "dev", false, undefined, off);
    const read = (d: AlicloudDouble) => (d.call("alicloud:cs/getRegistryEnterpriseInstances:getRegistryEnterpriseInstances", { ids: ["cri-agentscopedev7k2p"] })["instances"] as { publicEndpoints: string[]; vpcEndpoints: string[] }[])[0]!;
    expect(read(off)).toMatchObject({ publicEndpoints: [], vpcEndpoints: ["agentscope-shared-registry-vpc.cn-hangzhou.cr.aliyuncs.com"] });
    const registry = { ...(JSON.parse(dev[`${PROJECT}:registry`]!) as object), pushFromCidrs: ["203.0.113.7/32"] };
    const on = new AlicloudDouble();
    await runProgram({ ...dev, [`${PROJECT}:registry`]: JSON.stringify(registry) }, "dev", false, undefined, on);
    expect(read(on).publicEndpoints).toEqual(["agentscope-shared-registry.cn-hangzhou.cr.aliyuncs.com"]);
  });
});

describe("the double refuses what the provider refuses", () => {
  it("reports an enum outside the provider's schema and a node pool that cannot scale", () => {
    const double = new AlicloudDouble();
    double.state("alicloud:kvstore/instance:Instance", "r", { instanceType: "Redis", engineVersion: "8.0" });
    double.state("alicloud:cs/nodePool:NodePool", "p", { clusterId: CLUSTER, scalingConfig: { minSize: 3, maxSize: 3 } });
    expect(double.problems).toEqual([
      expect.stringContaining('engineVersion "8.0" is not one of 2.8, 4.0, 5.0, 6.0, 7.0'),
      expect.stringContaining("scalingConfig.maxSize has to be greater than minSize"),
    ]);
  });

  it("reports a system disk below 20 GiB and vSwitch or VPC masks outside the documented ranges", () => {
    const double = new AlicloudDouble();
    double.state("alicloud:cs/nodePool:NodePool", "p", { clusterId: CLUSTER, systemDiskCategory: "cloud_essd", systemDiskSize: 10 });
    double.state("alicloud:cs/nodePool:NodePool", "q", { clusterId: CLUSTER, systemDiskCategory: "cloud_auto", systemDiskSize: 10 });
    double.state("alicloud:vpc/network:Network", "v", { cidrBlock: "10.0.0.0/29" });
    double.state("alicloud:vpc/switch:Switch", "s", { vpcId: "vpc-bp1team", zoneId: "cn-hangzhou-i", cidrBlock: "10.99.200.0/30" });
    expect(double.problems).toEqual([
      expect.stringContaining("systemDiskSize 10 outside 20..2048 GiB"),
      expect.stringContaining("the mask must be 8 to 28 bits"),
      expect.stringContaining("the mask must be 16 to 29 bits"),
    ]);
  });

  it("computes a cluster's outputs instead of echoing inputs: no RRSA ARN without enableRrsa", () => {
    const double = new AlicloudDouble();
    expect(double.state("alicloud:cs/managedKubernetes:ManagedKubernetes", "a", { enableRrsa: false })["rrsaMetadata"]).toMatchObject({ ramOidcProviderArn: "" });
    expect(double.state("alicloud:cs/managedKubernetes:ManagedKubernetes", "b", {})["version"]).toBe("1.34.1-aliyun.1");
  });

  it("lists vSwitches in its own order, not the order of ids", () => {
    const double = new AlicloudDouble();
    const ids = ["vsw-bp1nodes", "vsw-bp1pods"];
    expect(double.call("alicloud:vpc/getSwitches:getSwitches", { ids })["ids"]).toEqual(["vsw-bp1pods", "vsw-bp1nodes"]);
  });
});
