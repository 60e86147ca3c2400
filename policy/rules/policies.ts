/**
 * The pack's policies as data: name, description, config schema and a check over plain values.
 * index.ts turns each into a @pulumi/policy policy; tests run the same list over a whole stack.
 */
import type { Props, StackResource, StackViolation } from "./common";
import { asObject, asString, asStringArray, asStringMap, resolveProduction } from "./common";
import { checkAckCluster } from "./ack";
import { checkAcrPullsOverVpc, checkAcrResource } from "./acr";
import { checkAcsPlacement } from "./acs";
import { checkAcsNetworkPolicies } from "./acs-network";
import { checkNamespaceDefaultDeny, checkSandboxEgress } from "./network";
import { EGRESS_PROXY_POD_LABELS, SANDBOX_POD_LABELS, checkSandboxAllowList } from "./sandbox-egress";
import type { SandboxEgressConfig } from "./network";
import { checkSecretReadScope, checkRbac } from "./rbac";
import { checkLoadBalancer, checkMetricsExposure } from "./services";
import { DEFAULT_ALLOWED_REGISTRIES, checkWorkload } from "./workloads";

/** The subset of JSON Schema that @pulumi/policy accepts for policy config. */
export interface JsonSchema {
  type?: "string" | "number" | "integer" | "boolean" | "object" | "array" | "null";
  description?: string;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  default?: string | number | boolean | string[] | Record<string, string>;
}

export interface ConfigSchema {
  properties: Record<string, JsonSchema>;
  required?: string[];
}

/** What the engine hands a policy: its config (after --policy-pack-config) and the stack's tags. */
export interface PolicyContext {
  readonly config: Props;
  readonly stackTags: ReadonlyMap<string, string>;
}

interface RuleBase {
  readonly name: string;
  readonly description: string;
  readonly severity: "low" | "medium" | "high" | "critical";
  readonly configSchema?: ConfigSchema;
  readonly remediationSteps: string;
}

export interface ResourceRule extends RuleBase {
  readonly kind: "resource";
  check(type: string, props: Props, ctx: PolicyContext): string[];
}

export interface StackRule extends RuleBase {
  readonly kind: "stack";
  check(resources: readonly StackResource[], ctx: PolicyContext): StackViolation[];
}

export type Rule = ResourceRule | StackRule;

// ---------------------------------------------------------------------------------------------
// Config

/** The stack tag read when a policy's config does not set `production`. */
export const ENVIRONMENT_TAG = "environment";

const productionSchema: JsonSchema = {
  type: "boolean",
  description:
    "Apply the production-only checks. Unset: taken from the stack tag `environment` (prod or production means true, any other value false); with no tag either, true.",
};

const stringList = (description: string, dflt: string[]): JsonSchema => ({ type: "array", items: { type: "string" }, description, default: dflt });
const labelMap = (description: string, dflt?: Record<string, string>): JsonSchema => ({
  type: "object",
  additionalProperties: { type: "string" },
  description,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export function production(ctx: PolicyContext): boolean {
  return resolveProduction(ctx.config.production, ctx.stackTags.get(ENVIRONMENT_TAG));
}

/** Sandbox namespaces carry this label (components/workload/namespaces.ts). */
export const DEFAULT_SANDBOX_NAMESPACE_LABELS: Readonly<Record<string, string>> = { "app.kubernetes.io/component": "sandboxes" };

function stringListOr(v: unknown, dflt: readonly string[]): string[] {
  return Array.isArray(v) ? asStringArray(v) : [...dflt];
}

export function networkConfig(ctx: PolicyContext): SandboxEgressConfig & { exemptNamespaces: string[] } {
  const c = ctx.config;
  const podLabels = asObject(c.sandboxPodLabels);
  return {
    exemptNamespaces: stringListOr(c.exemptNamespaces, []),
    sandboxNamespaces: stringListOr(c.sandboxNamespaces, []),
    sandboxNamespaceLabels: asObject(c.sandboxNamespaceLabels) ? asStringMap(c.sandboxNamespaceLabels) : { ...DEFAULT_SANDBOX_NAMESPACE_LABELS },
    ...(podLabels ? { sandboxPodLabels: asStringMap(podLabels) } : {}),
    apiServerCidrs: stringListOr(c.apiServerCidrs, []),
    extraForbiddenCidrs: stringListOr(c.extraForbiddenCidrs, []),
  };
}

// ---------------------------------------------------------------------------------------------
// The rules

export const RULES: readonly Rule[] = [
  {
    kind: "resource",
    name: "ack-cluster",
    description: "ACK clusters are ACK Pro, run Terway with NetworkPolicy enabled, and in production have deletion protection and audit logs.",
    severity: "high",
    remediationSteps: "Set clusterSpec to ack.pro.*, add the terway-eniip add-on with NetworkPolicy \"true\", and in production set deletionProtection and auditLogConfig.enabled.",
    configSchema: { properties: { production: productionSchema } },
    check: (type, props, ctx) => checkAckCluster(type, props, { production: production(ctx) }),
  },
  {
    kind: "resource",
    name: "acr-registry",
    description: "ACR Enterprise namespaces and repositories are private, production repositories are tag-immutable, and VPC endpoints serve the Registry module.",
    severity: "high",
    remediationSteps: "Set defaultVisibility/repoType to PRIVATE, tagImmutability: true in production, and moduleName: Registry on the VPC endpoint.",
    configSchema: { properties: { production: productionSchema } },
    check: (type, props, ctx) => checkAcrResource(type, props, { production: production(ctx) }),
  },
  {
    kind: "stack",
    name: "acr-pulls-over-vpc",
    description: "A stack with ACR Enterprise links the registry to the VPC, and workloads in the VPC pull from the registry's VPC endpoint.",
    severity: "medium",
    remediationSteps: "Add alicloud.cr.VpcEndpointLinkedVpc with moduleName Registry and use the <instance>-registry-vpc.<region>.cr.aliyuncs.com host in images.",
    check: (resources) => checkAcrPullsOverVpc(resources),
  },
  {
    kind: "resource",
    name: "workload-containers",
    description:
      "Every container sets requests and limits, readiness and liveness probes, runs non-root on a read-only root filesystem with all capabilities dropped, " +
      "unprivileged, off the host's filesystem and namespaces, from an image pinned by digest in an allowed registry, with no secret in a plain env value.",
    severity: "high",
    remediationSteps: "Follow the Fix in each message; components/workload/security-context.ts and resources.ts have the security contexts and resources this stack uses.",
    configSchema: {
      properties: {
        allowedRegistries: stringList(
          "Registries images may come from: host[:port] patterns where * matches within one segment (*.cr.aliyuncs.com, localhost:*), or host/path prefixes (registry.example.com/team/*).",
          [...DEFAULT_ALLOWED_REGISTRIES],
        ),
      },
    },
    check: (type, props, ctx) => checkWorkload(type, props, { allowedRegistries: stringListOr(ctx.config.allowedRegistries, DEFAULT_ALLOWED_REGISTRIES) }),
  },
  {
    kind: "stack",
    name: "network-isolation",
    description:
      "Every namespace with workloads, and every sandbox namespace, has default-deny NetworkPolicies for ingress and egress; " +
      "sandbox pods cannot reach the metadata service, private ranges or the API server.",
    severity: "critical",
    remediationSteps: "Add default-deny policies (podSelector {}, no rules) per namespace; in sandbox namespaces allow egress only to DNS pods and to 0.0.0.0/0 except the forbidden ranges.",
    configSchema: {
      properties: {
        exemptNamespaces: stringList("Namespaces the default-deny check skips.", []),
        sandboxNamespaces: stringList("Sandbox namespaces, besides those found by label or from the sandbox manager's K8S_NAMESPACE.", []),
        sandboxNamespaceLabels: labelMap("Labels that mark a Namespace of the stack as a sandbox namespace.", { ...DEFAULT_SANDBOX_NAMESPACE_LABELS }),
        sandboxPodLabels: labelMap("Labels the sandbox manager puts on sandbox pods; unset means every policy in a sandbox namespace is assumed to apply to sandboxes."),
        apiServerCidrs: stringList("CIDRs of the API server endpoints as pods reach them (besides the private ranges, which are always forbidden).", []),
        extraForbiddenCidrs: stringList("Further CIDRs sandboxes must not reach.", []),
      },
    },
    check: (resources, ctx) => {
      const cfg = networkConfig(ctx);
      return [
        ...checkNamespaceDefaultDeny(resources, { exemptNamespaces: cfg.exemptNamespaces, sandbox: cfg }),
        ...checkSandboxEgress(resources, cfg),
      ];
    },
  },
  {
    kind: "stack",
    name: "sandbox-egress-allowlist",
    description:
      "Where sandbox egress is an allow-list (an egress proxy runs in the sandbox namespace, or the pack says so), " +
      "sandbox pods' NetworkPolicies let them reach only the egress proxy (and DNS, if given): no address, no other pod.",
    severity: "critical",
    remediationSteps: "Let sandbox pods egress only to the proxy's pods; allow names in sandbox.egress.allow, never addresses in a NetworkPolicy.",
    configSchema: {
      properties: {
        allowList: { type: "boolean", description: "Sandbox egress is an allow-list (sandbox.egress.mode allowList): the stack must run the egress proxy. Unset, the rule applies where a proxy runs.", default: false },
        sandboxNamespaces: stringList("Sandbox namespaces, besides those found by label or from the sandbox manager's K8S_NAMESPACE.", []),
        sandboxNamespaceLabels: labelMap("Labels that mark a Namespace of the stack as a sandbox namespace.", { ...DEFAULT_SANDBOX_NAMESPACE_LABELS }),
        sandboxPodLabels: labelMap("Labels sandbox pods carry.", { ...SANDBOX_POD_LABELS }),
        proxyPodLabels: labelMap("Labels selecting the egress proxy's pods.", { ...EGRESS_PROXY_POD_LABELS }),
      },
    },
    check: (resources, ctx) => {
      const c = ctx.config;
      return checkSandboxAllowList(resources, {
        requireProxy: c.allowList === true,
        sandboxNamespaces: stringListOr(c.sandboxNamespaces, []),
        sandboxNamespaceLabels: asObject(c.sandboxNamespaceLabels) ? asStringMap(c.sandboxNamespaceLabels) : { ...DEFAULT_SANDBOX_NAMESPACE_LABELS },
        sandboxPodLabels: asObject(c.sandboxPodLabels) ? asStringMap(c.sandboxPodLabels) : { ...SANDBOX_POD_LABELS },
        proxyPodLabels: asObject(c.proxyPodLabels) ? asStringMap(c.proxyPodLabels) : { ...EGRESS_PROXY_POD_LABELS },
      });
    },
  },
  {
    kind: "resource",
    name: "no-open-loadbalancer",
    description: "No internet-facing LoadBalancer Service without a source allow-list.",
    severity: "critical",
    remediationSteps: "Set spec.loadBalancerSourceRanges (no /0), use an ACK whitelist ACL, or make the load balancer internal.",
    check: (type, props) => checkLoadBalancer(type, props),
  },
  {
    kind: "resource",
    name: "no-public-metrics",
    description: "No metrics port (named metrics / *-metrics, or 9464/9465) on a LoadBalancer or NodePort Service.",
    severity: "high",
    remediationSteps: "Serve metrics on a separate ClusterIP <name>-metrics Service and let only the monitoring namespace reach it.",
    check: (type, props) => checkMetricsExposure(type, props),
  },
  {
    kind: "resource",
    name: "acs-pod-sizing",
    description: "Pods with ACS labels request sizes ACS serves (0.5 vCPU / 1 GiB steps, requests equal to limits), and ACS labels stay out of selectors.",
    severity: "medium",
    remediationSteps: "Set requests equal to limits in 0.5 vCPU / 1 GiB steps; select on app.kubernetes.io/name and instance only.",
    check: (type, props) => checkAcsPlacement(type, props),
  },
  {
    kind: "stack",
    name: "acs-network-policy",
    description: "Pods on ACS in a stack with NetworkPolicies carry the network-policy annotation, and the stack installs Poseidon, which enforces policies for virtual-node pods (Terway does not).",
    severity: "critical",
    remediationSteps: 'Add alicloud.cs.KubernetesAddon {name: "poseidon"} and the pod annotation alibabacloud.com/enable-network-policy-agent: "true" on ACS pod templates.',
    configSchema: {
      properties: {
        poseidonOutsideStack: { type: "boolean", description: "The cluster already runs Poseidon, installed outside this stack (e.g. an adopted cluster).", default: false },
      },
    },
    check: (resources, ctx) => checkAcsNetworkPolicies(resources, { poseidonOutsideStack: ctx.config.poseidonOutsideStack === true }),
  },
  {
    kind: "resource",
    name: "rbac-least-privilege",
    description: "Roles name their verbs and resources (no wildcards) and nothing is bound to cluster-admin.",
    severity: "high",
    remediationSteps: "List verbs and resources explicitly; bind a narrow Role instead of cluster-admin.",
    check: (type, props) => checkRbac(type, props),
  },
  {
    kind: "stack",
    name: "rbac-secret-read-scope",
    description: "Secrets are read only inside a component's own namespace: no cluster-wide Secret read, no cross-namespace Secret read.",
    severity: "high",
    remediationSteps: "Grant Secret read with a Role and RoleBinding in the namespace of the ServiceAccount that needs it.",
    check: (resources) => checkSecretReadScope(resources),
  },
];

/** Runs every rule over a whole stack, as the engine would: each resource rule on each resource, then the stack rules. */
export function runRules(
  resources: readonly StackResource[],
  packConfig: Readonly<Record<string, unknown>> = {},
  stackTags: ReadonlyMap<string, string> = new Map(),
): { policy: string; message: string; urn?: string }[] {
  const out: { policy: string; message: string; urn?: string }[] = [];
  for (const rule of RULES) {
    const raw = packConfig[rule.name];
    if (raw === "disabled" || asString(asObject(raw)?.enforcementLevel) === "disabled") continue;
    const ctx: PolicyContext = { config: asObject(raw) ?? {}, stackTags };
    if (rule.kind === "resource") {
      for (const r of resources) for (const message of rule.check(r.type, r.props, ctx)) out.push({ policy: rule.name, message, urn: r.urn });
    } else {
      for (const v of rule.check(resources, ctx)) out.push({ policy: rule.name, message: v.message, ...(v.urn !== undefined ? { urn: v.urn } : {}) });
    }
  }
  return out;
}
