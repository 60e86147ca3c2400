import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type AckClusterSpec = "ack.pro.small" | "ack.pro.xlarge" | "ack.standard";
export type Weekday = "Monday" | "Tuesday" | "Wednesday" | "Thursday" | "Friday" | "Saturday" | "Sunday";

/** An ACK Pro cluster with Terway NetworkPolicy, the ACS virtual node and a system node pool, or an adopted one. */
export interface AckClusterArgs {
  /** Adopt this cluster instead of creating one: only its credentials and provider are produced. */
  existingClusterId?: pulumi.Input<string>;
  /** Cluster name (default: the component name). */
  clusterName?: string;
  /** Cluster tier (default ack.pro.small). */
  clusterSpec?: AckClusterSpec;
  /** Kubernetes version, e.g. 1.34.1-aliyun.1 (default: the newest ACK offers). */
  version?: string;
  /** Node vSwitches, one per zone. */
  vswitchIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Terway pod vSwitches, one per zone (create-only). */
  podVswitchIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Service CIDR, outside the VPC (default 192.168.0.0/16). */
  serviceCidr?: string;
  /** kube-proxy mode (default ipvs). */
  proxyMode?: "ipvs" | "iptables";
  /** Refuse cluster deletion through the API (default true). */
  deletionProtection?: boolean;
  /** API server audit logs to SLS (default true). */
  auditLogs?: boolean;
  /** Control-plane component logs to SLS (default true). */
  controlPlaneLogs?: boolean;
  /** Days SLS keeps control-plane logs (default 30). */
  logTtlDays?: number;
  /** When ACK may run managed upgrades (default Saturday 02:00 +08:00 for 4h). */
  maintenanceWindow?: { weeklyPeriod: Weekday[]; startTime: string; duration: string };
  /** Automatic patch upgrades channel, or none (default patch). */
  autoUpgradeChannel?: "patch" | "stable" | "rapid" | "none";
  /** The ECS pool for system pods (CoreDNS, Terway, controllers); agents and sandboxes run on ACS. */
  systemNodePool?: {
    instanceTypes: string[];
    minSize: number;
    maxSize: number;
    systemDiskSizeGiB?: number;
    systemDiskCategory?: string;
  };
  /** Delete the cluster's SLS projects and load balancers with it (default false: retain). */
  deleteCloudResourcesOnDestroy?: boolean;
  /** Hours the kubeconfig's temporary credential lasts; re-read on every run (default 24, at most 72). */
  credentialTtlHours?: number;
  tags?: Record<string, string>;
}

/** Add-ons installed at creation (names from ACK docs; see platform-facts.md). */
export const ACK_ADDONS: readonly alicloud.types.input.cs.ManagedKubernetesAddon[] = [
  // Terway in shared-ENI mode enforces NetworkPolicy; IPVlan off keeps policy support on every OS image.
  { name: "terway-eniip", config: JSON.stringify({ IPVlan: "false", NetworkPolicy: "true" }) },
  { name: "terway-controlplane" },
  // The virtual node schedules pods onto ACS (needs 2.13.0+ for ACS on ACK; ACK installs its current version).
  { name: "ack-virtual-node" },
  // Password-free pulls from ACR EE: the instance list is configured in the add-on (its config schema is
  // unverified, so it is left at defaults; see alicloud.cs.getKubernetesAddonMetadata).
  { name: "managed-aliyun-acr-credential-helper" },
  // RRSA: pods get RAM roles through their ServiceAccount, never the node's role.
  { name: "ack-pod-identity-webhook" },
  { name: "csi-plugin" },
  { name: "managed-csiprovisioner" },
  { name: "loongcollector" },
];

export interface ResolvedAckClusterArgs {
  readonly clusterName: string;
  readonly clusterSpec: AckClusterSpec;
  readonly serviceCidr: string;
  readonly proxyMode: "ipvs" | "iptables";
  readonly deletionProtection: boolean;
  readonly auditLogs: boolean;
  readonly controlPlaneLogs: boolean;
  readonly logTtlDays: number;
  readonly maintenanceWindow: { weeklyPeriod: Weekday[]; startTime: string; duration: string };
  readonly autoUpgradeChannel: "patch" | "stable" | "rapid" | "none";
  readonly deleteCloudResourcesOnDestroy: boolean;
  readonly credentialTtlMinutes: number;
  readonly tags: Record<string, string>;
}

export function resolveAckClusterArgs(name: string, args: AckClusterArgs): ResolvedAckClusterArgs {
  const ttlHours = args.credentialTtlHours ?? 24;
  if (ttlHours < 1 || ttlHours > 72) throw new Error(`AckCluster: credentialTtlHours must be 1 to 72 (ACK's limit is 4320 minutes), got ${ttlHours}`);
  if (args.existingClusterId === undefined) {
    if (args.vswitchIds === undefined || args.podVswitchIds === undefined) {
      throw new Error("AckCluster: vswitchIds and podVswitchIds are required to create a cluster");
    }
    const pool = args.systemNodePool;
    if (pool && pool.minSize > pool.maxSize) throw new Error(`AckCluster: systemNodePool.minSize (${pool.minSize}) exceeds maxSize (${pool.maxSize})`);
  }
  return {
    clusterName: args.clusterName ?? name,
    clusterSpec: args.clusterSpec ?? "ack.pro.small",
    serviceCidr: args.serviceCidr ?? "192.168.0.0/16",
    proxyMode: args.proxyMode ?? "ipvs",
    deletionProtection: args.deletionProtection ?? true,
    auditLogs: args.auditLogs ?? true,
    controlPlaneLogs: args.controlPlaneLogs ?? true,
    logTtlDays: args.logTtlDays ?? 30,
    maintenanceWindow: args.maintenanceWindow ?? { weeklyPeriod: ["Saturday"], startTime: "2026-01-03T02:00:00+08:00", duration: "4h" },
    autoUpgradeChannel: args.autoUpgradeChannel ?? "patch",
    deleteCloudResourcesOnDestroy: args.deleteCloudResourcesOnDestroy ?? false,
    credentialTtlMinutes: ttlHours * 60,
    tags: args.tags ?? {},
  };
}

/** The highest `x.y.z-aliyun.n` version in a list (ACK returns them unordered). */
export function newestVersion(versions: readonly string[]): string {
  const key = (v: string) => (v.match(/\d+/g) ?? []).map(Number);
  const sorted = [...versions].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = (x[i] ?? 0) - (y[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  });
  const newest = sorted[sorted.length - 1];
  if (!newest) throw new Error("AckCluster: ACK offered no Kubernetes version for ManagedKubernetes");
  return newest;
}

export class AckCluster extends pulumi.ComponentResource {
  public readonly clusterId: pulumi.Output<string>;
  /** Temporary kubeconfig (a secret), re-read on every run. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** Provider for workloads on this cluster. */
  public readonly provider: k8s.Provider;
  /** The cluster's API server address inside the VPC (empty for an adopted cluster until read). */
  public readonly apiServerIntranet: pulumi.Output<string>;
  /** RRSA OIDC provider ARN, for RAM roles that pods assume. */
  public readonly rrsaOidcProviderArn: pulumi.Output<string | undefined>;
  public readonly version: pulumi.Output<string | undefined>;

  constructor(name: string, args: AckClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:alicloud:AckCluster", name, {}, opts);
    const r = resolveAckClusterArgs(name, args);

    if (args.existingClusterId !== undefined) {
      this.clusterId = pulumi.output(args.existingClusterId);
      this.apiServerIntranet = pulumi.output("");
      this.rrsaOidcProviderArn = pulumi.output(undefined);
      this.version = pulumi.output(undefined);
    } else {
      const cluster = this.createCluster(name, args, r);
      this.clusterId = cluster.id;
      this.apiServerIntranet = cluster.connections.apiServerIntranet;
      this.rrsaOidcProviderArn = cluster.rrsaMetadata.ramOidcProviderArn;
      this.version = cluster.version;
    }

    const credential = alicloud.cs.getClusterCredentialOutput(
      { clusterId: this.clusterId, temporaryDurationMinutes: r.credentialTtlMinutes },
      { parent: this },
    );
    this.kubeconfig = pulumi.secret(credential.kubeConfig);
    this.provider = new k8s.Provider(`${name}-k8s`, {
      kubeconfig: this.kubeconfig,
      // Server-side apply lets the add-ons and our objects share fields without fighting.
      enableServerSideApply: true,
    }, { parent: this });

    this.registerOutputs({
      clusterId: this.clusterId,
      kubeconfig: this.kubeconfig,
      apiServerIntranet: this.apiServerIntranet,
      rrsaOidcProviderArn: this.rrsaOidcProviderArn,
      version: this.version,
    });
  }

  private createCluster(name: string, args: AckClusterArgs, r: ResolvedAckClusterArgs) {
    const version = args.version
      ?? alicloud.cs.getKubernetesVersionOutput({ clusterType: "ManagedKubernetes" }, { parent: this })
        .metadatas.apply((m) => newestVersion(m.map((x) => x.version)));
    const deleteMode = r.deleteCloudResourcesOnDestroy ? "delete" : "retain";
    const cluster = new alicloud.cs.ManagedKubernetes(`${name}-cluster`, {
      name: r.clusterName,
      clusterSpec: r.clusterSpec,
      version,
      vswitchIds: args.vswitchIds,
      podVswitchIds: args.podVswitchIds,
      serviceCidr: r.serviceCidr,
      proxyMode: r.proxyMode,
      // Nodes reach the internet through the Network's NAT gateway; the API server stays private.
      newNatGateway: false,
      slbInternetEnabled: false,
      isEnterpriseSecurityGroup: true,
      enableRrsa: true,
      deletionProtection: r.deletionProtection,
      addons: [...ACK_ADDONS],
      controlPlaneLogComponents: r.controlPlaneLogs ? ["apiserver", "kcm", "scheduler", "ccm", "controlplane-events"] : [],
      controlPlaneLogTtl: r.controlPlaneLogs ? String(r.logTtlDays) : undefined,
      auditLogConfig: { enabled: r.auditLogs },
      maintenanceWindow: {
        enable: true,
        weeklyPeriod: r.maintenanceWindow.weeklyPeriod.join(","),
        maintenanceTime: r.maintenanceWindow.startTime,
        duration: r.maintenanceWindow.duration,
      },
      operationPolicy: {
        clusterAutoUpgrade: r.autoUpgradeChannel === "none" ? { enabled: false } : { enabled: true, channel: r.autoUpgradeChannel },
      },
      deleteOptions: ["SLB", "ALB", "SLS_Data", "SLS_ControlPlane"].map((resourceType) => ({ resourceType, deleteMode })),
      tags: r.tags,
    }, { parent: this, ignoreChanges: ["addons"] });

    const pool = args.systemNodePool;
    if (pool) {
      new alicloud.cs.NodePool(`${name}-system`, {
        clusterId: cluster.id,
        nodePoolName: "system",
        vswitchIds: args.vswitchIds,
        instanceTypes: pool.instanceTypes,
        systemDiskCategory: pool.systemDiskCategory ?? "cloud_essd",
        systemDiskSize: pool.systemDiskSizeGiB ?? 120,
        scalingConfig: { enable: true, minSize: pool.minSize, maxSize: pool.maxSize },
        management: { enable: true, autoRepair: true, autoUpgrade: true, maxUnavailable: 1 },
        // Nodes answer metadata only in hardened mode (IMDSv2), so a stray pod cannot read the node's role.
        instanceMetadataOptions: { httpTokens: "required" },
        labels: [{ key: "agentscope.io/pool", value: "system" }],
        tags: r.tags,
      }, { parent: this });
    }
    return cluster;
  }
}
