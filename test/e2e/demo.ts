// The seed article's demo on real pods: the agent, asked to write bubble sort and run it, has the
// sandbox manager hand out a warm sandbox, runs the code there and streams the sorted list back.
import { expect } from "vitest";
import { AGENT_SERVICE_PORT } from "../../components/workload/agent-runtime";
import type { Expected } from "./deployed";
import { agentsNs, sandboxNs } from "./deployed";
import type { Turn } from "./agent-client";
import { SEED_REQUEST, SORTED, agentBaseUrl, ask, completedTexts, finalStatus } from "./agent-client";
import type { K8sObject } from "./support";
import { kubectl, list, ok, recordTime, settled } from "./support";

/** Sandbox pods of the pool: Running and Ready, not being deleted. */
export function readySandboxPods(e: Expected): string[] {
  return list(["pods", "-n", sandboxNs(e)])
    .filter((p) => !p.metadata.deletionTimestamp)
    .filter((p) => ((p["status"] as { conditions?: { type: string; status: string }[] }).conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"))
    .map((p) => p.metadata.name)
    .sort();
}

export function agentUrl(e: Expected): string {
  return agentBaseUrl(agentsNs(e), `agent-${e.agent}`, AGENT_SERVICE_PORT);
}

/** The seed's request answered with the sorted list, by code run in a sandbox from the warm pool. */
export async function seedDemo(e: Expected, sessionId: string): Promise<Turn> {
  await settled(`the warm pool holds ${e.poolSize} ready sandbox(es)`, () => expect(readySandboxPods(e)).toHaveLength(e.poolSize), 300);
  const warm = readySandboxPods(e);
  const turn = await ask(agentUrl(e), e.secrets.agentApiToken, SEED_REQUEST, sessionId);
  recordTime("seed request end to end", turn.seconds);
  expect(turn.status, turn.body.slice(0, 2000)).toBe(200);
  expect(finalStatus(turn), turn.body.slice(-2000)).toBe("completed");
  // The tool's output (what the code printed in the sandbox) and the model's answer quoting it.
  const texts = completedTexts(turn).join("\n");
  expect(texts, turn.body.slice(-4000)).toContain(SORTED);
  // A warm sandbox was claimed and given back at the end of the turn (Friday's SandboxLease), and
  // the pool refilled: so one pod that was warm before the request is gone and a new one stands in
  // its place. Had the manager created a sandbox for the request instead, every warm pod would remain.
  await settled("the claimed sandbox released and the pool refilled", () => {
    const now = readySandboxPods(e);
    expect(now.length).toBe(e.poolSize);
    expect(warm.filter((name) => !now.includes(name)).length).toBe(1);
  }, 180);
  return turn;
}

/** Without the bearer token the gateway answers 401 and the runtime never sees the request. */
export async function refusedWithoutToken(e: Expected): Promise<void> {
  const anonymous = await ask(agentUrl(e), undefined, SEED_REQUEST, "e2e-anonymous");
  expect(anonymous.status).toBe(401);
  const wrong = await ask(agentUrl(e), "not-the-token", SEED_REQUEST, "e2e-anonymous");
  expect(wrong.status).toBe(401);
}

function podsOf(ns: string, selector: string): K8sObject[] {
  return list(["pods", "-n", ns, "-l", selector]).filter((p) => !p.metadata.deletionTimestamp);
}

/** Deletes the pods a selector names and waits until as many new ones are Ready. */
/**
 * Waits until `url` answers over HTTP at all (any status): a pod's Ready condition comes a moment
 * before kube-proxy routes its Service to it, and a request in between is refused.
 */
export async function untilAnswering(url: string, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(5000) });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${seconds}s: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function restartPods(ns: string, selector: string, what: string): Promise<void> {
  const before = podsOf(ns, selector).map((p) => p.metadata.name);
  expect(before.length, `${what} pods`).toBeGreaterThan(0);
  ok(kubectl(["delete", "pod", "-n", ns, "-l", selector, "--wait=true", "--timeout=120s"]), `delete ${what} pods`);
  await settled(`${what} back and Ready`, () => {
    const now = podsOf(ns, selector);
    expect(now.length).toBe(before.length);
    for (const p of now) {
      expect(before).not.toContain(p.metadata.name);
      const conditions = (p["status"] as { conditions?: { type: string; status: string }[] }).conditions ?? [];
      expect(conditions.some((c) => c.type === "Ready" && c.status === "True"), p.metadata.name).toBe(true);
    }
  }, 300);
}
