/**
 * Shared helpers for the rules: plain data in, plain data out. Nothing here imports @pulumi/*, so
 * the rules run the same inside the policy pack, in unit tests and in the stack-under-mocks test.
 */

/** Resource inputs (or outputs, for stack rules) as the engine hands them to a policy: plain JSON. */
export type Props = Record<string, unknown>;

/** A resource as a stack rule sees it. */
export interface StackResource {
  readonly type: string;
  readonly urn: string;
  readonly name: string;
  readonly props: Props;
  /** The Kubernetes provider's default namespace, when the resource's provider sets one. */
  readonly providerNamespace?: string;
}

/** A violation found by a stack rule; `urn` names the offending resource when there is one. */
export interface StackViolation {
  readonly message: string;
  readonly urn?: string;
}

// ---------------------------------------------------------------------------------------------
// Small accessors that never throw on odd shapes.

export function asObject(v: unknown): Props | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Props) : undefined;
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

export function asStringArray(v: unknown): string[] {
  return asArray(v).filter((x): x is string => typeof x === "string");
}

export function asStringMap(v: unknown): Record<string, string> {
  const o = asObject(v);
  if (!o) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) if (typeof val === "string") out[k] = val;
  return out;
}

/** `get(o, "a", "b")` is `o.a.b`, or undefined when any step is missing. */
export function get(v: unknown, ...path: string[]): unknown {
  let cur: unknown = v;
  for (const key of path) {
    const o = asObject(cur);
    if (!o) return undefined;
    cur = o[key];
  }
  return cur;
}

/** True for `true` and for the string "true" (Alibaba Cloud add-on configs use strings). */
export function isTrue(v: unknown): boolean {
  return v === true || (typeof v === "string" && v.toLowerCase() === "true");
}

// ---------------------------------------------------------------------------------------------
// Kubernetes resource types and their pod templates.

export const K8S = {
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  replicaSet: "kubernetes:apps/v1:ReplicaSet",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  pod: "kubernetes:core/v1:Pod",
  service: "kubernetes:core/v1:Service",
  namespace: "kubernetes:core/v1:Namespace",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
} as const;

/** Workload types whose pods the stack defines, and where each keeps its pod template. */
const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  [K8S.deployment]: ["spec", "template"],
  [K8S.statefulSet]: ["spec", "template"],
  [K8S.daemonSet]: ["spec", "template"],
  [K8S.replicaSet]: ["spec", "template"],
  [K8S.job]: ["spec", "template"],
  [K8S.cronJob]: ["spec", "jobTemplate", "spec", "template"],
};

export const WORKLOAD_TYPES: readonly string[] = [...Object.keys(POD_TEMPLATE_PATHS), K8S.pod];

export function isWorkloadType(type: string): boolean {
  return WORKLOAD_TYPES.includes(type);
}

/** Workloads whose pods run to completion: probes are not required of them. */
export function runsToCompletion(type: string, podSpec: Props | undefined): boolean {
  if (type === K8S.job || type === K8S.cronJob) return true;
  if (type === K8S.pod) {
    const policy = asString(podSpec?.restartPolicy);
    return policy === "Never" || policy === "OnFailure";
  }
  return false;
}

export interface PodTemplate {
  /** The pod template's (or the Pod's own) metadata. */
  readonly metadata: Props;
  readonly spec: Props | undefined;
}

/** The pod template of a workload, or the Pod itself; undefined for other types. */
export function podTemplateOf(type: string, props: Props): PodTemplate | undefined {
  if (type === K8S.pod) return { metadata: asObject(props.metadata) ?? {}, spec: asObject(props.spec) };
  const path = POD_TEMPLATE_PATHS[type];
  if (!path) return undefined;
  const template = asObject(get(props, ...path));
  return { metadata: asObject(template?.metadata) ?? {}, spec: asObject(template?.spec) };
}

/** The selector a controller uses to find its pods (absent for Pods and CronJobs). */
export function workloadSelector(type: string, props: Props): Props | undefined {
  if (type === K8S.cronJob) return asObject(get(props, "spec", "jobTemplate", "spec", "selector"));
  if (type === K8S.pod) return undefined;
  return asObject(get(props, "spec", "selector"));
}

export interface ContainerRef {
  readonly container: Props;
  readonly kind: "container" | "initContainer";
  /** An init container with restartPolicy Always runs for the pod's life (a sidecar). */
  readonly sidecar: boolean;
}

export function containersOf(spec: Props | undefined): ContainerRef[] {
  const out: ContainerRef[] = [];
  for (const c of asArray(spec?.containers)) {
    const o = asObject(c);
    if (o) out.push({ container: o, kind: "container", sidecar: false });
  }
  for (const c of asArray(spec?.initContainers)) {
    const o = asObject(c);
    if (o) out.push({ container: o, kind: "initContainer", sidecar: o.restartPolicy === "Always" });
  }
  return out;
}

/** Kind name for messages, e.g. "Deployment" for kubernetes:apps/v1:Deployment. */
export function kindOf(type: string): string {
  const last = type.split(":").pop();
  return last && last.length > 0 ? last : type;
}

/** `Deployment agents/friday`, `ClusterRole sandbox-manager`, `ManagedKubernetes prod-cluster`. */
export function describe(type: string, props: Props, fallbackName?: string): string {
  const kind = kindOf(type);
  const meta = asObject(props.metadata);
  if (type.startsWith("kubernetes:")) {
    const name = asString(meta?.name) ?? fallbackName ?? "(unnamed)";
    const ns = asString(meta?.namespace);
    return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
  }
  const name = asString(props.name) ?? asString(props.instanceName) ?? fallbackName ?? "(unnamed)";
  return `${kind} ${name}`;
}

/** The namespace of a namespaced Kubernetes object, as the API server will default it. */
export function namespaceOf(r: Pick<StackResource, "props" | "providerNamespace">): string {
  return asString(get(r.props, "metadata", "namespace")) ?? r.providerNamespace ?? "default";
}

// ---------------------------------------------------------------------------------------------
// Kubernetes quantities (resource.Quantity): "500m", "0.5", "1Gi", "1024Mi", "1G", "2e9".

const BINARY_SUFFIX: Readonly<Record<string, number>> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
const DECIMAL_SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** The value of a quantity in base units (cores, bytes), or undefined if it is not one. */
export function parseQuantity(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(v.trim());
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? "";
  const factor = BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix];
  return factor === undefined ? undefined : base * factor;
}

export const GIB = 2 ** 30;

// ---------------------------------------------------------------------------------------------
// IPv4 ranges, as [first, last] integer intervals.

export interface Ipv4Range {
  readonly first: number;
  readonly last: number;
}

export function parseIpv4(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const octet = Number(p);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

/** An IPv4 CIDR (or a bare address, as a /32) as a range; undefined for IPv6 or garbage. */
export function parseIpv4Cidr(cidr: string): Ipv4Range | undefined {
  const [ip, len, extra] = cidr.trim().split("/");
  if (extra !== undefined || ip === undefined) return undefined;
  const addr = parseIpv4(ip);
  const prefix = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (addr === undefined || !(prefix >= 0 && prefix <= 32)) return undefined;
  const size = 2 ** (32 - prefix);
  const first = Math.floor(addr / size) * size;
  return { first, last: first + size - 1 };
}

/** The parts of `range` left after removing every range in `holes`. */
export function subtractRanges(range: Ipv4Range, holes: readonly Ipv4Range[]): Ipv4Range[] {
  let pieces: Ipv4Range[] = [range];
  for (const h of holes) {
    const next: Ipv4Range[] = [];
    for (const p of pieces) {
      if (h.last < p.first || h.first > p.last) {
        next.push(p);
        continue;
      }
      if (h.first > p.first) next.push({ first: p.first, last: h.first - 1 });
      if (h.last < p.last) next.push({ first: h.last + 1, last: p.last });
    }
    pieces = next;
  }
  return pieces;
}

export function intersectRange(a: Ipv4Range, b: Ipv4Range): Ipv4Range | undefined {
  const first = Math.max(a.first, b.first);
  const last = Math.min(a.last, b.last);
  return first <= last ? { first, last } : undefined;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export function formatRange(r: Ipv4Range): string {
  return r.first === r.last ? formatIpv4(r.first) : `${formatIpv4(r.first)}-${formatIpv4(r.last)}`;
}

// ---------------------------------------------------------------------------------------------
// Policy configuration shared by several rules.

/** Values of the stack tag `environment` that mean production. */
export const PRODUCTION_ENVIRONMENTS: readonly string[] = ["prod", "production"];

/**
 * Whether production-only rules apply. The policy config's `production` wins; else the stack tag
 * `environment` decides (prod or production); with neither, the pack assumes production, so a
 * stack that says nothing gets the strict rules.
 */
export function resolveProduction(configured: unknown, environmentTag: string | undefined): boolean {
  if (typeof configured === "boolean") return configured;
  if (environmentTag !== undefined) return PRODUCTION_ENVIRONMENTS.includes(environmentTag.trim().toLowerCase());
  return true;
}

/** Matches `value` against a pattern where `*` stands for any run of characters other than `/`. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`);
  return re.test(value);
}

// ---------------------------------------------------------------------------------------------
// Container image references: [host[:port]/]path[:tag][@digest].

export interface ImageRef {
  /** Registry host[:port]; "docker.io" when the reference names none. */
  readonly host: string;
  /** Repository path inside the registry, e.g. "agentscope/agent". */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf("@");
  const nameAndTag = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const slash = nameAndTag.indexOf("/");
  const first = slash >= 0 ? nameAndTag.slice(0, slash) : "";
  const hasHost = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  const host = hasHost ? first : "docker.io";
  let rest = hasHost ? nameAndTag.slice(slash + 1) : nameAndTag;
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { host, path: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Every container image a workload (or Pod) names, init containers included; unknown ones left out. */
export function workloadImages(type: string, props: Props): string[] {
  const template = podTemplateOf(type, props);
  if (!template) return [];
  return containersOf(template.spec)
    .map((c) => readKnown(() => asString(c.container.image)))
    .flatMap((i) => (i.known && i.value !== undefined ? [i.value] : []));
}

// ---------------------------------------------------------------------------------------------
// Values unknown during preview. The engine hands policies a proxy that throws UnknownValueError
// (from @pulumi/policy) when a rule reads a value that is only known after an update, such as the
// digest of an image built in the same run; left alone, that turns the whole policy into an
// advisory for the resource. Rules read such values through readKnown and skip only the check
// that needs them; `pulumi up` runs the policy again with every value known.

export type Known<T> = { readonly known: true; readonly value: T } | { readonly known: false };

export function isUnknownValueError(e: unknown): boolean {
  return e instanceof Error && (e.constructor.name === "UnknownValueError" || e.message.endsWith("can't be known during preview"));
}

export function readKnown<T>(read: () => T): Known<T> {
  try {
    return { known: true, value: read() };
  } catch (e) {
    if (isUnknownValueError(e)) return { known: false };
    throw e;
  }
}
