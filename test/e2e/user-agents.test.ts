// Issue 12 on real pods: users' own agents, each one `agents` entry of a local stack, built from
// their directories by scripts/test-e2e.sh (scripts/push-images.sh, as `npm run local` builds
// them) and deployed by `pulumi up` by digest:
// - the seed article's own AgentApp (examples/seed-agent, agentscope-runtime 1.0.1), answering its
//   custom endpoints through the gateway, which checks the callers' token, and running its two
//   `@agent_app.task`s on its worker Deployment (agent_launcher/tasks.py), Redis the broker;
// - a minimal AgentScope 2.x agent (examples/agentscope2-agent), started by agentscope2_launcher:
//   a session and a streamed chat turn on the stand-in model, the user taken from the token; the
//   seed's demo run through its Bash tool in a workspace pod of the sandbox namespace, hardened
//   and cut off (agentscope2_launcher/k8s_workspaces.py).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { AGENT_SERVICE_PORT } from "../../components/workload/agent-runtime";
import { SEED_REQUEST, SORTED, agentBaseUrl } from "./agent-client";
import { OUTSIDE_HOSTS, Outside, PROBE } from "./netpol/outside";
import { localStackConfig } from "./local-config";
import { PROJECT, REPO, Stack, env, getJson, kubectl, list, ok, recordTime, run, settled } from "./support";

const AGENTS_NS = "byo-agents";
const SANDBOX_NS = "byo-sandboxes";
const TOKEN = "e2e-byo-agent-token-7c2d9a41e6";
const STAND_IN_ANSWER_START = "I am the stand-in model of the local demo";
const CAROL_TOKEN = "e2e-carol-token-0b6f3e92d1";

const base = localStackConfig(env);
const user = { model: { provider: "dashscope", name: "qwen-turbo" }, cpu: 0.5, memoryGiB: 1, replicas: { min: 1, max: 1 } };
const config = {
  ...base,
  namePrefix: "byo",
  // Neither agent uses the sandbox pool; the node's 2 vCPU go to the agents and the 2.x workspace pod.
  sandbox: { ...(base["sandbox"] as Record<string, unknown>), poolSize: 0 },
  images: { ...(base["images"] as Record<string, unknown>), userAgents: { seed: env.seedAgentImage, helper: env.agentscope2AgentImage }, workspace: env.workspaceImage },
  agents: [
    {
      ...user, name: "seed", source: { kind: "directory", path: join(REPO, "examples/seed-agent"), app: "app:agent_app", framework: "agentscope-runtime" },
      // Its two @agent_app.task functions on a worker, Redis the broker; small, for the 2-vCPU node.
      tasks: { cpu: 0.2, memoryGiB: 0.5 },
    },
    {
      ...user, name: "helper", source: { kind: "directory", path: join(REPO, "examples/agentscope2-agent"), app: "agent_hooks", framework: "agentscope2" },
      // Pods in byo-sandboxes (the default for a 2.x agent), small enough to fit beside a rollout's surge pod.
      workspaces: { kind: "pods", cpu: 0.1, memoryGiB: 0.25 },
    },
  ],
};

const stack = new Stack("byo");
const url = (agent: string) => agentBaseUrl(AGENTS_NS, `agent-${agent}`, AGENT_SERVICE_PORT);
const bearer = { Authorization: `Bearer ${TOKEN}` };

interface PodSpec {
  automountServiceAccountToken?: boolean;
  securityContext: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  containers: { name: string; image: string; securityContext: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } } }[];
}

/** Server-sent events of `res` until one satisfies `last` (or the stream ends). */
async function readEvents(res: Response, last: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>[]> {
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

describe.sequential("users' own agents on real pods", () => {
  it("pulumi up deploys both by digest, and their pods become Ready with the agents' hardening", async () => {
    stack.init(config, {
      agentApiToken: TOKEN,
      sandboxManagerToken: "e2e-byo-sandbox-manager-token-31b8",
      redisPassword: "e2e-byo-redis-password-9e04c1",
      localRegistryPassword: env.registryPassword,
    });
    const up = ok(stack.pulumi(["up", "--yes", "--skip-preview"]), "pulumi up");
    recordTime("users' agents: pulumi up", up.seconds);
    await settled("both agents Available", () => {
      for (const deployment of ["agent-seed", "agent-seed-tasks", "agent-helper"]) {
        const d = getJson<{ status: { availableReplicas?: number } }>(["deployment", deployment, "-n", AGENTS_NS]);
        expect(d.status.availableReplicas ?? 0, deployment).toBe(1);
      }
    }, 600);
    const images = { seed: env.seedAgentImage, helper: env.agentscope2AgentImage };
    for (const [agent, image] of Object.entries(images)) {
      const spec = getJson<{ spec: { template: { spec: PodSpec } } }>(["deployment", `agent-${agent}`, "-n", AGENTS_NS]).spec.template.spec;
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      // The gateway runs from our agent image: it carries the gateway's traces and metrics.
      expect(spec.containers.map((c) => [c.name, c.image])).toEqual([["agent", image], ["gateway", env.agentImage]]);
      for (const c of spec.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
      }
    }
    const worker = getJson<{ spec: { template: { spec: PodSpec } } }>(["deployment", "agent-seed-tasks", "-n", AGENTS_NS]).spec.template.spec;
    expect(worker.automountServiceAccountToken).toBe(false);
    expect(worker.containers.map((c) => [c.name, c.image])).toEqual([["worker", env.seedAgentImage]]);
    expect(worker.containers[0]!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
  });

  it("the seed's AgentApp answers its custom endpoints through the gateway, only with the token", async () => {
    const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: "Hello, how are you?" }] }], session_id: "123" });
    const post = (path: string, headers: Record<string, string>) =>
      fetch(`${url("seed")}${path}`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body, signal: AbortSignal.timeout(60_000) });
    expect((await post("/sync", {})).status).toBe(401);
    expect((await post("/sync", { Authorization: "Bearer not-the-token" })).status).toBe(401);
    const sync = await post("/sync", bearer);
    const text = await sync.text();
    expect(sync.status, text).toBe(200);
    expect(text).toMatch(/"status":\s*"ok"/);
    const stream = await (await post("/stream_async", bearer)).text();
    for (let i = 0; i < 5; i++) expect(stream).toContain(`async chunk ${i}`);
    // The runtime's unauthenticated admin route stays behind the gateway.
    expect((await post("/shutdown", bearer)).status).toBe(404);
  });

  it("the seed's gateway counted those requests on its metrics port, as Friday's does", () => {
    // From inside the gateway container: the port admits scrapers of the monitoring namespace only.
    const read = ok(kubectl(["exec", "deployment/agent-seed", "-n", AGENTS_NS, "-c", "gateway", "--", "python", "-c",
      "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9465/metrics', timeout=10).read().decode())"]), "read the gateway's metrics");
    const count = (code: string) => Number(new RegExp(`^agentscope_gateway_requests_total\\{code="${code}",route="other"\\} (\\S+)$`, "m").exec(read.stdout)?.[1] ?? 0);
    expect(count("401"), read.stdout).toBeGreaterThanOrEqual(2);
    expect(count("200"), read.stdout).toBeGreaterThanOrEqual(2);
    expect(count("404"), read.stdout).toBeGreaterThanOrEqual(1);
  });

  it("the seed's two tasks run on its worker: submitted through the gateway, finished with what they yield", async () => {
    const body = { input: [{ role: "user", content: [{ type: "text", text: "Hello, how are you?" }] }], session_id: "123" };
    const call = async (method: string, path: string, headers: Record<string, string> = bearer) =>
      fetch(`${url("seed")}${path}`, { method, headers: { "Content-Type": "application/json", ...headers }, ...(method === "POST" ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
    expect((await call("POST", "/atask", {})).status).toBe(401);
    const submitted: Record<string, { task_id: string; status: string; queue: string }> = {};
    for (const path of ["/task", "/atask"]) {
      const res = await call("POST", path);
      const answer = await res.json() as { task_id: string; status: string; queue: string };
      expect(res.status).toBe(200);
      expect(answer.status, JSON.stringify(answer)).toBe("submitted");
      submitted[path] = answer;
    }
    expect(Object.values(submitted).map((t) => t.queue).sort()).toEqual(["celery1", "default"]);
    // The sample's tasks sleep 30 s and 15 s; the worker runs both at once.
    const results: Record<string, unknown> = {};
    const deadline = Date.now() + 180_000;
    while (Object.keys(results).length < 2 && Date.now() < deadline) {
      for (const [path, task] of Object.entries(submitted)) {
        if (path in results) continue;
        const status = await (await call("GET", `${path}/${task.task_id}`)).json() as { status: string; result: unknown };
        expect(["pending", "finished"], `${path}: ${JSON.stringify(status)}`).toContain(status.status);
        if (status.status === "finished") results[path] = status.result;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect(results).toEqual({ "/task": [{ status: "ok", payload: body }], "/atask": [{ status: "ok", payload: body }] });
    const logs = run("kubectl", ["logs", "deployment/agent-seed-tasks", "-n", AGENTS_NS]);
    expect(logs.stdout + logs.stderr).toMatch(/agent_tasks\.app\.atask_handler\[[0-9a-f-]+\] succeeded/);
  });

  it("the AgentScope 2.x agent: a session and a streamed chat turn, as the token's user, whatever X-User-ID the client sends", async () => {
    const base2 = url("helper");
    const json = { "Content-Type": "application/json" };
    expect((await fetch(`${base2}/sessions/`, { method: "POST", headers: json, body: JSON.stringify({ agent_id: "helper" }) })).status).toBe(401);
    // A client-sent X-User-ID is dropped: the session belongs to the token's user ("default").
    const created = await fetch(`${base2}/sessions/`, { method: "POST", headers: { ...json, ...bearer, "X-User-ID": "mallory" }, body: JSON.stringify({ agent_id: "helper" }) });
    const createdText = await created.text();
    expect(created.status, createdText).toBe(201);
    const sessionId = (JSON.parse(createdText) as { session_id: string }).session_id;

    const started = Date.now();
    const stream = await fetch(`${base2}/sessions/${sessionId}/stream?agent_id=helper`, { headers: bearer, signal: AbortSignal.timeout(120_000) });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = readEvents(stream, (e) => e["type"] === "REPLY_END");
    await new Promise((r) => setTimeout(r, 500)); // the subscription is made just after the headers
    const chat = await fetch(`${base2}/chat/`, {
      method: "POST", headers: { ...json, ...bearer },
      body: JSON.stringify({ agent_id: "helper", session_id: sessionId, input: { name: "user", role: "user", content: [{ type: "text", text: "Who are you?" }] } }),
    });
    expect(chat.status, await chat.clone().text()).toBe(200);
    const seen = await events;
    // The first turn of a session acquires its workspace: here the pod's cold start (create, pull,
    // start, the gateway up through exec).
    recordTime("users' agents: 2.x first turn, workspace pod cold", (Date.now() - started) / 1000);
    const types = seen.map((e) => e["type"]);
    expect(types[0]).toBe("REPLY_START");
    expect(seen.at(-1), JSON.stringify(seen.at(-1))).toMatchObject({ type: "REPLY_END", finished_reason: "completed" });
    const text = seen.filter((e) => e["type"] === "TEXT_BLOCK_DELTA").map((e) => String(e["delta"])).join("");
    expect(text.startsWith(STAND_IN_ANSWER_START), text).toBe(true);

    const mine = await (await fetch(`${base2}/sessions/?agent_id=helper`, { headers: bearer })).text();
    expect(mine).toContain(sessionId);
  });

  it("the 2.x agent runs the seed's demo through its Bash tool in a hardened workspace pod, cut off from the metadata address and the API server", async () => {
    const base2 = url("helper");
    const json = { "Content-Type": "application/json", ...bearer };
    const created = await fetch(`${base2}/sessions/`, { method: "POST", headers: json, body: JSON.stringify({ agent_id: "helper" }) });
    const sessionId = (JSON.parse(await created.text()) as { session_id: string }).session_id;
    // 2.x asks before a shell command unless the session runs in bypass (agentscope/permission).
    const patched = await fetch(`${base2}/sessions/${sessionId}?agent_id=helper`, { method: "PATCH", headers: json, body: JSON.stringify({ permission_mode: "bypass" }) });
    expect(patched.status, await patched.clone().text()).toBe(200);

    const started = Date.now();
    const stream = await fetch(`${base2}/sessions/${sessionId}/stream?agent_id=helper`, { headers: bearer, signal: AbortSignal.timeout(300_000) });
    const events = readEvents(stream, (e) => e["type"] === "REPLY_END");
    await new Promise((r) => setTimeout(r, 500));
    const chat = await fetch(`${base2}/chat/`, {
      method: "POST", headers: json,
      body: JSON.stringify({ agent_id: "helper", session_id: sessionId, input: { name: "user", role: "user", content: [{ type: "text", text: SEED_REQUEST }] } }),
    });
    expect(chat.status, await chat.clone().text()).toBe(200);
    const seen = await events;
    // Same user and agent: the workspace pod of the turn before (per_agent isolation), warm.
    recordTime("users' agents: 2.x demo turn, workspace warm", (Date.now() - started) / 1000);
    expect(seen.at(-1), JSON.stringify(seen.at(-1))).toMatchObject({ type: "REPLY_END", finished_reason: "completed" });
    const text = seen.filter((e) => e["type"] === "TEXT_BLOCK_DELTA").map((e) => String(e["delta"])).join("");
    expect(text, JSON.stringify(seen.slice(-5))).toContain(SORTED);

    // The pod the code ran in: one per (user, agent), in the sandbox namespace, hardened.
    const pods = list(["pods", "-n", SANDBOX_NS, "-l", "agentscope.workspace=true"]);
    expect(pods.map((p) => p.metadata.labels?.["app.kubernetes.io/instance"])).toEqual(["byo-helper-workspace"]);
    const pod = pods[0]!;
    const spec = pod.spec as PodSpec & { enableServiceLinks?: boolean; volumes: { name: string; emptyDir?: unknown }[] };
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.enableServiceLinks).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } });
    expect(spec.containers.map((c) => [c.name, c.image])).toEqual([["workspace", env.workspaceImage]]);
    expect(spec.containers[0]!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    const resources = (spec.containers[0] as unknown as { resources: { requests: unknown; limits: unknown } }).resources;
    expect(resources.requests).toEqual(resources.limits);
    expect(ok(kubectl(["exec", "-n", SANDBOX_NS, pod.metadata.name, "--", "id", "-u"]), "id in the workspace").stdout.trim()).toBe("10001");

    // Packets from it: to hosts this test makes (the metadata address; a public web host, the
    // control that the probe itself works), and to the cluster's API server and Redis.
    const hosts = OUTSIDE_HOSTS.filter((h) => h.id === "meta" || h.id === "web");
    const outside = new Outside(hosts);
    try {
      await outside.up();
      const redis = list(["pods", "-n", AGENTS_NS, "-l", "app.kubernetes.io/name=redis"])[0]!;
      const targets = [
        { id: "metadata", host: "100.100.100.200", port: 80, proto: "TCP", kind: "echo" },
        { id: "web", host: "203.0.113.80", port: 80, proto: "TCP", kind: "echo" },
        { id: "apiserver", host: env.apiServerEndpoint, port: env.apiServerPort, proto: "TCP", kind: "connect" },
        { id: "redis", host: (redis.status as { podIP: string }).podIP, port: 6379, proto: "TCP", kind: "connect" },
      ];
      // The probe's source on stdin: the workspace image has python3 and nothing of ours.
      const probed = ok(run("kubectl", ["--kubeconfig", env.kubeconfig, "exec", "-i", "-n", SANDBOX_NS, pod.metadata.name, "--",
        "python3", "-", "connect", JSON.stringify(targets)], { input: readFileSync(PROBE, "utf8") }), "the probe in the workspace pod");
      const verdicts = JSON.parse(probed.stdout.trim().split("\n").at(-1)!) as Record<string, string>;
      expect(verdicts["web"], JSON.stringify(verdicts)).toBe("open public web 80");
      for (const id of ["metadata", "apiserver", "redis"]) expect(verdicts[id], `${id}: ${JSON.stringify(verdicts)}`).not.toMatch(/^open/);
    } finally {
      outside.down();
    }
  });

  it("an agent taken out of the config: pulumi up deletes its objects and leaves the other running", async () => {
    const helperPods = () => list(["pods", "-n", AGENTS_NS, "-l", "app.kubernetes.io/instance=byo-helper"]).map((p) => p.metadata.name);
    const before = helperPods();
    // Also frees the node's room for the helper's surge pod below (the node has 2 vCPU).
    const file = stack.configFile();
    const doc = parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    doc.config[`${PROJECT}:agents`] = (doc.config[`${PROJECT}:agents`] as { name: string }[]).filter((a) => a.name !== "seed");
    // Its image entry too: the stack refuses one that names no directory agent.
    const images = doc.config[`${PROJECT}:images`] as { userAgents: Record<string, string> };
    delete images.userAgents["seed"];
    writeFileSync(file, stringify(doc));
    const up = ok(stack.pulumi(["up", "--yes", "--skip-preview"]), "pulumi up without the seed agent");
    expect(up.stdout).toMatch(/- \d+ deleted/);
    expect(up.stdout).not.toMatch(/~ \d+ updated/);
    await settled("agent-seed gone", () => {
      const deployments = list(["deployments", "-n", AGENTS_NS]).map((d) => d.metadata.name);
      expect(deployments).toContain("agent-helper");
      expect(deployments).not.toContain("agent-seed");
      expect(deployments).not.toContain("agent-seed-tasks");
    });
    expect(helperPods()).toEqual(before);
  });

  it("per-user tokens from a Secret: the gateway reaches the 2.x app as each token's user", async () => {
    const tokens = JSON.stringify({ [createHash("sha256").update(CAROL_TOKEN).digest("hex")]: "carol" });
    ok(kubectl(["create", "secret", "generic", "helper-user-tokens", "-n", AGENTS_NS, `--from-literal=tokens.json=${tokens}`]), "create the tokens Secret");
    stack.setConfigPath("agents[0].userTokensSecret", "helper-user-tokens");
    const up = ok(stack.pulumi(["up", "--yes", "--skip-preview"]), "pulumi up with userTokensSecret");
    expect(up.stdout).toMatch(/~ 1 updated/);
    await settled("the helper rolled out with the tokens mounted", () => {
      const d = getJson<{ metadata: { generation: number }; status: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number } }>(["deployment", "agent-helper", "-n", AGENTS_NS]);
      expect(d.status.observedGeneration).toBe(d.metadata.generation);
      expect([d.status.updatedReplicas, d.status.availableReplicas, d.status.replicas]).toEqual([1, 1, 1]);
    }, 600);
    // The old pod (no tokens) serves until it is gone: wait for that, then for kube-proxy to
    // drop its endpoint (a refusal from it is a 401, as for a wrong token).
    await settled("only the new helper pod left", () => {
      const pods = list(["pods", "-n", AGENTS_NS, "-l", "app.kubernetes.io/instance=byo-helper"]);
      expect(pods.map((p) => Boolean(p.metadata.deletionTimestamp))).toEqual([false]);
    }, 180);
    const base2 = url("helper");
    const carol = { Authorization: `Bearer ${CAROL_TOKEN}`, "Content-Type": "application/json" };
    let created: Response | undefined;
    let createdText = "";
    for (let attempt = 0; attempt < 15; attempt++) {
      created = await fetch(`${base2}/sessions/`, { method: "POST", headers: carol, body: JSON.stringify({ agent_id: "helper" }) });
      createdText = await created.text();
      if (created.status !== 401) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect(created?.status, createdText).toBe(201);
    const sessionId = (JSON.parse(createdText) as { session_id: string }).session_id;
    expect(await (await fetch(`${base2}/sessions/?agent_id=helper`, { headers: carol })).text()).toContain(sessionId);
    // The shared token's user ("default") does not see carol's session.
    expect(await (await fetch(`${base2}/sessions/?agent_id=helper`, { headers: bearer })).text()).not.toContain(sessionId);
    expect((await fetch(`${base2}/sessions/?agent_id=helper`, { headers: { Authorization: "Bearer e2e-not-carol" } })).status).toBe(401);
  });

  it("pulumi destroy removes them; pulumi stack rm succeeds", () => {
    const destroy = ok(stack.pulumi(["destroy", "--yes", "--skip-preview"]), "pulumi destroy");
    recordTime("users' agents: pulumi destroy", destroy.seconds);
    ok(stack.pulumi(["stack", "rm", "--yes"]), "pulumi stack rm");
  });
});
