/**
 * Rule group 3: every container the stack defines (Deployments, StatefulSets, DaemonSets,
 * ReplicaSets, Jobs, CronJobs, Pods; init containers included). Each must:
 * - set cpu and memory requests and limits;
 * - have readiness and liveness probes (long-running containers: not Jobs, CronJobs, Pods that run
 *   to completion, nor plain init containers, which Kubernetes forbids to have probes);
 * - run as non-root, on a read-only root filesystem, with every capability dropped, unprivileged and
 *   without privilege escalation;
 * - keep off the host: no hostPath volume, hostNetwork, hostPID or hostIPC;
 * - name its image by digest, from an allowed registry;
 * - keep secrets out of plain env values (use valueFrom.secretKeyRef).
 */
import type { ContainerRef, Props } from "./common";
import {
  DIGEST_RE,
  asArray,
  asObject,
  asString,
  asStringArray,
  containersOf,
  describe,
  globMatch,
  parseImageRef,
  podTemplateOf,
  readKnown,
  runsToCompletion,
} from "./common";

export interface WorkloadRuleConfig {
  /**
   * Registries images may come from: host[:port] patterns (`*` matches within one path segment,
   * e.g. `*.cr.aliyuncs.com`, `localhost:*`), or host/path prefixes such as `registry.example.com/team/*`.
   */
  readonly allowedRegistries: readonly string[];
}

/** ACR Enterprise Edition domains (`<instance>-registry[-vpc].<region>.cr.aliyuncs.com`). */
export const DEFAULT_ALLOWED_REGISTRIES: readonly string[] = ["*.cr.aliyuncs.com"];

/** The one capability a restricted pod may add back (Pod Security Standards, restricted). */
const ALLOWED_ADDED_CAPABILITIES = ["NET_BIND_SERVICE"];

/** Env names that hold secrets; the last `_`-segment FILE, PATH, DIR, NAME... marks a reference instead. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)/i;
const REFERENCE_SUFFIX = /_(FILE|PATH|DIR|NAME|REF|KEY_ID_FILE|TTL|TIMEOUT|ENABLED|HEADER)$/i;
/** Values that look like secrets whatever their name. */
export const SECRET_VALUES: readonly { readonly what: string; readonly re: RegExp }[] = [
  { what: "a URL with a password", re: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i },
  { what: "a private key", re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: "an Alibaba Cloud AccessKey ID", re: /\bLTAI[0-9A-Za-z]{12,30}\b/ },
  { what: "an AWS access key ID", re: /\bAKIA[0-9A-Z]{16}\b/ },
  { what: "an API key (sk-...)", re: /\bsk-[A-Za-z0-9_-]{20,}/ },
  { what: "a GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{30,}/ },
];

/** Violations of the container rules for one workload; empty for other types. */
export function checkWorkload(type: string, props: Props, config: WorkloadRuleConfig): string[] {
  const template = podTemplateOf(type, props);
  if (!template) return [];
  const what = describe(type, props);
  const spec = template.spec;
  if (!spec) return [`${what}: has no pod spec to check. Fix: define the pod template's spec.`];
  const out: string[] = [];

  out.push(...hostAccessViolations(what, spec));
  const completes = runsToCompletion(type, spec);
  const refs = containersOf(spec);
  if (refs.length === 0) out.push(`${what}: has no containers. Fix: define spec.containers.`);
  for (const ref of refs) {
    const where = `${what} ${ref.kind} ${JSON.stringify(asString(ref.container.name) ?? "(unnamed)")}`;
    out.push(...resourceViolations(where, ref.container));
    if (!completes && (ref.kind === "container" || ref.sidecar)) out.push(...probeViolations(where, ref.container));
    out.push(...securityContextViolations(where, ref, spec));
    out.push(...imageViolations(where, ref.container, config));
    out.push(...envViolations(where, ref.container));
  }
  return out;
}

function hostAccessViolations(what: string, spec: Props): string[] {
  const out: string[] = [];
  for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (spec[field] === true) {
      out.push(`${what}: ${field} is true, which shares the node's ${field.slice(4)} namespace with the pod. Fix: remove ${field} (or set it to false).`);
    }
  }
  for (const v of asArray(spec.volumes)) {
    const volume = asObject(v);
    const hostPath = asObject(volume?.hostPath);
    if (hostPath) {
      out.push(
        `${what}: volume ${JSON.stringify(asString(volume?.name) ?? "(unnamed)")} is a hostPath (${asString(hostPath.path) ?? "?"}), which exposes the node's filesystem. ` +
          `Fix: use an emptyDir, a PersistentVolumeClaim, a ConfigMap or a Secret instead.`,
      );
    }
  }
  return out;
}

function resourceViolations(where: string, c: Props): string[] {
  const resources = asObject(c.resources);
  const missing: string[] = [];
  for (const kind of ["requests", "limits"] as const) {
    const values = asObject(resources?.[kind]);
    for (const r of ["cpu", "memory"] as const) {
      if (values?.[r] === undefined || values[r] === null || values[r] === "") missing.push(`${kind}.${r}`);
    }
  }
  if (missing.length === 0) return [];
  return [`${where}: resources ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not set. Fix: set cpu and memory under both resources.requests and resources.limits.`];
}

function probeViolations(where: string, c: Props): string[] {
  const missing = (["readinessProbe", "livenessProbe"] as const).filter((p) => asObject(c[p]) === undefined);
  if (missing.length === 0) return [];
  return [
    `${where}: has no ${missing.join(" or ")}, so Kubernetes cannot tell when it is ready or stuck. ` +
      `Fix: add ${missing.join(" and ")} (httpGet on its health endpoint, or tcpSocket).`,
  ];
}

function securityContextViolations(where: string, ref: ContainerRef, spec: Props): string[] {
  const out: string[] = [];
  const sc = asObject(ref.container.securityContext) ?? {};
  const podSc = asObject(spec.securityContext) ?? {};

  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
  if (runAsUser === 0) {
    out.push(`${where}: runAsUser is 0 (root). Fix: run as a non-zero UID and set securityContext.runAsNonRoot: true.`);
  } else if (runAsNonRoot !== true && !(typeof runAsUser === "number" && runAsUser > 0)) {
    out.push(`${where}: may run as root (runAsNonRoot is not true and no non-zero runAsUser is set). Fix: set securityContext.runAsNonRoot: true and runAsUser to a non-zero UID.`);
  }
  if (sc.readOnlyRootFilesystem !== true) {
    out.push(`${where}: the root filesystem is writable. Fix: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write.`);
  }
  const caps = asObject(sc.capabilities);
  if (!asStringArray(caps?.drop).includes("ALL")) {
    out.push(`${where}: does not drop all capabilities. Fix: set securityContext.capabilities.drop: ["ALL"].`);
  }
  const added = asStringArray(caps?.add).filter((c) => !ALLOWED_ADDED_CAPABILITIES.includes(c));
  if (added.length > 0) {
    out.push(`${where}: adds capabilities ${added.join(", ")}. Fix: remove them from securityContext.capabilities.add (only NET_BIND_SERVICE may be added back).`);
  }
  if (sc.privileged === true) {
    out.push(`${where}: is privileged, with full access to the node. Fix: remove securityContext.privileged (or set it to false).`);
  }
  if (sc.allowPrivilegeEscalation !== false) {
    out.push(`${where}: allows privilege escalation (setuid binaries can regain root). Fix: set securityContext.allowPrivilegeEscalation: false.`);
  }
  return out;
}

function imageViolations(where: string, c: Props, config: WorkloadRuleConfig): string[] {
  const read = readKnown(() => asString(c.image));
  // An image built in the same run is unknown until the update, which checks it.
  if (!read.known) return [];
  const image = read.value;
  if (image === undefined || image.trim() === "") return [`${where}: has no image. Fix: set image to <registry>/<repository>@sha256:<digest>.`];
  const out: string[] = [];
  const ref = parseImageRef(image);
  if (ref.digest === undefined || !DIGEST_RE.test(ref.digest)) {
    out.push(`${where}: image ${image} is not pinned by digest, so what runs can change under the same name. Fix: use ${ref.host}/${ref.path}@sha256:<digest>.`);
  }
  if (!isAllowedRegistry(ref.host, ref.path, config.allowedRegistries)) {
    out.push(
      `${where}: image ${image} comes from ${ref.host}, which is not an allowed registry (${config.allowedRegistries.join(", ") || "none configured"}). ` +
        `Fix: push the image to an allowed registry, or add the registry to the policy config's allowedRegistries.`,
    );
  }
  return out;
}

export function isAllowedRegistry(host: string, path: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) => {
    if (!pattern.includes("/")) return globMatch(pattern, host);
    const full = `${host}/${path}`;
    return globMatch(pattern, full) || (pattern.endsWith("/*") && full.startsWith(pattern.slice(0, -1)));
  });
}

function envViolations(where: string, c: Props): string[] {
  const out: string[] = [];
  for (const e of asArray(c.env)) {
    const env = asObject(e);
    const name = asString(env?.name);
    const read = readKnown(() => asString(env?.value));
    const value = read.known ? read.value : undefined;
    if (name === undefined || value === undefined || value === "") continue;
    // $(VAR) only refers to another variable of the same container.
    if (/^\$\([A-Za-z_][A-Za-z0-9_]*\)$/.test(value)) continue;
    const shape = SECRET_VALUES.find((s) => s.re.test(value));
    const byName = SECRET_NAME.test(name) && !REFERENCE_SUFFIX.test(name);
    if (shape || byName) {
      // The message never repeats the value: policy output ends up in logs.
      out.push(
        `${where}: env ${name} carries ${shape ? shape.what : "a secret"} as a plain value. ` +
          `Fix: store it in a Kubernetes Secret and use valueFrom.secretKeyRef (or mount the Secret as a file).`,
      );
    }
  }
  return out;
}
