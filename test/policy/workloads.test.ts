import { describe, expect, it } from "vitest";
import { DEFAULT_ALLOWED_REGISTRIES, K8S, checkWorkload, isAllowedRegistry, parseImageRef } from "../../policy/rules";
import { ACR_IMAGE, DIGEST, deployment, goodContainer, podSpec } from "./fixtures";

const cfg = { allowedRegistries: DEFAULT_ALLOWED_REGISTRIES };
const D = K8S.deployment;
const C = 'Deployment agents/friday container "agent"';
const check = (spec = podSpec()) => checkWorkload(D, deployment(spec), cfg);
const withContainer = (overrides: Record<string, unknown>) => check(podSpec({}, goodContainer(overrides)));
const withSecurity = (sc: Record<string, unknown>) => withContainer({ securityContext: { ...(goodContainer().securityContext as object), ...sc } });

describe("workload-containers", () => {
  it("passes a hardened container in every workload kind", () => {
    expect(check()).toEqual([]);
    const template = { metadata: { labels: { app: "x" } }, spec: podSpec() };
    expect(checkWorkload(K8S.statefulSet, { metadata: { name: "redis", namespace: "agents" }, spec: { selector: {}, template } }, cfg)).toEqual([]);
    expect(checkWorkload(K8S.daemonSet, { metadata: { name: "d" }, spec: { template } }, cfg)).toEqual([]);
    expect(checkWorkload(K8S.pod, { metadata: { name: "p" }, spec: podSpec() }, cfg)).toEqual([]);
  });

  it("ignores resources that are not workloads", () => {
    expect(checkWorkload(K8S.service, { spec: { type: "ClusterIP" } }, cfg)).toEqual([]);
  });

  it("requires cpu and memory requests and limits", () => {
    expect(withContainer({ resources: { requests: { cpu: "1" } } })).toEqual([
      `${C}: resources requests.memory, limits.cpu, limits.memory are not set. Fix: set cpu and memory under both resources.requests and resources.limits.`,
    ]);
    expect(withContainer({ resources: undefined })).toEqual([expect.stringContaining("resources requests.cpu, requests.memory, limits.cpu, limits.memory are not set")]);
  });

  it("requires readiness and liveness probes of long-running containers", () => {
    expect(withContainer({ readinessProbe: undefined, livenessProbe: undefined })).toEqual([
      `${C}: has no readinessProbe or livenessProbe, so Kubernetes cannot tell when it is ready or stuck. Fix: add readinessProbe and livenessProbe (httpGet on its health endpoint, or tcpSocket).`,
    ]);
    expect(withContainer({ livenessProbe: undefined })).toEqual([expect.stringContaining("has no livenessProbe")]);
  });

  it("does not require probes of Jobs, CronJobs, run-to-completion Pods or plain init containers", () => {
    const noProbe = goodContainer({ readinessProbe: undefined, livenessProbe: undefined });
    const template = { spec: podSpec({ restartPolicy: "Never" }, noProbe) };
    expect(checkWorkload(K8S.job, { metadata: { name: "j" }, spec: { template } }, cfg)).toEqual([]);
    expect(checkWorkload(K8S.cronJob, { metadata: { name: "c" }, spec: { schedule: "@daily", jobTemplate: { spec: { template } } } }, cfg)).toEqual([]);
    expect(checkWorkload(K8S.pod, { metadata: { name: "p" }, spec: podSpec({ restartPolicy: "Never" }, noProbe) }, cfg)).toEqual([]);
    expect(check(podSpec({ initContainers: [{ ...noProbe, name: "init" }] }))).toEqual([]);
    // A sidecar (init container with restartPolicy Always) runs all along: it needs probes.
    expect(check(podSpec({ initContainers: [{ ...noProbe, name: "proxy", restartPolicy: "Always" }] }))).toEqual([
      expect.stringMatching(/^Deployment agents\/friday initContainer "proxy": has no readinessProbe or livenessProbe/),
    ]);
  });

  it("checks CronJob containers where they live", () => {
    const template = { spec: podSpec({ restartPolicy: "Never" }, goodContainer({ image: "busybox" })) };
    expect(checkWorkload(K8S.cronJob, { metadata: { name: "c", namespace: "agents" }, spec: { jobTemplate: { spec: { template } } } }, cfg)).toEqual([
      expect.stringContaining('CronJob agents/c container "agent": image busybox is not pinned by digest'),
      expect.stringContaining("image busybox comes from docker.io, which is not an allowed registry"),
    ]);
  });

  it("requires a non-root user", () => {
    const noUser = goodContainer({ securityContext: { ...(goodContainer().securityContext as object), runAsNonRoot: undefined, runAsUser: undefined } });
    expect(check(podSpec({ securityContext: {} }, noUser))).toEqual([
      `${C}: may run as root (runAsNonRoot is not true and no non-zero runAsUser is set). Fix: set securityContext.runAsNonRoot: true and runAsUser to a non-zero UID.`,
    ]);
    expect(withSecurity({ runAsUser: 0 })).toEqual([`${C}: runAsUser is 0 (root). Fix: run as a non-zero UID and set securityContext.runAsNonRoot: true.`]);
    // The pod-level context counts when the container says nothing.
    expect(check(podSpec({ securityContext: { runAsNonRoot: true } }, noUser))).toEqual([]);
    expect(check(podSpec({ securityContext: { runAsUser: 0 } }, noUser))).toEqual([expect.stringContaining("runAsUser is 0 (root)")]);
  });

  it("requires a read-only root filesystem", () => {
    expect(withSecurity({ readOnlyRootFilesystem: false })).toEqual([
      `${C}: the root filesystem is writable. Fix: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write.`,
    ]);
  });

  it("requires every capability dropped, and adds back at most NET_BIND_SERVICE", () => {
    expect(withSecurity({ capabilities: { drop: ["NET_RAW"] } })).toEqual([
      `${C}: does not drop all capabilities. Fix: set securityContext.capabilities.drop: ["ALL"].`,
    ]);
    expect(withSecurity({ capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE", "SYS_ADMIN"] } })).toEqual([
      `${C}: adds capabilities SYS_ADMIN. Fix: remove them from securityContext.capabilities.add (only NET_BIND_SERVICE may be added back).`,
    ]);
    expect(withSecurity({ capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } })).toEqual([]);
  });

  it("rejects privileged containers and privilege escalation", () => {
    expect(withSecurity({ privileged: true })).toEqual([
      `${C}: is privileged, with full access to the node. Fix: remove securityContext.privileged (or set it to false).`,
    ]);
    expect(withSecurity({ allowPrivilegeEscalation: undefined })).toEqual([
      `${C}: allows privilege escalation (setuid binaries can regain root). Fix: set securityContext.allowPrivilegeEscalation: false.`,
    ]);
  });

  it("rejects hostPath volumes and host namespaces", () => {
    expect(check(podSpec({ volumes: [{ name: "workspace", hostPath: { path: "/workspace" } }] }))).toEqual([
      'Deployment agents/friday: volume "workspace" is a hostPath (/workspace), which exposes the node\'s filesystem. Fix: use an emptyDir, a PersistentVolumeClaim, a ConfigMap or a Secret instead.',
    ]);
    expect(check(podSpec({ hostNetwork: true, hostPID: true, hostIPC: false }))).toEqual([
      "Deployment agents/friday: hostNetwork is true, which shares the node's Network namespace with the pod. Fix: remove hostNetwork (or set it to false).",
      "Deployment agents/friday: hostPID is true, which shares the node's PID namespace with the pod. Fix: remove hostPID (or set it to false).",
    ]);
  });

  it("requires images by digest", () => {
    const tagged = ACR_IMAGE.replace(`@${DIGEST}`, ":v1");
    expect(withContainer({ image: tagged })).toEqual([
      `${C}: image ${tagged} is not pinned by digest, so what runs can change under the same name. Fix: use agentscope-prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com/agentscope/agent@sha256:<digest>.`,
    ]);
    expect(withContainer({ image: `${ACR_IMAGE.split("@")[0]}@sha256:abc` })).toEqual([expect.stringContaining("is not pinned by digest")]);
    expect(withContainer({ image: `${ACR_IMAGE.split("@")[0]}:v1@${DIGEST}` })).toEqual([]);
    expect(withContainer({ image: undefined })).toEqual([`${C}: has no image. Fix: set image to <registry>/<repository>@sha256:<digest>.`]);
  });

  it("requires images from an allowed registry", () => {
    const hub = `python@${DIGEST}`;
    expect(withContainer({ image: hub })).toEqual([
      `${C}: image ${hub} comes from docker.io, which is not an allowed registry (*.cr.aliyuncs.com). Fix: push the image to an allowed registry, or add the registry to the policy config's allowedRegistries.`,
    ]);
    const local = `localhost:5000/agentscope/agent@${DIGEST}`;
    expect(withContainer({ image: local })).toEqual([expect.stringContaining("comes from localhost:5000, which is not an allowed registry")]);
    expect(checkWorkload(D, deployment(podSpec({}, goodContainer({ image: local }))), { allowedRegistries: ["localhost:*"] })).toEqual([]);
  });

  it("matches registry patterns by host, or by host and path prefix", () => {
    expect(isAllowedRegistry("x-registry-vpc.cn-hangzhou.cr.aliyuncs.com", "a/b", ["*.cr.aliyuncs.com"])).toBe(true);
    expect(isAllowedRegistry("cr.aliyuncs.com.evil.io", "a/b", ["*.cr.aliyuncs.com"])).toBe(false);
    expect(isAllowedRegistry("registry.example.com", "team/app", ["registry.example.com/team/*"])).toBe(true);
    expect(isAllowedRegistry("registry.example.com", "other/app", ["registry.example.com/team/*"])).toBe(false);
    expect(isAllowedRegistry("registry.example.com", "team/sub/app", ["registry.example.com/team/*"])).toBe(true);
    expect(parseImageRef("localhost:5000/a/b:1@sha256:00")).toEqual({ host: "localhost:5000", path: "a/b", tag: "1", digest: "sha256:00" });
    expect(parseImageRef("redis:7")).toEqual({ host: "docker.io", path: "redis", tag: "7" });
  });

  it("rejects secrets in plain env values, and never repeats them", () => {
    const v = withContainer({
      env: [
        { name: "REDIS_PASSWORD", value: "hunter2hunter2" },
        { name: "DASHSCOPE_API_KEY", value: "sk-0123456789abcdef0123456789" },
        { name: "REDIS_URL", value: "redis://:s3cret@redis:6379/0" },
        { name: "ALIBABA_CLOUD_ACCESS_KEY_ID", value: "LTAI5tAbCdEfGhIjKlMn" },
      ],
    });
    expect(v).toEqual([
      `${C}: env REDIS_PASSWORD carries a secret as a plain value. Fix: store it in a Kubernetes Secret and use valueFrom.secretKeyRef (or mount the Secret as a file).`,
      expect.stringContaining("env DASHSCOPE_API_KEY carries an API key (sk-...) as a plain value"),
      expect.stringContaining("env REDIS_URL carries a URL with a password as a plain value"),
      expect.stringContaining("env ALIBABA_CLOUD_ACCESS_KEY_ID carries an Alibaba Cloud AccessKey ID as a plain value"),
    ]);
    for (const message of v) expect(message).not.toMatch(/hunter2|sk-0123|s3cret|LTAI5t/);
  });

  it("allows secret references, file paths and harmless names in env", () => {
    expect(withContainer({
      env: [
        { name: "BEARER_TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "token" } } },
        { name: "REDIS_PASSWORD_FILE", value: "/var/run/secrets/redis/password" },
        { name: "TOKEN", value: "$(BEARER_TOKEN)" },
        { name: "SECRET_NAME", value: "model-api" },
        { name: "REDIS_URL", value: "redis://redis:6379/0" },
        { name: "EMPTY_SECRET", value: "" },
      ],
    })).toEqual([]);
  });

  it("skips only the checks whose value is unknown during preview, and still reports the rest", () => {
    // A stand-in for the engine's proxy (@pulumi/policy's internal unknownCheckingProxy, exercised for
    // real in pack.test.ts): reading the unknown sentinel throws UnknownValueError.
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    class UnknownValueError extends Error {}
    const proxy = (v: unknown): unknown =>
      v !== null && typeof v === "object"
        ? new Proxy(v, {
          get(target, key) {
            const field = (target as Record<string | symbol, unknown>)[key];
            if (field === UNKNOWN) throw new UnknownValueError(`string value at .${String(key)} can't be known during preview`);
            return proxy(field);
          },
        })
        : v;
    const props = deployment(podSpec({}, goodContainer({
      image: UNKNOWN,
      livenessProbe: undefined,
      env: [{ name: "REDIS_HOST", value: UNKNOWN }, { name: "REDIS_PASSWORD", value: "plain-text-password" }],
    })));
    expect(checkWorkload(D, proxy(props) as Record<string, unknown>, cfg)).toEqual([
      expect.stringContaining(`${C}: has no livenessProbe`),
      expect.stringContaining(`${C}: env REDIS_PASSWORD carries a secret as a plain value`),
    ]);
  });
});
