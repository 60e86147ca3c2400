import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { addonConfigSchema, checkedAddonConfig, schemaKeys } from "./addon-config";

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
  /**
   * Kubernetes version, e.g. 1.34.1-aliyun.1, only with autoUpgradeChannel "none" (default: left out,
   * so ACK takes the newest at creation and auto-upgrade moves it; see ACK_VERSION_SOURCE).
   */
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
  /**
   * Pods run on ACS through the virtual node: install Poseidon, which enforces NetworkPolicies for
   * virtual-node pods (Terway enforces them only on ECS nodes). Default true.
   */
  acsNetworkPolicy?: boolean;
  /**
   * Turn on Poseidon's TrafficPolicy feature (needs acsNetworkPolicy): POSEIDON_TRAFFIC_POLICY_CONFIG,
   * each key only where the add-on's own schema defines it, and TrafficPolicy required. Default false.
   */
  poseidonTrafficPolicy?: boolean;
  /**
   * Config of the managed ACR credential helper (instance id, region, namespaces and service accounts
   * that pull), as the add-on's own JSON schema names the keys. Checked against
   * `cs.getKubernetesAddonMetadata` at deploy time; unset leaves the add-on at its defaults.
   */
  acrCredentialHelperConfig?: Record<string, unknown>;
  /**
   * Install the managed Prometheus agent (MANAGED_PROMETHEUS_ADDON), which reports to Managed Service
   * for Prometheus (billed by ARMS) and can read the stack's ServiceMonitors. Default false.
   */
  managedPrometheus?: boolean;
  tags?: Record<string, string>;
  /** Pulumi `protect` on a new cluster itself (default false); node pool and add-ons stay unprotected. */
  protect?: boolean;
}

/**
 * The virtual-node add-on for ACS pods in an ACK Pro cluster, and the lowest version that serves ACS.
 * Source: ACK "Configure ACS computing resources for a Knative Service" (ACK managed clusters):
 * "ACK Virtual Node version 2.13.0 or later installed", and ACK One "Run Pods on ACS using virtual
 * nodes": "install the ack-virtual-node add-on". `acs-virtual-node` is the component of ACS's own
 * clusters (ACS docs "acs-virtual-node"), not of ACK.
 */
export const VIRTUAL_NODE_ADDON = "ack-virtual-node";
export const VIRTUAL_NODE_MIN_VERSION = "2.13.0";

/**
 * Poseidon enforces NetworkPolicy for ACS pods. Source: ACK "Poseidon changelog"
 * (help.aliyun.com/en/ack/product-overview/poseidon): "NetworkPolicy is supported only in ACK
 * Serverless clusters, on ECI in ACK clusters, and on ACS CPU instances"; ACK "Use network policies"
 * (ACK Serverless): "In elastic container instances of ... ACK Pro clusters, network policies are
 * implemented by Poseidon". The add-on name is the changelog's slug and the console card's title;
 * its config keys are unverified, so it is installed at its defaults.
 */
export const POSEIDON_ADDON = "poseidon";

/**
 * Poseidon's config with its TrafficPolicy feature on, as Alibaba's own ACS template sets it
 * (aliyun-computenest/openclaw-acs-sandbox, acs-production.yaml @ d8649933, lines 1592-1594:
 * `Config: '{"TrafficPolicy":true,"NetworkPolicy":true,"ACKNetworkPolicy":true}'`); the ACK page
 * "使用TrafficPolicy管理Agent网络访问" requires "组件版本为v0.7.0或更高,已开启TrafficPolicy功能".
 * NetworkPolicy stays on: the stack's NetworkPolicies bind every other ACS pod.
 */
export const POSEIDON_TRAFFIC_POLICY_CONFIG: Readonly<Record<string, boolean>> = { TrafficPolicy: true, NetworkPolicy: true, ACKNetworkPolicy: true };

/** POSEIDON_TRAFFIC_POLICY_CONFIG's keys that the installed Poseidon's schema defines; TrafficPolicy must be one. */
export function poseidonTrafficPolicyConfig(schemaText: string): string {
  const known = schemaKeys(POSEIDON_ADDON, schemaText);
  if (!known.includes("TrafficPolicy")) {
    throw new Error(`AckCluster: this cluster's ${POSEIDON_ADDON} add-on has no TrafficPolicy switch in its config schema (known: ${known.join(", ") || "none"}); acs.trafficPolicy needs Poseidon >= v0.7.0`);
  }
  const config = Object.fromEntries(Object.entries(POSEIDON_TRAFFIC_POLICY_CONFIG).filter(([k]) => known.includes(k)));
  return checkedAddonConfig(POSEIDON_ADDON, schemaText, config);
}
/**
 * The managed Prometheus add-on. Source: ACK "Introduction and release notes for ack-arms-prometheus"
 * (alibabacloud.com/help/en/ack/product-overview/ack-arms-prometheus): "a monitoring component provided
 * by ACK to integrate with Managed Service for Prometheus". It reads ServiceMonitor and PodMonitor
 * objects once "Service Monitor"/"Pod Monitor" is enabled in the ARMS console (Managed Service for
 * Prometheus "Use ServiceMonitor to collect metrics": "ServiceMonitor is disabled by default"), and
 * PrometheusRule objects only with the plug-in's PrometheusRule sync turned on ("Use a PrometheusRule
 * to create an alert rule": "By default, Managed Service for Prometheus does not read PrometheusRules
 * created in Kubernetes"). Its config keys are not verified here, so it is installed at its defaults.
 */
export const MANAGED_PROMETHEUS_ADDON = "ack-arms-prometheus";
/** Managed ACR credential helper (provider's own ACK example lists this name). */
export const ACR_HELPER_ADDON = "managed-aliyun-acr-credential-helper";

/**
 * `version` with auto-upgrade. Source: @pulumi/alicloud cs/managedKubernetes.d.ts `version`: "If you do
 * not specify a value, the latest available version at resource creation is used ... Do not specify if
 * cluster auto upgrade is enabled"; Terraform docs (operation_policy): "The `version` field may show
 * diffs if set in config, please remove the field or ignore it."
 */
export const ACK_VERSION_SOURCE = "cs/managedKubernetes.d.ts version";

/** Add-ons installed at creation (names from ACK docs; see platform-facts.md). */
export const ACK_ADDONS: readonly alicloud.types.input.cs.ManagedKubernetesAddon[] = [
  // Terway in shared-ENI mode enforces NetworkPolicy; IPVlan off keeps policy support on every OS image.
  { name: "terway-eniip", config: JSON.stringify({ IPVlan: "false", NetworkPolicy: "true" }) },
  { name: "terway-controlplane" },
  // HPA scales on CPU from the resource metrics API. The provider's own example (cs/managedKubernetes.d.ts)
  // lists this add-on; whether ACK installs it unlisted is unverified, so it is listed.
  { name: "metrics-server" },
  // The virtual node schedules pods onto ACS (ACK installs its current version, above VIRTUAL_NODE_MIN_VERSION).
  { name: VIRTUAL_NODE_ADDON },
  // Password-free pulls from ACR EE; its config (instance, namespaces, service accounts) is managed as a
  // cs.KubernetesAddon below, because `addons` here applies at creation only.
  { name: ACR_HELPER_ADDON },
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
  readonly acsNetworkPolicy: boolean;
  readonly poseidonTrafficPolicy: boolean;
  readonly tags: Record<string, string>;
}

export function resolveAckClusterArgs(name: string, args: AckClusterArgs): ResolvedAckClusterArgs {
  const ttlHours = args.credentialTtlHours ?? 24;
  if (ttlHours < 1 || ttlHours > 72) throw new Error(`AckCluster: credentialTtlHours must be 1 to 72 (ACK's limit is 4320 minutes), got ${ttlHours}`);
  if (args.existingClusterId === undefined) {
    if (args.vswitchIds === undefined || args.podVswitchIds === undefined) {
      throw new Error("AckCluster: vswitchIds and podVswitchIds are required to create a cluster");
    }
    if (args.version !== undefined && (args.autoUpgradeChannel ?? "patch") !== "none") {
      throw new Error(`AckCluster: version ${args.version} conflicts with auto-upgrade (channel ${args.autoUpgradeChannel ?? "patch"}): leave version out, or set autoUpgradeChannel "none" to pin it (${ACK_VERSION_SOURCE})`);
    }
    const pool = args.systemNodePool;
    // @pulumi/alicloud NodePool scalingConfig.maxSize: "`maxSize` has to be greater than `minSize`".
    if (pool && pool.minSize >= pool.maxSize) throw new Error(`AckCluster: systemNodePool.maxSize (${pool.maxSize}) must be greater than minSize (${pool.minSize})`);
  }
  if (args.poseidonTrafficPolicy && args.acsNetworkPolicy === false) throw new Error("AckCluster: poseidonTrafficPolicy needs acsNetworkPolicy (the Poseidon add-on)");
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
    acsNetworkPolicy: args.acsNetworkPolicy ?? true,
    poseidonTrafficPolicy: args.poseidonTrafficPolicy ?? false,
    tags: args.tags ?? {},
  };
}

/** The RAM role ACK's console authorisation creates for auto-scaling node pools (cs/nodePool.d.ts). */
export const AUTOSCALER_ROLE = "AliyunCSManagedAutoScalerRole";
export const AUTOSCALER_ROLE_CONSOLE = "https://ram.console.aliyun.com/role/authorization?request=%7B%22Services%22%3A%5B%7B%22Service%22%3A%22CS%22%2C%22Roles%22%3A%5B%7B%22RoleName%22%3A%22AliyunCSManagedAutoScalerRole%22%2C%22TemplateId%22%3A%22AliyunCSManagedAutoScalerRole%22%7D%5D%7D%5D%2C%22ReturnUrl%22%3A%22https%3A%2F%2Fcs.console.aliyun.com%2F%22%7D";

/** True when the account's role names include AUTOSCALER_ROLE; throws with the console link otherwise. */
export function requireAutoscalerRole(roleNames: readonly string[]): true {
  if (!roleNames.includes(AUTOSCALER_ROLE)) {
    throw new Error(`AckCluster: the system node pool auto-scales, which needs the RAM role ${AUTOSCALER_ROLE}: authorise it once per account at ${AUTOSCALER_ROLE_CONSOLE}`);
  }
  return true;
}

/** Resolves once the account has AUTOSCALER_ROLE (ram.getRoles matches nameRegex on RoleName); fails the `up` and preview otherwise. */
function autoscalerRoleAuthorised(parent: pulumi.Resource): pulumi.Output<true> {
  return alicloud.ram.getRolesOutput({ nameRegex: `^${AUTOSCALER_ROLE}$` }, { parent }).names.apply(requireAutoscalerRole);
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
    this.manageAddons(name, args, r);
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

  /**
   * Add-ons whose config must reach existing (and adopted) clusters: `addons` on the cluster is
   * create-only, so these are cs.KubernetesAddon resources.
   */
  private manageAddons(name: string, args: AckClusterArgs, r: ResolvedAckClusterArgs): void {
    const parent = { parent: this };
    if (r.acsNetworkPolicy) {
      // Read first, so a cluster that does not offer Poseidon stops the `up` with the add-on named.
      const schema = addonConfigSchema(this.clusterId, POSEIDON_ADDON, parent);
      new alicloud.cs.KubernetesAddon(`${name}-poseidon`, {
        clusterId: this.clusterId,
        name: POSEIDON_ADDON,
        config: schema.apply((text) => {
          if (r.poseidonTrafficPolicy) return poseidonTrafficPolicyConfig(text);
          const keys = schemaKeys(POSEIDON_ADDON, text);
          if (keys.length > 0) void pulumi.log.info(`${POSEIDON_ADDON}: installed at its defaults; its config schema offers ${keys.join(", ")}`, this);
          return undefined;
        }),
      }, parent);
    }
    if (args.managedPrometheus) {
      new alicloud.cs.KubernetesAddon(`${name}-managed-prometheus`, { clusterId: this.clusterId, name: MANAGED_PROMETHEUS_ADDON }, parent);
    }
    const helper = args.acrCredentialHelperConfig;
    if (helper !== undefined) {
      const schema = addonConfigSchema(this.clusterId, ACR_HELPER_ADDON, parent);
      new alicloud.cs.KubernetesAddon(`${name}-acr-helper`, {
        clusterId: this.clusterId,
        name: ACR_HELPER_ADDON,
        config: schema.apply((text) => checkedAddonConfig(ACR_HELPER_ADDON, text, helper)),
      }, parent);
    }
  }

  private createCluster(name: string, args: AckClusterArgs, r: ResolvedAckClusterArgs) {
    const deleteMode = r.deleteCloudResourcesOnDestroy ? "delete" : "retain";
    const cluster = new alicloud.cs.ManagedKubernetes(`${name}-cluster`, {
      name: r.clusterName,
      clusterSpec: r.clusterSpec,
      // Only a pinned cluster (auto-upgrade off) names its version; see ACK_VERSION_SOURCE.
      ...(args.version !== undefined ? { version: args.version } : {}),
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
    }, { parent: this, protect: args.protect ?? false, ignoreChanges: r.autoUpgradeChannel === "none" ? ["addons"] : ["addons", "version"] });

    const pool = args.systemNodePool;
    if (pool) {
      // An auto-scaling pool scales only with ACK's autoscaler authorised and configured (cs/nodePool.d.ts:
      // "ACK adds a new RamRole (AliyunCSManagedAutoScalerRole) for the permission control of the node pool
      // with auto-scaling enabled"); the pool waits for both.
      const authorised = autoscalerRoleAuthorised(this);
      const autoscaler = new alicloud.cs.AutoscalingConfig(`${name}-autoscaler`, {
        clusterId: pulumi.all([cluster.id, authorised]).apply(([id]) => id),
        // The provider's defaults (resource_alicloud_cs_autoscaling_config.go), stated so a diff shows them.
        scalerType: "cluster-autoscaler",
        expander: "least-waste",
        scaleDownEnabled: true,
      }, { parent: this });
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
      }, { parent: this, dependsOn: [autoscaler] });
    }
    return cluster;
  }
}
