// A client of an AgentScope 2.x agent behind the stack's gateway (agentscope2_launcher): a new
// session, in bypass mode (no approval asked before a shell command), and one chat turn streamed
// to its REPLY_END. user-agents.test.ts has the same reading inline.

export interface As2Turn {
  readonly sessionId: string;
  /** From the session's creation to the turn's REPLY_END: what a user waits for a first turn. */
  readonly seconds: number;
  readonly text: string;
  readonly last: Record<string, unknown> | undefined;
}

/** Server-sent events of `res` until one satisfies `last` (or the stream ends). */
export async function readEvents(res: Response, last: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> {
  const reader: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: Record<string, unknown>[] = [];
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut + 1);
      if (!line.startsWith("data:")) continue;
      const event = JSON.parse(line.slice(5)) as Record<string, unknown>;
      events.push(event);
      if (last(event)) {
        await reader.cancel();
        return events;
      }
    }
  }
}

/** A new session of `agent` and its first turn with `text`, timed from the session's creation. */
export async function firstTurn(baseUrl: string, token: string, agent: string, text: string): Promise<As2Turn> {
  const json = { "Content-Type": "application/json", Authorization: `Bearer ${token}` };
  const started = Date.now();
  const created = await fetch(`${baseUrl}/sessions/`, { method: "POST", headers: json, body: JSON.stringify({ agent_id: agent }), signal: AbortSignal.timeout(300_000) });
  const createdText = await created.text();
  if (created.status !== 201) throw new Error(`POST /sessions/: ${created.status} ${createdText}`);
  const sessionId = (JSON.parse(createdText) as { session_id: string }).session_id;
  const patched = await fetch(`${baseUrl}/sessions/${sessionId}?agent_id=${agent}`, { method: "PATCH", headers: json, body: JSON.stringify({ permission_mode: "bypass" }) });
  if (patched.status !== 200) throw new Error(`PATCH session: ${patched.status} ${await patched.text()}`);
  const stream = await fetch(`${baseUrl}/sessions/${sessionId}/stream?agent_id=${agent}`, { headers: { Authorization: json.Authorization }, signal: AbortSignal.timeout(300_000) });
  const events = readEvents(stream, (e) => e["type"] === "REPLY_END");
  await new Promise((r) => setTimeout(r, 300)); // the subscription is made just after the headers
  const chat = await fetch(`${baseUrl}/chat/`, {
    method: "POST", headers: json,
    body: JSON.stringify({ agent_id: agent, session_id: sessionId, input: { name: "user", role: "user", content: [{ type: "text", text }] } }),
  });
  if (chat.status !== 200) throw new Error(`POST /chat/: ${chat.status} ${await chat.text()}`);
  const seen = await events;
  const seconds = (Date.now() - started) / 1000;
  const answer = seen.filter((e) => e["type"] === "TEXT_BLOCK_DELTA").map((e) => String(e["delta"])).join("");
  return { sessionId, seconds, text: answer, last: seen.at(-1) };
}
