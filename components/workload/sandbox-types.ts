/** Sandbox kinds that `runtime-sandbox-server` can pre-warm (DEFAULT_SANDBOX_TYPE). */
export const SANDBOX_TYPES = ["base", "browser", "filesystem", "gui"] as const;
export type SandboxType = (typeof SANDBOX_TYPES)[number];
