// A client of the deployed agent, as a caller on this machine sees it: the agent's Service IP,
// which this machine routes itself because the embedded cluster's kube-proxy runs here.
import { getJson } from "./support";

/** The seed article's request: write bubble sort in Python and run it. */
export const SEED_REQUEST = "请帮我使用python生成一段冒泡排序算法,并执行";
/** What the bubble sort the model writes prints for the seed's list. */
export const SORTED = "[11, 12, 22, 25, 34, 64, 90]";

export interface Turn {
  status: number;
  /** Every `data:` event of the SSE stream, parsed. */
  events: Record<string, unknown>[];
  /** The whole body, as received. */
  body: string;
  seconds: number;
}

export function agentBaseUrl(namespace: string, service: string, port: number): string {
  const svc = getJson<{ spec: { clusterIP: string } }>(["service", service, "-n", namespace]);
  return `http://${svc.spec.clusterIP}:${port}`;
}

/** POST /process with the runtime's AgentRequest and reads the whole SSE stream. */
export async function ask(baseUrl: string, token: string | undefined, text: string, sessionId: string, userId = "e2e-user"): Promise<Turn> {
  const started = Date.now();
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token !== undefined) headers["Authorization"] = `Bearer ${token}`;
  const res = await fetch(`${baseUrl}/process`, {
    method: "POST",
    headers,
    body: JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text }] }], session_id: sessionId, user_id: userId }),
    signal: AbortSignal.timeout(180_000),
  });
  const body = await res.text();
  const events = body
    .split("\n")
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trim())
    .filter((l) => l && l !== "[DONE]")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: res.status, events, body, seconds: (Date.now() - started) / 1000 };
}

/** The text of every completed message in a turn, in order. */
export function completedTexts(turn: Turn): string[] {
  const out: string[] = [];
  for (const e of turn.events) {
    if (e["object"] !== "message" || e["status"] !== "completed") continue;
    for (const c of (e["content"] as { type?: string; text?: string; data?: unknown }[] | undefined) ?? []) {
      if (typeof c.text === "string") out.push(c.text);
      else if (c.data !== undefined) out.push(JSON.stringify(c.data));
    }
  }
  return out;
}

/** The final event of the stream: the response object with its status. */
export function finalStatus(turn: Turn): string | undefined {
  const last = [...turn.events].reverse().find((e) => e["object"] === "response");
  return last?.["status"] as string | undefined;
}
