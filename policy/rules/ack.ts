/**
 * Rule group 1: the ACK cluster. A Pro control plane, Terway with NetworkPolicy (without it every
 * NetworkPolicy is silently ignored for pods on ECS nodes; ACS pods need Poseidon, see acs-network.ts),
 * the ACK virtual node at a version that serves ACS, no pinned version under auto-upgrade, and, in
 * production, deletion protection and API-server audit logs.
 *
 * Property names come from @pulumi/alicloud 3.108.0 (cs/managedKubernetes.d.ts, cs/kubernetesAddon.d.ts);
 * the add-on name and config from ACK's Terway docs (see shared/reference/platform-facts.md).
 */
import type { Props } from "./common";
import { asArray, asObject, asString, describe, isTrue } from "./common";

export const ACK_TYPES = {
  managedKubernetes: "alicloud:cs/managedKubernetes:ManagedKubernetes",
  kubernetesAddon: "alicloud:cs/kubernetesAddon:KubernetesAddon",
} as const;

/** The Terway add-on that enforces NetworkPolicy, and the config that turns it on. */
export const TERWAY_ADDON = "terway-eniip";
export const TERWAY_CONFIG = JSON.stringify({ IPVlan: "false", NetworkPolicy: "true" });
/**
 * The virtual node for ACS pods on ACK Pro, and its lowest version serving ACS. Source: ACK "Configure
 * ACS computing resources for a Knative Service": "ACK Virtual Node version 2.13.0 or later";
 * `acs-virtual-node` is the component of ACS's own clusters (ACS docs "acs-virtual-node").
 */
export const VIRTUAL_NODE_ADDON = "ack-virtual-node";
export const VIRTUAL_NODE_MIN_VERSION = "2.13.0";
/** Network plug-ins that cannot enforce NetworkPolicy on ACK. */
const NON_POLICY_CNIS = ["flannel"];

export interface AckRuleConfig {
  /** Production-only checks (deletion protection, audit logs) apply. */
  readonly production: boolean;
}

/** Violations of the cluster rules for one resource; empty for other types. */
export function checkAckCluster(type: string, props: Props, config: AckRuleConfig): string[] {
  if (type === ACK_TYPES.managedKubernetes) return checkManagedKubernetes(props, config);
  if (type === ACK_TYPES.kubernetesAddon) return checkTerwayAddon(props);
  return [];
}

function checkManagedKubernetes(props: Props, config: AckRuleConfig): string[] {
  const what = describe(ACK_TYPES.managedKubernetes, props);
  const out: string[] = [];

  const spec = asString(props.clusterSpec);
  if (spec === undefined || !spec.startsWith("ack.pro.")) {
    out.push(
      `${what}: clusterSpec is ${spec === undefined ? "not set (ACK then creates a Basic cluster)" : JSON.stringify(spec)}, not an ACK Pro spec. ` +
        `Fix: set clusterSpec to "ack.pro.small" (or another ack.pro.* tier); ACS pods, SLA and audit features need ACK Pro.`,
    );
  }

  const addons = asArray(props.addons).map(asObject).filter((a): a is Props => a !== undefined && !isTrue(a.disabled));
  const terway = addons.filter((a) => asString(a.name)?.startsWith("terway-eni"));
  const otherCni = addons.map((a) => asString(a.name)).filter((n): n is string => n !== undefined && NON_POLICY_CNIS.includes(n));
  if (otherCni.length > 0) {
    out.push(
      `${what}: installs the ${otherCni.join(", ")} network plug-in, which does not enforce NetworkPolicy. ` +
        `Fix: replace it with {name: "${TERWAY_ADDON}", config: '${TERWAY_CONFIG}'} in addons.`,
    );
  }
  if (terway.length === 0) {
    out.push(
      `${what}: addons has no Terway add-on, so NetworkPolicies would not be enforced. ` +
        `Fix: add {name: "${TERWAY_ADDON}", config: '${TERWAY_CONFIG}'} to addons.`,
    );
  }
  for (const addon of terway) out.push(...terwayConfigViolations(what, addon));
  for (const addon of addons) out.push(...virtualNodeViolations(what, addon));

  // Provider docs (cs.ManagedKubernetes `version`): "Do not specify if cluster auto upgrade is enabled".
  const autoUpgrade = asObject(asObject(props.operationPolicy)?.clusterAutoUpgrade);
  const version = asString(props.version);
  if (version !== undefined && isTrue(autoUpgrade?.enabled)) {
    out.push(
      `${what}: sets version ${JSON.stringify(version)} while cluster auto-upgrade is on, so each run fights the upgrades (or attempts a downgrade). ` +
        `Fix: leave version out (and ignoreChanges ["version"]), or turn auto-upgrade off to pin it.`,
    );
  }

  if (config.production) {
    if (props.deletionProtection !== true) {
      out.push(
        `${what}: deletionProtection is ${JSON.stringify(props.deletionProtection ?? null)} in a production stack, so one API call can delete the cluster. ` +
          `Fix: set deletionProtection: true.`,
      );
    }
    const audit = asObject(props.auditLogConfig);
    if (!isTrue(audit?.enabled)) {
      out.push(
        `${what}: API-server audit logs are off (auditLogConfig.enabled is ${JSON.stringify(audit?.enabled ?? null)}) in a production stack. ` +
          `Fix: set auditLogConfig: {enabled: true} (optionally slsProjectName).`,
      );
    }
  }
  return out;
}

/** A cluster add-on managed on its own after creation: Terway needs NetworkPolicy on; the virtual node a version that serves ACS. */
function checkTerwayAddon(props: Props): string[] {
  const what = describe(ACK_TYPES.kubernetesAddon, props);
  if (!asString(props.name)?.startsWith("terway-eni")) return virtualNodeViolations(what, props);
  return terwayConfigViolations(what, props);
}

/** Numeric parts of a version such as v2.13.0 or 2.12.0-acs.8. */
function versionParts(v: string): number[] {
  return (v.replace(/^v/, "").split(/[-+]/)[0] ?? "").split(".").map(Number);
}

function versionBelow(v: string, min: string): boolean {
  const [a, b] = [versionParts(v), versionParts(min)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (Number.isNaN(d)) return false;
    if (d !== 0) return d < 0;
  }
  return false;
}

function virtualNodeViolations(what: string, addon: Props): string[] {
  const name = asString(addon.name);
  if (name === "acs-virtual-node") {
    return [`${what}: installs acs-virtual-node, the component of ACS clusters; an ACK Pro cluster runs ACS pods through ${VIRTUAL_NODE_ADDON}. Fix: use {name: "${VIRTUAL_NODE_ADDON}"}.`];
  }
  const version = asString(addon.version);
  if (name === VIRTUAL_NODE_ADDON && version !== undefined && version !== "" && versionBelow(version, VIRTUAL_NODE_MIN_VERSION)) {
    return [`${what}: ${VIRTUAL_NODE_ADDON} ${version} is older than ${VIRTUAL_NODE_MIN_VERSION}, the first version that runs ACS pods on ACK. Fix: leave version out (ACK installs its current one) or use ${VIRTUAL_NODE_MIN_VERSION} or later.`];
  }
  return [];
}

function terwayConfigViolations(what: string, addon: Props): string[] {
  const name = asString(addon.name) ?? TERWAY_ADDON;
  const raw = asString(addon.config);
  let parsed: Props | undefined;
  if (raw !== undefined) {
    try {
      parsed = asObject(JSON.parse(raw));
    } catch {
      return [`${what}: the ${name} add-on config is not JSON (${JSON.stringify(raw)}). Fix: set config to '${TERWAY_CONFIG}'.`];
    }
  }
  if (!isTrue(parsed?.NetworkPolicy)) {
    return [
      `${what}: the ${name} add-on has NetworkPolicy ${parsed?.NetworkPolicy === undefined ? "unset" : JSON.stringify(parsed.NetworkPolicy)}, so Terway would not enforce NetworkPolicies. ` +
        `Fix: set its config to '${TERWAY_CONFIG}'.`,
    ];
  }
  return [];
}
