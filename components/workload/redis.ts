import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsPlacement } from "./acs";
import { NO_ACS, acsPodAnnotations, acsPodLabels, acsTolerations } from "./acs";
import type { WorkloadIdentity } from "./labels";
import { recommendedLabels, selectorLabels } from "./labels";
import { guaranteedResources } from "./resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpVolume, tmpVolumeMount } from "./security-context";
import { requireDigestRef, requireInt, requirePositive } from "./validate";

/** Where agents and the sandbox manager find Redis: the in-cluster one, or a managed Tair/Redis. */
export interface RedisEndpoint {
  /** Host name or IP. */
  host: pulumi.Input<string>;
  /** TCP port (6379 for Tair/Redis). */
  port: pulumi.Input<number>;
  /** Password, a Pulumi secret. */
  password: pulumi.Input<string>;
  /** ACL user, when the instance uses accounts (default none: AUTH with the password only). */
  username?: pulumi.Input<string>;
  /**
   * CIDR blocks the endpoint's addresses lie in, for NetworkPolicy egress (a NetworkPolicy cannot
   * name a host). For the in-cluster Redis leave empty: the policy selects its pod instead.
   */
  cidrs?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * The official image pinned by digest (redis 7.4 on Alpine, multi-arch index). Mirror it into your
 * ACR for clusters that cannot reach Docker Hub, and pass the mirror's digest as `image`.
 */
export const DEFAULT_REDIS_IMAGE = "docker.io/library/redis:7.4-alpine@sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf";
export const REDIS_PORT = 6379;

/** A single-replica in-cluster Redis with a password and a persistent volume (for local and dev). */
export interface InClusterRedisArgs {
  /** Namespace to run in (the agents namespace). */
  namespace: pulumi.Input<string>;
  /** `app.kubernetes.io/part-of` (the stack's name prefix). */
  partOf: string;
  /** Password (`requirepass`), a Pulumi secret. */
  password: pulumi.Input<string>;
  /** Image pinned by digest (default DEFAULT_REDIS_IMAGE); an Output is checked by the pack's digest rule. */
  image?: pulumi.Input<string>;
  /** Size of the data volume in GiB (default 5). */
  storageGiB?: number;
  /** StorageClass of the data volume (default: the cluster's default class). */
  storageClassName?: string;
  /** vCPU, requests = limits (default 0.5). */
  cpu?: number;
  /** Memory in GiB, requests = limits (default 1); `maxmemory` is three quarters of it. */
  memoryGiB?: number;
  /** ACS placement (default NO_ACS: the volume is zonal, and ECS nodes attach it simply). */
  acs?: AcsPlacement;
}

export interface ResolvedInClusterRedisArgs {
  readonly namespace: pulumi.Input<string>;
  readonly identity: WorkloadIdentity;
  readonly password: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  readonly storageGiB: number;
  readonly storageClassName?: string;
  readonly cpu: number;
  readonly memoryGiB: number;
  readonly maxMemoryMiB: number;
  readonly acs: AcsPlacement;
}

export function resolveInClusterRedisArgs(args: InClusterRedisArgs): ResolvedInClusterRedisArgs {
  const image = args.image ?? DEFAULT_REDIS_IMAGE;
  if (typeof image === "string") requireDigestRef("InClusterRedis", "image", image);
  const storageGiB = args.storageGiB ?? 5;
  requireInt("InClusterRedis", "storageGiB", storageGiB, 1, 1024);
  const cpu = args.cpu ?? 0.5;
  const memoryGiB = args.memoryGiB ?? 1;
  requirePositive("InClusterRedis", "cpu", cpu);
  requirePositive("InClusterRedis", "memoryGiB", memoryGiB);
  return {
    namespace: args.namespace,
    identity: { name: "redis", instance: `${args.partOf}-redis`, component: "state-store", partOf: args.partOf, version: "7.4" },
    password: args.password,
    image,
    storageGiB,
    ...(args.storageClassName ? { storageClassName: args.storageClassName } : {}),
    cpu,
    memoryGiB,
    maxMemoryMiB: Math.floor(memoryGiB * 1024 * 0.75),
    acs: args.acs ?? NO_ACS,
  };
}

/** redis.conf quoting: a double-quoted string with backslash escapes. */
function quoteRedis(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error("InClusterRedis: password must be a single line");
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The server config; `requirepass` makes it a secret, so it lives in a Secret, never on a command line. */
export function renderRedisConfig(password: string, maxMemoryMiB: number): string {
  return [
    "bind 0.0.0.0",
    `port ${REDIS_PORT}`,
    "protected-mode yes",
    `requirepass ${quoteRedis(password)}`,
    "dir /data",
    "appendonly yes",
    "appendfsync everysec",
    `maxmemory ${maxMemoryMiB}mb`,
    // Sessions and the sandbox pool's queues must never be evicted silently: fail writes instead.
    "maxmemory-policy noeviction",
    "",
  ].join("\n");
}

export class InClusterRedis extends pulumi.ComponentResource {
  /** Where clients connect; password included as a secret. */
  public readonly endpoint: pulumi.Output<RedisEndpoint>;
  /** Service DNS name. */
  public readonly host: pulumi.Output<string>;
  public readonly port: pulumi.Output<number>;
  /** Labels that select the Redis pod (for NetworkPolicies). */
  public readonly podSelector: Record<string, string>;

  constructor(name: string, args: InClusterRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:InClusterRedis", name, {}, opts);
    const r = resolveInClusterRedisArgs(args);
    const labels = recommendedLabels(r.identity);
    const selector = selectorLabels(r.identity);
    const password = pulumi.secret(r.password);

    const secret = new k8s.core.v1.Secret(`${name}-auth`, {
      metadata: { name: "redis-auth", namespace: r.namespace, labels },
      type: "Opaque",
      stringData: {
        password,
        "redis.conf": password.apply((p) => renderRedisConfig(p, r.maxMemoryMiB)),
      },
    }, { parent: this, deleteBeforeReplace: true });

    const service = new k8s.core.v1.Service(`${name}-service`, {
      metadata: { name: "redis", namespace: r.namespace, labels },
      spec: {
        type: "ClusterIP",
        selector,
        ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis", protocol: "TCP" }],
      },
    }, { parent: this, deleteBeforeReplace: true });
    // The StatefulSet's governing Service must be headless (Kubernetes StatefulSet docs: "a Headless
    // Service is required"); clients keep using the ClusterIP Service above.
    new k8s.core.v1.Service(`${name}-headless`, {
      metadata: { name: "redis-headless", namespace: r.namespace, labels },
      spec: {
        clusterIP: "None",
        selector,
        ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis", protocol: "TCP" }],
      },
    }, { parent: this, deleteBeforeReplace: true });

    const podSecurity = restrictedPodSecurityContext();
    new k8s.apps.v1.StatefulSet(`${name}-statefulset`, {
      metadata: { name: "redis", namespace: r.namespace, labels },
      spec: {
        replicas: 1,
        serviceName: "redis-headless",
        selector: { matchLabels: selector },
        updateStrategy: { type: "RollingUpdate" },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        template: {
          metadata: {
            labels: { ...labels, ...acsPodLabels(r.acs) },
            annotations: acsPodAnnotations(r.acs),
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { ...podSecurity, fsGroupChangePolicy: "OnRootMismatch" },
            tolerations: acsTolerations(r.acs),
            terminationGracePeriodSeconds: 30,
            containers: [{
              name: "redis",
              image: r.image,
              command: ["redis-server", "/etc/redis/redis.conf"],
              ports: [{ name: "redis", containerPort: REDIS_PORT, protocol: "TCP" }],
              env: [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "password" } } }],
              resources: guaranteedResources(r.cpu, r.memoryGiB),
              securityContext: restrictedContainerSecurityContext(),
              startupProbe: { tcpSocket: { port: "redis" }, periodSeconds: 2, failureThreshold: 30 },
              readinessProbe: {
                exec: { command: ["sh", "-c", "redis-cli -h 127.0.0.1 ping | grep -q PONG"] },
                periodSeconds: 10,
                timeoutSeconds: 3,
              },
              livenessProbe: { tcpSocket: { port: "redis" }, periodSeconds: 10, failureThreshold: 6 },
              volumeMounts: [
                { name: "data", mountPath: "/data" },
                { name: "config", mountPath: "/etc/redis", readOnly: true },
                tmpVolumeMount(),
              ],
            }],
            volumes: [
              { name: "config", secret: { secretName: secret.metadata.name, items: [{ key: "redis.conf", path: "redis.conf" }], defaultMode: 0o440 } },
              tmpVolume("64Mi"),
            ],
          },
        },
        volumeClaimTemplates: [{
          metadata: { name: "data", labels },
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(r.storageClassName ? { storageClassName: r.storageClassName } : {}),
            resources: { requests: { storage: `${r.storageGiB}Gi` } },
          },
        }],
      },
    }, { parent: this, dependsOn: [service], deleteBeforeReplace: true });

    this.host = pulumi.interpolate`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;
    this.port = pulumi.output(REDIS_PORT);
    this.podSelector = selector;
    this.endpoint = pulumi.output({ host: this.host, port: REDIS_PORT, password, cidrs: [] as string[] });
    this.registerOutputs({ host: this.host, port: this.port, endpoint: this.endpoint });
  }
}
