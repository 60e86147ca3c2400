// Helpers of the end-to-end suite: the real Pulumi CLI and kubectl (from e2e/toolchain) against the
// embedded cluster (a real node and the ACS-like kwok node) that scripts/test-e2e.sh starts. Everything comes in through the environment that
// script sets; run the suite through it (npm run test:e2e), not alone.
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";

export const REPO = resolve(__dirname, "..", "..");
export const PROJECT = "agentscope-ack";

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite through scripts/test-e2e.sh (npm run test:e2e)`);
  return value;
}

/** What scripts/test-e2e.sh hands over. */
export const env = {
  work: need("E2E_WORK"),
  kubeconfig: need("KUBECONFIG"),
  registry: need("E2E_REGISTRY"),
  registryUser: need("E2E_REGISTRY_USER"),
  registryPassword: need("E2E_REGISTRY_PASSWORD"),
  agentImage: need("E2E_AGENT_IMAGE"),
  managerImage: need("E2E_MANAGER_IMAGE"),
  sandboxImage: need("E2E_SANDBOX_IMAGE"),
  standInModelImage: need("E2E_STAND_IN_MODEL_IMAGE"),
  redisImage: need("E2E_REDIS_IMAGE"),
  traceViewerImage: need("E2E_TRACE_VIEWER_IMAGE"),
  /** examples/seed-agent and examples/agentscope2-agent, built on the user-agent kit. */
  seedAgentImage: need("E2E_SEED_AGENT_IMAGE"),
  agentscope2AgentImage: need("E2E_AGENTSCOPE2_AGENT_IMAGE"),
  workspaceImage: need("E2E_WORKSPACE_IMAGE"),
  /** The sandboxes' egress proxy (target egress-proxy), for sandbox-egress-packets.test.ts. */
  egressProxyImage: need("E2E_EGRESS_PROXY_IMAGE"),
  timings: need("E2E_TIMINGS"),
  stateDir: need("PULUMI_BACKEND_URL").replace(/^file:\/\//, ""),
  apiServerEndpoint: need("E2E_APISERVER_ENDPOINT"),
  apiServerPort: Number(need("E2E_APISERVER_PORT")),
};

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs a command to its end (15 minutes at most); output kept, never thrown on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMinutes?: number } = {}): Run {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: (opts.timeoutMinutes ?? 15) * 60_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
}

/** Fails with the command's output when it did not exit 0. */
export function ok(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stdout ---\n${r.stdout.slice(-20_000)}\n--- stderr ---\n${r.stderr.slice(-20_000)}`);
  return r;
}

/** One line "<name> <seconds>" in the timings file; test-e2e.sh prints them at the end. */
export function recordTime(name: string, seconds: number): void {
  appendFileSync(env.timings, `${name}\t${seconds.toFixed(1)}\n`);
  console.log(`[e2e] ${name}: ${seconds.toFixed(1)}s`);
}

// ---------- kubectl ----------

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid: string; resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  // The rest is read per kind in the tests.
  spec?: unknown;
  status?: unknown;
  data?: Record<string, string>;
  [key: string]: unknown;
}

export function kubectl(args: string[]): Run {
  return run("kubectl", ["--kubeconfig", env.kubeconfig, ...args]);
}

/** `kubectl get ... -o json` → the items (or the one object). */
export function getJson<T = K8sObject>(args: string[]): T {
  const r = ok(kubectl(["get", ...args, "-o", "json"]), `kubectl get ${args.join(" ")}`);
  return JSON.parse(r.stdout) as T;
}

export function list(args: string[]): K8sObject[] {
  return getJson<{ items: K8sObject[] }>(args).items;
}

/** Every listable resource type the API server serves, split by scope. */
export function resourceTypes(): { namespaced: string[]; cluster: string[] } {
  const names = (namespaced: boolean) =>
    ok(kubectl(["api-resources", "--verbs=list", `--namespaced=${namespaced}`, "-o", "name"]), "kubectl api-resources")
      .stdout.split("\n").map((s) => s.trim()).filter(Boolean)
      // Events are records about objects, not objects of ours; they outlive them by design.
      .filter((n) => n !== "events" && n !== "events.events.k8s.io");
  return { namespaced: names(true), cluster: names(false) };
}

/** Every object in the cluster (all types, all namespaces) that passes `keep`. */
export function allObjects(keep: (o: K8sObject) => boolean, selector?: string): K8sObject[] {
  const t = resourceTypes();
  const out: K8sObject[] = [];
  for (const [types, scope] of [[t.namespaced, ["-A"]], [t.cluster, []]] as const) {
    const items = list([types.join(","), ...scope, ...(selector ? ["-l", selector] : [])]);
    out.push(...items.filter(keep));
  }
  return out;
}

/** Polls `check` until it returns undefined (success) or the time is up; then throws its last complaint. */
export async function eventually(what: string, check: () => string | undefined, seconds = 120): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  let problem: string | undefined = "not checked";
  while (Date.now() < deadline) {
    problem = check();
    if (problem === undefined) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`${what}: still ${problem} after ${seconds}s`);
}

/** Retries a block of assertions until it passes (controllers settle status a little after `up`). */
export async function settled(what: string, assertions: () => void, seconds = 120): Promise<void> {
  await eventually(what, () => {
    try {
      assertions();
      return undefined;
    } catch (e) {
      return (e as Error).message.split("\n")[0];
    }
  }, seconds);
  assertions();
}

// ---------- Pulumi ----------

/** A stack of the repository's program, in a copy of it under the work directory. */
export class Stack {
  readonly dir: string;

  constructor(readonly name: string) {
    this.dir = join(env.work, "programs", name);
  }

  /** Copies the program, inits the stack, writes its config and sets the secrets with the CLI. */
  init(config: Record<string, unknown>, secrets: Record<string, string>): void {
    mkdirSync(this.dir, { recursive: true });
    for (const f of ["Pulumi.yaml", "tsconfig.json", "index.ts", "config", "components"]) cpSync(join(REPO, f), join(this.dir, f), { recursive: true });
    // package.json without the package's entry points (bin/ is a build output the program does not need).
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as Record<string, unknown>;
    for (const key of ["main", "types", "exports", "files"]) delete pkg[key];
    writeFileSync(join(this.dir, "package.json"), JSON.stringify(pkg, null, 2));
    symlinkSync(join(REPO, "node_modules"), join(this.dir, "node_modules"));
    ok(run("pulumi", ["stack", "init", this.name, "--non-interactive"], { cwd: this.dir }), "pulumi stack init");
    // Structured values go in as YAML (as Pulumi.local.yaml has them): `pulumi config set --path`
    // stores 0.5 as the string "0.5", which the schema rightly refuses.
    const file = this.configFile();
    const doc = (parse(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    doc.config = { ...doc.config, ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`${PROJECT}:${k}`, v])) };
    writeFileSync(file, stringify(doc));
    for (const [key, value] of Object.entries(secrets)) ok(this.pulumi(["config", "set", "--secret", key, value]), `pulumi config set --secret ${key}`);
  }

  configFile(): string {
    return join(this.dir, `Pulumi.${this.name}.yaml`);
  }

  pulumi(args: string[], extraEnv: Record<string, string> = {}): Run {
    return run("pulumi", [...args, "--non-interactive", "--color", "never", "--stack", this.name], { cwd: this.dir, env: extraEnv });
  }

  setConfigPath(path: string, value: string): void {
    ok(this.pulumi(["config", "set", "--path", path, value]), `pulumi config set --path ${path}`);
  }
}

/** Files under `dir`, recursively, with their text. */
export function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push({ path: p, text: readFileSync(p, "utf8") });
  }
  return out;
}

/** A secret as it may leak: literally, or base64 (a Secret's data, a dockerconfigjson's auth). */
export function leakForms(secret: string): string[] {
  return [secret, Buffer.from(secret).toString("base64")];
}
