/** The environments a stack can be; each picks a set of defaults below. */
export const ENVIRONMENTS = ["local", "dev", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/**
 * Per-environment defaults, all in one place. `prod` carries the safe production settings; `dev`
 * is cheap and destroys cleanly; `local` runs on a laptop cluster with no cloud account.
 */
export interface EnvironmentDefaults {
  readonly platform: "alicloud" | "kubernetes";
  readonly minZones: number;
  readonly deletionProtection: boolean;
  /** Delete the cluster's SLS projects and load balancers with it, so destroy leaves nothing billed. */
  readonly cleanupOnDestroy: boolean;
  readonly auditLogs: boolean;
  readonly protect: boolean;
  readonly tagImmutability: boolean;
  readonly systemNodePool: { minSize: number; maxSize: number };
  readonly agentReplicas: { min: number; max: number };
  readonly sandboxPoolSize: number;
  readonly redisMode: "in-cluster" | "managed";
  readonly acsEnabled: boolean;
  /**
   * vCPU of the sandbox manager and of in-cluster Redis. local: a quarter each, so the whole stack
   * (agent, manager, Redis, stand-in model, a warm sandbox) fits a 2-vCPU laptop node.
   */
  readonly supportCpu: number;
  /**
   * Where sandboxes may connect (sandbox.egress.mode, docs/sandbox-egress.md). prod: `none` (code a
   * model wrote reaches nothing until the team names where it may go); local and dev: `internet`.
   */
  readonly sandboxEgressMode: "none" | "allowList" | "internet";
}

export const ENVIRONMENT_DEFAULTS: Record<Environment, EnvironmentDefaults> = {
  local: {
    platform: "kubernetes",
    minZones: 1,
    deletionProtection: false,
    cleanupOnDestroy: true,
    auditLogs: false,
    protect: false,
    tagImmutability: false,
    systemNodePool: { minSize: 1, maxSize: 2 },
    agentReplicas: { min: 1, max: 2 },
    // Two: a refill starts at each claim, so requests up to a cold create / 2 apart all find a warm one (docs/sandbox-pool.md).
    sandboxPoolSize: 2,
    redisMode: "in-cluster",
    acsEnabled: false,
    supportCpu: 0.25,
    sandboxEgressMode: "internet",
  },
  dev: {
    platform: "alicloud",
    minZones: 1,
    deletionProtection: false,
    cleanupOnDestroy: true,
    auditLogs: true,
    protect: false,
    tagImmutability: false,
    systemNodePool: { minSize: 2, maxSize: 3 },
    agentReplicas: { min: 1, max: 3 },
    sandboxPoolSize: 2,
    redisMode: "in-cluster",
    acsEnabled: true,
    supportCpu: 0.5,
    sandboxEgressMode: "internet",
  },
  prod: {
    platform: "alicloud",
    minZones: 2,
    deletionProtection: true,
    cleanupOnDestroy: false,
    auditLogs: true,
    protect: true,
    tagImmutability: true,
    systemNodePool: { minSize: 2, maxSize: 6 },
    agentReplicas: { min: 2, max: 10 },
    sandboxPoolSize: 5,
    redisMode: "managed",
    acsEnabled: true,
    supportCpu: 0.5,
    sandboxEgressMode: "none",
  },
};
