/**
 * The agent gateway for real: uvicorn serves a stand-in AgentApp (with the runtime's open admin
 * routes) on 127.0.0.1, the gateway runs in front of it with the httpx and uvicorn versions the
 * agent image locks (agent-image/requirements.txt), and requests go through it over loopback.
 *
 * Needs PyPI on first run: it makes the virtualenv .venv/agent-gateway from the lock's hashes.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGatewayPy } from "../../components/workload/agent-runtime";
import { lockedVenv } from "../support/python-venv";

/** An AgentApp stand-in: /health, a streaming /process, and the unauthenticated admin routes. */
const UPSTREAM = `
import asyncio, json

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    body = b""
    while True:
        m = await receive()
        body += m.get("body", b"")
        if not m.get("more_body"):
            break
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    if path == "/process":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for i in range(3):
            event = {"i": i, "bytes": len(body), "auth": headers.get("authorization"), "host": headers.get("host")}
            await send({"type": "http.response.body", "body": ("data: " + json.dumps(event) + "\\n\\n").encode(), "more_body": True})
            await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b""})
        return
    text = {"/health": b"ok", "/shutdown": b"ADMIN", "/admin/shutdown": b"ADMIN", "/admin/status": b"ADMIN"}.get(path)
    await send({"type": "http.response.start", "status": 200 if text else 404, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text or b"nope"})
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing answers at ${url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const children: ChildProcess[] = [];
let gateway = "";
/** The same gateway with GATEWAY_AUTH=bearer, as AgentRuntime runs it in front of a user's AgentApp. */
let checking = "";
const TOKEN = "callers-token-0123456789abcdef";

beforeAll(async () => {
  const PYTHON = lockedVenv({
    name: "agent-gateway",
    lockFile: "agent-image/requirements.txt",
    // httptools: the gateway's header and body deadlines are on uvicorn's httptools protocol.
    packages: ["httpx", "httpcore", "h11", "anyio", "idna", "certifi", "typing-extensions", "uvicorn", "click", "httptools"],
  });
  const dir = mkdtempSync(join(tmpdir(), "gateway-live-"));
  writeFileSync(join(dir, "upstream.py"), UPSTREAM);
  writeFileSync(join(dir, "gateway.py"), readGatewayPy());
  const [upstreamPort, gatewayPort, checkingPort] = [await freePort(), await freePort(), await freePort()];
  children.push(spawn(PYTHON, ["-m", "uvicorn", "upstream:app", "--host", "127.0.0.1", "--port", String(upstreamPort), "--log-level", "warning"], { cwd: dir, stdio: "ignore" }));
  children.push(spawn(PYTHON, ["gateway.py"], {
    cwd: dir,
    stdio: "ignore",
    env: { ...process.env, GATEWAY_UPSTREAM: `http://127.0.0.1:${upstreamPort}`, GATEWAY_PORT: String(gatewayPort) },
  }));
  children.push(spawn(PYTHON, ["gateway.py"], {
    cwd: dir,
    stdio: "ignore",
    env: { ...process.env, GATEWAY_UPSTREAM: `http://127.0.0.1:${upstreamPort}`, GATEWAY_PORT: String(checkingPort), GATEWAY_AUTH: "bearer", GATEWAY_TOKEN: TOKEN },
  }));
  await waitFor(`http://127.0.0.1:${upstreamPort}/health`);
  gateway = `http://127.0.0.1:${gatewayPort}`;
  checking = `http://127.0.0.1:${checkingPort}`;
  await waitFor(`${gateway}/health`);
  await waitFor(`${checking}/health`);
}, 1_200_000); // a cold venv: pip downloads and installs, slow on a loaded machine

afterAll(() => {
  for (const c of children) c.kill("SIGTERM");
});

describe("agent gateway in front of an AgentApp", () => {
  it("passes /health", async () => {
    const res = await fetch(`${gateway}/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
  });

  it("streams /process as server-sent events, with the body and the caller's Authorization", async () => {
    const body = JSON.stringify({ input: "x".repeat(1000) });
    const res = await fetch(`${gateway}/process`, { method: "POST", headers: { authorization: "Bearer abc", "content-type": "application/json" }, body });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = (await res.text()).trim().split("\n\n").map((e) => JSON.parse(e.replace(/^data: /, "")) as { i: number; bytes: number; auth: string; host: string });
    expect(events.map((e) => e.i)).toEqual([0, 1, 2]);
    expect(events[0]).toMatchObject({ bytes: body.length, auth: "Bearer abc" });
    expect(events[0]!.host).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it.each(["/shutdown", "/admin/status", "/admin/shutdown", "/ADMIN/status", "/admin%2Fstatus", "/shutdown?x=1"])("refuses %s with 404", async (path) => {
    const res = await fetch(`${gateway}${path}`, { method: path.includes("status") ? "GET" : "POST" });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain("ADMIN");
  });

  it.each(["//admin/status", "/x/%2E%2E/admin/status"])("refuses the non-normal path %s with 400", async (path) => {
    // fetch would normalise the URL; send the raw request line instead.
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${gateway}/health`, { path, method: "GET" }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(400);
  });
});

describe("agent gateway with GATEWAY_AUTH=bearer and GATEWAY_TOKEN (in front of a user's AgentApp)", () => {
  const post = (auth?: string) => fetch(`${checking}/process`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(auth !== undefined ? { authorization: auth } : {}) },
    body: "{}",
  });

  it("lets the probes' /health through without a token", async () => {
    const res = await fetch(`${checking}/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
  });

  it.each([undefined, "Bearer wrong-token-0123456789abcdef", `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, "Bearer "])("answers 401 to authorization %s", async (auth) => {
    const res = await post(auth);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("forwards a caller with the token, and keeps the token from the app", async () => {
    const res = await post(`Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    const first = JSON.parse((await res.text()).split("\n\n")[0]!.replace(/^data: /, "")) as { i: number; auth: string | null };
    expect(first).toMatchObject({ i: 0, auth: null });
  });

  it("still refuses the admin routes, token or not", async () => {
    const res = await fetch(`${checking}/admin/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
  });
});
