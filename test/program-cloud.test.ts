import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { providerIdOf } from "./support/canned";
import type { ProgramRun, RecordedResource } from "./support/program";
import { promiseOf, runProgram } from "./support/program";
import { PROJECT, shippedStackConfig } from "./support/stack-config";

const T = {
  vpc: "alicloud:vpc/network:Network",
  vswitch: "alicloud:vpc/switch:Switch",
  nat: "alicloud:vpc/natGateway:NatGateway",
  snat: "alicloud:vpc/snatEntry:SnatEntry",
  cluster: "alicloud:cs/managedKubernetes:ManagedKubernetes",
  nodePool: "alicloud:cs/nodePool:NodePool",
  acr: "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance",
  acrNamespace: "alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace",
  acrRepo: "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo",
  vpcLink: "alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc",
  redis: "alicloud:kvstore/instance:Instance",
  addon: "alicloud:cs/kubernetesAddon:KubernetesAddon",
  k8sProvider: "pulumi:providers:kubernetes",
} as const;

const idOf = providerIdOf;
const isProtected = (r: RecordedResource) => (r.resource as unknown as { __protect?: boolean }).__protect === true;
const addon = (run: ProgramRun, name: string) =>
  (run.one(T.cluster).inputs["addons"] as { name: string; config?: string }[]).find((a) => a.name === name);

describe("prod on Alibaba Cloud", async () => {
  const run = await runProgram(shippedStackConfig("prod"), "prod");

  it("creates an ACK Pro cluster without a version while auto-upgrade is on, and ignores version drift", () => {
    const c = run.one(T.cluster).inputs;
    expect(c).toMatchObject({ clusterSpec: "ack.pro.small", enableRrsa: true, deletionProtection: true });
    expect(c["operationPolicy"]).toEqual({ clusterAutoUpgrade: { enabled: true, channel: "patch" } });
    // Provider docs: "Do not specify if cluster auto upgrade is enabled"; no newest-version lookup on each run.
    expect(c["version"]).toBeUndefined();
    expect(run.calls).not.toContain("alicloud:cs/getKubernetesVersion:getKubernetesVersion");
    expect(run.one(T.cluster).opts.ignoreChanges).toEqual(["addons", "version"]);
    expect(c["slbInternetEnabled"]).toBe(false);
    expect(c["auditLogConfig"]).toEqual({ enabled: true });
    expect(c["controlPlaneLogComponents"]).toEqual(["apiserver", "kcm", "scheduler", "ccm", "controlplane-events"]);
    expect(c["maintenanceWindow"]).toMatchObject({ enable: true, weeklyPeriod: "Saturday", duration: "4h" });
  });

  it("turns on Terway NetworkPolicy and installs the ACS virtual node", () => {
    expect(JSON.parse(addon(run, "terway-eniip")!.config!)).toEqual({ IPVlan: "false", NetworkPolicy: "true" });
    expect(addon(run, "ack-virtual-node")).toBeDefined();
    // HPA's CPU metrics.
    expect(addon(run, "metrics-server")).toBeDefined();
    expect(addon(run, "managed-aliyun-acr-credential-helper")).toBeDefined();
    expect(addon(run, "ack-pod-identity-webhook")).toBeDefined();
  });

  it("installs the ACS image-cache operator on the cluster", () => {
    // rbac.secret: true (ACS docs recommend it), spelt as the add-on's schema spells it.
    expect(run.one(T.addon, "-image-cache-operator").inputs).toEqual({ clusterId: idOf(run.one(T.cluster)), name: "image-cache-operator", config: JSON.stringify({ rbac: { secret: true } }) });
  });

  it("installs Poseidon as a managed add-on, so NetworkPolicies bind ACS pods on new and existing clusters", () => {
    // Its schema is read first; without acs.trafficPolicy it installs at its defaults (test/acs-traffic-policy.test.ts sets the switch).
    expect(run.one(T.addon, "-poseidon").inputs).toEqual({ clusterId: idOf(run.one(T.cluster)), name: "poseidon" });
  });

  it("puts node and pod vSwitches in distinct zones, three of each", () => {
    const switches = run.ofType(T.vswitch).map((s) => s.inputs);
    const nodes = switches.filter((s) => String(s["vswitchName"]).includes("-nodes-"));
    const pods = switches.filter((s) => String(s["vswitchName"]).includes("-pods-"));
    expect(new Set(nodes.map((s) => s["zoneId"]))).toEqual(new Set(["cn-hangzhou-i", "cn-hangzhou-j", "cn-hangzhou-k"]));
    expect(new Set(pods.map((s) => s["zoneId"])).size).toBe(3);
    expect(pods.map((s) => s["cidrBlock"])).toEqual(["10.32.0.0/19", "10.32.32.0/19", "10.32.64.0/19"]);
    expect(nodes.map((s) => s["cidrBlock"])).toEqual(["10.32.192.0/24", "10.32.193.0/24", "10.32.194.0/24"]);
    const cluster = run.one(T.cluster).inputs;
    expect(cluster["vswitchIds"]).toHaveLength(3);
    expect(cluster["podVswitchIds"]).toHaveLength(3);
  });

  it("gives every vSwitch a SNAT entry on the NAT gateway", () => {
    expect(run.one(T.nat).inputs).toMatchObject({ natType: "Enhanced", networkType: "internet" });
    expect(run.ofType(T.snat)).toHaveLength(6);
  });

  it("sizes the system node pool from config, with metadata in hardened mode only", () => {
    expect(run.one(T.nodePool).inputs).toMatchObject({
      scalingConfig: { enable: true, minSize: 3, maxSize: 6 },
      instanceMetadataOptions: { httpTokens: "required" },
    });
  });

  it("keeps the registry private, tag-immutable and linked to the VPC", () => {
    expect(run.one(T.acr).inputs).toMatchObject({ instanceName: "agentscope-prod", paymentType: "Subscription", instanceType: "Standard" });
    expect(run.one(T.acrNamespace).inputs).toMatchObject({ defaultVisibility: "PRIVATE", autoCreate: false });
    const repos = run.ofType(T.acrRepo).map((r) => r.inputs);
    // One repository per configured sandbox type, so mirrored sandbox images have somewhere to go.
    expect(repos.map((r) => r["name"]).sort()).toEqual(["agent", "runtime-sandbox-base", "sandbox-manager"]);
    expect(repos.every((r) => r["repoType"] === "PRIVATE" && r["tagImmutability"] === true)).toBe(true);
    expect(run.one(T.vpcLink).inputs).toMatchObject({ moduleName: "Registry", vpcId: idOf(run.one(T.vpc)) });
  });

  it("runs managed Redis in the VPC, allow-listed to the pod vSwitches only", () => {
    expect(run.one(T.redis).inputs).toMatchObject({
      vpcAuthMode: "Open",
      instanceReleaseProtection: true,
      securityIps: ["10.32.0.0/19", "10.32.32.0/19", "10.32.64.0/19"],
    });
    // Master and replica in two different zones.
    expect(run.one(T.redis).inputs).toMatchObject({ zoneId: "cn-hangzhou-i", secondaryZoneId: "cn-hangzhou-j" });
  });

  it("protects the cloud resources that hold data against pulumi destroy (test/prod-protect.test.ts: only those)", () => {
    expect(run.resources.filter(isProtected).map((r) => r.type).sort()).toEqual([T.acr, T.cluster, T.redis, T.vpc].sort());
  });

  it("exports the kubeconfig and push credentials as secrets", async () => {
    for (const key of ["kubeconfig", "registryPushUsername", "registryPushPassword"]) {
      const output = run.outputs[key] as pulumi.Output<string>;
      expect(await pulumi.isSecret(output), key).toBe(true);
    }
    // No pushFromCidrs: the internet endpoint stays off and images are pushed over the VPC endpoint.
    // ACR names its domains after the instance name.
    expect(await promiseOf(run.outputs["registryLoginServer"] as pulumi.Output<string>)).toBe("agentscope-prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com");
    expect(run.ofType("alicloud:cr/internetEndpoint:InternetEndpoint")).toEqual([]);
  });

  it("feeds the workload provider the secret kubeconfig", async () => {
    const provider = run.ofType(T.k8sProvider).find((p) => p.name.endsWith("-ack-k8s"))!;
    expect(provider.inputs["kubeconfig"]).toContain("kind: Config");
    // Provider inputs reach the engine still wrapped as a secret.
    expect(provider.secretPaths).toContain("kubeconfig");
    expect(await pulumi.isSecret(pulumi.output(provider.props!["kubeconfig"]))).toBe(true);
  });
});

describe("dev on Alibaba Cloud", async () => {
  const run = await runProgram(shippedStackConfig("dev"), "dev");

  it("adopts the shared ACR instance instead of buying one", () => {
    expect(run.ofType(T.acr)).toHaveLength(0);
    expect(run.one(T.acrNamespace).inputs).toMatchObject({ instanceId: "cri-agentscopedev7k2p", defaultVisibility: "PRIVATE" });
    expect(run.ofType(T.acrRepo).every((r) => r.inputs["tagImmutability"] === false)).toBe(true);
  });

  it("destroys cleanly: no deletion protection, no protect, cloud leftovers deleted", () => {
    const c = run.one(T.cluster).inputs;
    expect(c["deletionProtection"]).toBe(false);
    expect(c["deleteOptions"]).toContainEqual({ resourceType: "SLS_Data", deleteMode: "delete" });
    expect(run.resources.filter(isProtected)).toEqual([]);
  });

  it("admits scrapes from arms-prom, where ACK's managed Prometheus agent runs", () => {
    const scrape = run.ofType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .map((p) => p.inputs as { metadata: { name: string }; spec: { ingress?: { from?: { namespaceSelector?: { matchExpressions?: { values: string[] }[] } }[] }[] } })
      .filter((p) => p.metadata.name.endsWith("-metrics-scrape"));
    expect(scrape.length).toBeGreaterThan(0);
    for (const p of scrape) expect(p.spec.ingress![0]!.from![0]!.namespaceSelector!.matchExpressions![0]!.values).toEqual(["arms-prom"]);
  });

  it("uses in-cluster Redis, not a managed instance", () => {
    expect(run.ofType(T.redis)).toHaveLength(0);
  });

  it("gives managed Redis in its one zone no secondary zone (it would equal the first)", async () => {
    const managed = await runProgram({ ...shippedStackConfig("dev"), [`${PROJECT}:redis`]: JSON.stringify({ mode: "managed" }) }, "dev");
    const redis = managed.one(T.redis).inputs;
    expect(redis["zoneId"]).toBe("cn-hangzhou-i");
    expect(redis["secondaryZoneId"]).toBeUndefined();
  });
});

describe("local on any cluster", async () => {
  const run = await runProgram(shippedStackConfig("local"), "local");

  it("creates no Alibaba Cloud resource at all", () => {
    expect(run.resources.filter((r) => r.type.startsWith("alicloud:"))).toEqual([]);
  });

  it("hands the workloads a provider for the configured kube context", () => {
    const provider = run.one(T.k8sProvider);
    expect(provider.inputs["context"]).toBe("kind-agentscope");
  });
});

describe("a bad config", () => {
  it("stops the program before any resource is registered", async () => {
    const config = { ...shippedStackConfig("prod"), [`${PROJECT}:network`]: JSON.stringify({ zones: ["cn-hangzhou-i"] }) };
    let registered: ProgramRun | undefined;
    await expect(runProgram(config, "prod").then((r) => { registered = r; })).rejects.toThrow(
      "agentscope-ack:network.zones: needs at least 2 zone(s)",
    );
    expect(registered).toBeUndefined();
  });
});

describe("image caches switched off", async () => {
  const run = await runProgram({ ...shippedStackConfig("dev"), [`${PROJECT}:imageCache`]: "false" }, "dev");

  it("installs no image-cache operator", () => {
    // Poseidon, and the managed Prometheus agent that observability.metrics turns on by default.
    expect(run.ofType(T.addon).map((a) => a.inputs["name"]).sort()).toEqual(["ack-arms-prometheus", "poseidon"]);
  });
});

describe("adopting an existing VPC and ACK cluster", async () => {
  const run = await runProgram({
    ...shippedStackConfig("dev"),
    [`${PROJECT}:network`]: JSON.stringify({ existingVpcId: "vpc-bp1team", existingNodeVswitchIds: ["vsw-bp1nodes"], existingPodVswitchIds: ["vsw-bp1pods"] }),
    [`${PROJECT}:cluster`]: JSON.stringify({ existingClusterId: "c8a1b2c3d4e5f6a7b8" }),
  }, "dev");

  it("creates no VPC, vSwitch, NAT, cluster or node pool", () => {
    for (const type of [T.vpc, T.vswitch, T.nat, T.snat, T.cluster, T.nodePool]) expect(run.ofType(type), type).toEqual([]);
  });

  it("reaches the adopted cluster through its own temporary credential", async () => {
    expect(await promiseOf(run.outputs["clusterId"] as pulumi.Output<string>)).toBe("c8a1b2c3d4e5f6a7b8");
    expect(run.one(T.k8sProvider).secretPaths).toContain("kubeconfig");
  });

  it("still links the registry to the adopted VPC", () => {
    expect(run.one(T.vpcLink).inputs).toMatchObject({ vpcId: "vpc-bp1team", vswitchId: "vsw-bp1nodes" });
  });
});

describe("pushing from outside the VPC", async () => {
  const dev = shippedStackConfig("dev");
  const registry = { ...(JSON.parse(dev[`${PROJECT}:registry`]!) as object), pushFromCidrs: ["203.0.113.7/32"] };
  const run = await runProgram({ ...dev, [`${PROJECT}:registry`]: JSON.stringify(registry) }, "dev");

  it("enables ACR's internet endpoint as a resource, allow-listing only the pusher, so destroy switches it off", async () => {
    // cr.InternetEndpoint: Create enables the endpoint, Delete disables it (resource_alicloud_cr_internet_endpoint.go).
    expect(run.ofType("alicloud:cr/internetEndpoint:InternetEndpoint").map((p) => p.inputs)).toEqual([
      { instanceId: "cri-agentscopedev7k2p", entries: [{ entry: "203.0.113.7/32", comment: "pulumi image push" }] },
    ]);
    // No data-source read switches it on behind the stack's back (and leaves it on after destroy).
    expect(run.calls).not.toContain("alicloud:cr/getEndpointAclService:getEndpointAclService");
    expect(run.ofType("alicloud:cr/endpointAclPolicy:EndpointAclPolicy")).toEqual([]);
    // The double lists a public domain only while the internet endpoint is on.
    expect(await promiseOf(run.outputs["registryLoginServer"] as pulumi.Output<string>)).toBe("agentscope-shared-registry.cn-hangzhou.cr.aliyuncs.com");
  });
});

describe("an ACR credential helper config", () => {
  const withHelper = (config: Record<string, unknown>) => {
    const dev = shippedStackConfig("dev");
    const cluster = { ...(JSON.parse(dev[`${PROJECT}:cluster`]!) as object), acrCredentialHelperConfig: config };
    return runProgram({ ...dev, [`${PROJECT}:cluster`]: JSON.stringify(cluster) }, "dev");
  };

  it("is managed as a KubernetesAddon, so it reaches existing clusters", async () => {
    const run = await withHelper({ ExampleKey: "cri-agentscopedev7k2p" });
    expect(run.one(T.addon, "-acr-helper").inputs).toEqual({
      clusterId: idOf(run.one(T.cluster)),
      name: "managed-aliyun-acr-credential-helper",
      config: JSON.stringify({ ExampleKey: "cri-agentscopedev7k2p" }),
    });
  });
});

describe("prod agents on ACS behind an internal CLB", async () => {
  const run = await runProgram(shippedStackConfig("prod"), "prod");
  const podVswitchIds = () => ["i", "j", "k"].map((z) => idOf(run.one(T.vswitch, `-pods-cn-hangzhou-${z}`))).join(",");
  const agent = () => run.ofType("kubernetes:apps/v1:Deployment").find((d) => (d.inputs["metadata"] as { name: string }).name === "agent-friday")!.inputs as {
    spec: { template: { metadata: { annotations: Record<string, string> }; spec: { topologySpreadConstraints: { whenUnsatisfiable: string }[] } } };
  };

  it("puts the callers in a white-list CLB ACL and attaches it with CCM's annotations", () => {
    const acl = run.one("alicloud:slb/acl:Acl");
    expect(acl.inputs).toMatchObject({ name: "agentscope-agents", ipVersion: "ipv4" });
    expect(run.ofType("alicloud:slb/aclEntryAttachment:AclEntryAttachment").map((e) => e.inputs)).toEqual([
      { aclId: idOf(acl), entry: "172.20.0.0/16", comment: "agent callers" },
    ]);
    const lb = run.ofType("kubernetes:core/v1:Service").find((s) => (s.inputs["metadata"] as { name: string }).name === "agent-friday-lb")!.inputs as { metadata: { annotations: Record<string, string> }; spec: { loadBalancerSourceRanges: string[] } };
    expect(lb.metadata.annotations).toMatchObject({
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-status": "on",
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-id": idOf(acl),
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-type": "white",
    });
    expect(lb.spec.loadBalancerSourceRanges).toEqual(["172.20.0.0/16"]);
  });

  it("stamps agent pods with the pod vSwitches and spreads them with ScheduleAnyway on ACS", () => {
    const t = agent().spec.template;
    expect(t.metadata.annotations["network.alibabacloud.com/vswitch-ids"]).toBe(podVswitchIds());
    expect(t.spec.topologySpreadConstraints.map((c) => c.whenUnsatisfiable)).toEqual(["ScheduleAnyway"]);
  });

  it("stamps the sandbox manager's pods and the sandboxes it creates with the same pod vSwitches", () => {
    const vswitches = podVswitchIds();
    const manager = run.ofType("kubernetes:apps/v1:Deployment").find((d) => (d.inputs["metadata"] as { name: string }).name === "sandbox-manager")!.inputs as {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    expect(manager.spec.template.metadata.annotations["network.alibabacloud.com/vswitch-ids"]).toBe(vswitches);
    const extension = run.ofType("kubernetes:core/v1:ConfigMap").find((c) => (c.inputs["metadata"] as { name: string }).name === "sandbox-manager-extension")!.inputs as { data: Record<string, string> };
    const settings = JSON.parse(Object.values(extension.data)[0]!) as { annotations: Record<string, string> };
    expect(settings.annotations["network.alibabacloud.com/vswitch-ids"]).toBe(vswitches);
  });
});

describe("dev's in-cluster Redis on ACK", async () => {
  const run = await runProgram(shippedStackConfig("dev"), "dev");
  const k8s = (kind: string, name: string): unknown =>
    run.ofType(`kubernetes:${kind}`).find((r) => (r.inputs["metadata"] as { name: string }).name === name)!.inputs;

  it("governs the StatefulSet with a headless Service", () => {
    const sts = k8s("apps/v1:StatefulSet", "redis") as { spec: { serviceName: string } };
    expect(sts.spec.serviceName).toBe("redis-headless");
    expect((k8s("core/v1:Service", "redis-headless") as { spec: { clusterIP: string } }).spec.clusterIP).toBe("None");
  });

  it("claims a disk the CSI driver provisions (20 GiB on ACK's default disk class) and pulls Redis from the team's ACR over the VPC", () => {
    const sts = k8s("apps/v1:StatefulSet", "redis") as {
      spec: { volumeClaimTemplates: { spec: { storageClassName: string; resources: { requests: { storage: string } } } }[]; template: { spec: { containers: { image: string }[] } } };
    };
    // kubernetes-sigs/alibaba-cloud-csi-driver pkg/disk MinimumDiskSizeInGB = 20; ACK's StorageClass list.
    expect(sts.spec.volumeClaimTemplates[0]!.spec).toMatchObject({ storageClassName: "alicloud-disk-topology-alltype", resources: { requests: { storage: "20Gi" } } });
    expect(sts.spec.template.spec.containers[0]!.image).toMatch(/^agentscope-shared-registry-vpc\.cn-hangzhou\.cr\.aliyuncs\.com\/agentscope-dev\/redis@sha256:[0-9a-f]{64}$/);
    expect(run.ofType(T.acrRepo).map((r) => r.inputs["name"])).toContain("redis");
  });

  it("runs Redis on ACS like every other pod of the stack, so no pod needs pull credentials on an ECS node", () => {
    // Pods on ECS nodes pull from ACR EE only through the credential helper, which dev and prod leave
    // unconfigured (cluster.acrCredentialHelperConfig); on ACS they pull as the agents do.
    const sts = k8s("apps/v1:StatefulSet", "redis") as {
      spec: { template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { tolerations: { key: string }[] } } };
    };
    expect(sts.spec.template.metadata.labels).toMatchObject({ "alibabacloud.com/acs": "true" });
    expect(sts.spec.template.metadata.annotations).toMatchObject({ "alibabacloud.com/enable-network-policy-agent": "true" });
    expect(sts.spec.template.spec.tolerations.map((t) => t.key)).toContain("virtual-kubelet.io/provider");
  });
});

describe("agent pods roll when the gateway changes", async () => {
  const run = await runProgram(shippedStackConfig("dev"), "dev");

  it("carry the hash of the gateway ConfigMap's content", () => {
    const d = run.ofType("kubernetes:apps/v1:Deployment").find((r) => (r.inputs["metadata"] as { name: string }).name === "agent-friday")!.inputs as {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    const cm = run.ofType("kubernetes:core/v1:ConfigMap").find((r) => (r.inputs["metadata"] as { name: string }).name === "agent-friday-gateway")!.inputs as { data: Record<string, string> };
    expect(cm.data["gateway.py"]).toBe(readFileSync(join(__dirname, "..", "components", "assets", "gateway.py"), "utf-8"));
    expect(d.spec.template.metadata.annotations["agentscope.io/gateway-sha256"]).toBe(createHash("sha256").update(cm.data["gateway.py"]!).digest("hex"));
  });
});

describe("ACS rollouts", async () => {
  const run = await runProgram(shippedStackConfig("dev"), "dev");

  it("give agent Deployments on ACS more than the provider's 10-minute wait", () => {
    const d = run.ofType("kubernetes:apps/v1:Deployment").find((r) => (r.inputs["metadata"] as { name: string }).name === "agent-friday")!;
    expect(d.opts.customTimeouts).toEqual({ create: "20m", update: "20m" });
  });
});
