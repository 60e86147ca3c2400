// Issue 23 on real pods: the sandbox pool when it is empty, under a burst, and when its users go
// away. A local stack (as `npm run local` configures it, under its own name prefix) with sandboxes
// of 0.1 vCPU / 0.25 GiB, so that a burst's sandboxes and the pool's refills fit the 2-core node.
// Behaviour only (served, none failed, the pool back to its size, nothing left over); the times
// are measured by bench/pool-burst.sh and reported in docs/sandbox-pool.md.
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { AGENT_SERVICE_PORT } from "../../components/workload/agent-runtime";
import type { Turn } from "./agent-client";
import { SEED_REQUEST, SORTED, agentBaseUrl, ask, completedTexts, finalStatus } from "./agent-client";
import { localStackConfig } from "./local-config";
import { Stack, env, getJson, kubectl, list, ok, recordTime, settled } from "./support";

const PREFIX = "pool";
const AGENTS_NS = `${PREFIX}-agents`;
const SANDBOX_NS = `${PREFIX}-sandboxes`;
const TOKEN = "e2e-pool-agent-token-3f8a61c0d2";
const BURST = 6;
const POOL = 2;

const base = localStackConfig(env);
const sandbox = (poolSize: number) => ({ ...(base["sandbox"] as Record<string, unknown>), poolSize, cpu: 0.1, memoryGiB: 0.25 });
const config = { ...base, namePrefix: PREFIX, sandbox: sandbox(0) };
const stack = new Stack("pool");

interface SandboxPod { metadata: { name: string; deletionTimestamp?: string }; spec: { containers: { resources: { limits: { memory: string } } }[] } }
interface Pod { metadata: { name: string; deletionTimestamp?: string }; status?: { conditions?: { type: string; status: string }[] } }

/** Sandbox pods not being deleted, and of those the Ready ones. */
function sandboxes(): { live: string[]; ready: string[] } {
  const pods = list(["pods", "-n", SANDBOX_NS, "-l", "app.kubernetes.io/component=sandbox"]) as unknown as Pod[];
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.filter((p) => (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"));
  return { live: live.map((p) => p.metadata.name).sort(), ready: ready.map((p) => p.metadata.name).sort() };
}

/** Exactly `size` sandboxes, all Ready, and nothing else in the sandbox namespace: no other pod, no Service. */
async function poolIsWhole(size: number, what: string): Promise<string[]> {
  await settled(what, () => {
    const s = sandboxes();
    expect(s.live, "sandbox pods").toHaveLength(size);
    expect(s.ready, "Ready sandbox pods").toEqual(s.live);
    expect(list(["pods", "-n", SANDBOX_NS]).map((p) => p.metadata.name).sort(), "every pod of the namespace").toEqual(s.live);
    expect(list(["services", "-n", SANDBOX_NS]).map((o) => o.metadata.name), "Services in the sandbox namespace").toEqual([]);
  }, 300);
  return sandboxes().live;
}

function agentUrl(): string {
  return agentBaseUrl(AGENTS_NS, "agent-friday", AGENT_SERVICE_PORT);
}

function served(turn: Turn, what: string): void {
  expect(turn.status, `${what}: ${turn.body.slice(0, 1000)}`).toBe(200);
  expect(finalStatus(turn), `${what}: ${turn.body.slice(-1000)}`).toBe("completed");
  expect(completedTexts(turn).join("\n"), `${what}: the code's output`).toContain(SORTED);
}

function up(what: string): void {
  const r = ok(stack.pulumi(["up", "--yes", "--skip-preview"]), what);
  recordTime(`pool: ${what}`, r.seconds);
  ok(kubectl(["wait", "--for=condition=Available", "deploy", "--all", "-n", AGENTS_NS, "--timeout=300s"]), `${AGENTS_NS} Deployments Available`);
}

/**
 * Claims a sandbox from inside the agent's pod (its own manager URL, token and sandbox type: one from
 * the pool, whose refill starts), so that the manager records that pod as the sandbox's owner;
 * returns the sandbox's name and the holding process.
 */
async function holdFromAgentPod(agentPod: string): Promise<{ sandbox: string; stop: () => void }> {
  const holder = spawn("kubectl", ["--kubeconfig", env.kubeconfig, "exec", "-i", "-n", AGENTS_NS, agentPod, "-c", "agent", "--", "python", "-"],
    { stdio: ["pipe", "pipe", "inherit"] });
  createReadStream(join(__dirname, "fixtures", "hold_sandbox.py")).pipe(holder.stdin);
  const lines = createInterface({ input: holder.stdout });
  const first = new Promise<string>((resolve, reject) => {
    lines.once("line", (line) => resolve(line.trim()));
    holder.once("exit", (code) => reject(new Error(`the holder in ${agentPod} exited ${code} before claiming`)));
  });
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no sandbox claimed within 180 s")), 180_000).unref());
  const sandbox = await Promise.race([first, timeout]);
  return { sandbox, stop: () => holder.kill() };
}

describe.sequential("the sandbox pool on the real node", () => {
  it("an empty pool is not an error: with poolSize 0 the seed's request gets a sandbox made for it, and none stays", async () => {
    stack.init(config, {
      agentApiToken: TOKEN,
      sandboxManagerToken: "e2e-pool-manager-token-b71c5e09",
      redisPassword: "e2e-pool-redis-password-2d94a7",
      localRegistryPassword: env.registryPassword,
    });
    up("first pulumi up, poolSize 0");
    await poolIsWhole(0, "no warm sandbox with poolSize 0");
    served(await ask(agentUrl(), TOKEN, SEED_REQUEST, "pool-empty"), "the request on an empty pool");
    // Released at the turn's end: nothing of it left, and no pool made up behind it.
    await poolIsWhole(0, "the on-demand sandbox released");
  });

  it(`a burst of ${BURST} requests with a pool of ${POOL}: all served, none failed, the pool back to ${POOL}`, async () => {
    stack.setConfigPath("sandbox.poolSize", String(POOL));
    up(`pulumi up, poolSize ${POOL}`);
    const warm = await poolIsWhole(POOL, `the warm pool holds ${POOL}`);
    const turns = await Promise.all(Array.from({ length: BURST }, (_, i) => ask(agentUrl(), TOKEN, SEED_REQUEST, `pool-burst-${i}`)));
    turns.forEach((turn, i) => served(turn, `burst request ${i + 1} of ${BURST}`));
    const after = await poolIsWhole(POOL, `every burst sandbox released and the pool refilled to ${POOL}`);
    // Both warm sandboxes were handed out (the other claims were served by sandboxes created for
    // them): the pool now holds refills only.
    expect(after.filter((name) => warm.includes(name)), "warm sandboxes from before the burst still in the pool").toEqual([]);
  });

  it("a sandbox held by an agent pod that is killed is released (before the idle timeout), and the pool is whole again", async () => {
    const selector = getJson<{ spec: { selector: Record<string, string> } }>(["service", "agent-friday", "-n", AGENTS_NS]).spec.selector;
    const agentPod = list(["pods", "-n", AGENTS_NS, "-l", Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(",")])
      .filter((p) => !p.metadata.deletionTimestamp)[0]?.metadata.name;
    expect(agentPod, "an agent pod").toBeDefined();
    const warm = await poolIsWhole(POOL, `the pool at ${POOL} before the claim`);
    const held = await holdFromAgentPod(agentPod!);
    try {
      expect(warm, "the held sandbox came from the warm pool").toContain(held.sandbox);
      expect(sandboxes().live, "the held sandbox is a live pod").toContain(held.sandbox);
      await new Promise((r) => setTimeout(r, 3000)); // the manager resolves the claim's IP to its pod right after the claim
      ok(kubectl(["delete", "pod", "-n", AGENTS_NS, agentPod!, "--grace-period=0", "--force", "--wait=false"]), "kill the agent pod");
    } finally {
      held.stop();
    }
    // sessionIdleTimeoutSeconds is 300 s: gone well before that, it was the owner check that released it.
    await settled("the dead agent's sandbox released", () => expect(sandboxes().live).not.toContain(held.sandbox), 120);
    await poolIsWhole(POOL, `the pool whole again at ${POOL}, nothing else left`);
  });

  it("after pulumi up changes the sandboxes, no warm sandbox of the old settings stays to be handed out", async () => {
    // The warm queue is in Redis and survives the manager's roll; the new manager releases what
    // other settings made (agent-image/sandbox_manager_ext/pool.py drop_stale_warm).
    const memory = () => (list(["pods", "-n", SANDBOX_NS, "-l", "app.kubernetes.io/component=sandbox"]) as unknown as SandboxPod[])
      .filter((p) => !p.metadata.deletionTimestamp).map((p) => p.spec.containers[0]!.resources.limits.memory);
    const before = await poolIsWhole(POOL, `the pool at ${POOL} before the change`);
    expect(memory(), "the warm sandboxes' memory before").toEqual(Array(POOL).fill("256Mi"));
    stack.setConfigPath("sandbox.memoryGiB", "0.3");
    up("pulumi up, sandbox.memoryGiB 0.3");
    const after = await poolIsWhole(POOL, `the pool at ${POOL} again after the change`);
    expect(memory(), "the warm sandboxes' memory after").toEqual(Array(POOL).fill("307Mi"));
    expect(after.filter((name) => before.includes(name)), "warm sandboxes of the old settings").toEqual([]);
    served(await ask(agentUrl(), TOKEN, SEED_REQUEST, "pool-after-change"), "a request after the change");
  });

  it("pulumi destroy leaves no sandbox behind", async () => {
    ok(stack.pulumi(["destroy", "--yes", "--skip-preview"]), "pulumi destroy");
    await settled("the sandbox namespace gone", () => {
      expect(kubectl(["get", "namespace", SANDBOX_NS]).code, `namespace ${SANDBOX_NS}`).not.toBe(0);
    }, 180);
    ok(stack.pulumi(["stack", "rm", "--yes"]), "pulumi stack rm");
  });
});
