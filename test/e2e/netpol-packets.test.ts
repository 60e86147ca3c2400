// Issue 9 §4: the flow table of test/network-flows.test.ts on real packets. The local stack's
// program (index.ts, run under the Pulumi mock engine with local.test.ts's config and the real
// cluster's default/kubernetes EndpointSlice) renders its Namespaces, Services and NetworkPolicies;
// kubectl applies exactly those (no images, no `pulumi up`: seconds instead of minutes, and the same
// objects). Probe pods with each role's labels, the real CoreDNS, and outside hosts in network
// namespaces (outside.ts) then carry one real connection per row, first without the policies
// (every path must be open, so a later "deny" means the policy), then with them; each row must get
// the verdict the evaluator (support/netpol.ts) gives on that same world. Twice: with sandbox egress
// `internet` (the local stack as shipped) and `allowList` (the egress proxy's rows, and sandboxes cut
// off from every address and from DNS), each in namespaces of its own run.
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Flow, World } from "../support/flow-table";
import { connectionOf, flowTitle } from "../support/flow-table";
import type { K8sObject as RenderedObject } from "../support/mocks";
import type { Connection, Endpoint, PodEndpoint } from "../support/netpol";
import { evaluate } from "../support/netpol";
import { programObjects } from "../support/netpol-cluster";
import { runProgram } from "../support/program";
import { OUTSIDE_HOSTS, Outside } from "./netpol/outside";
import type { ProbeRole } from "./netpol/probe-pods";
import { pushProbeImage } from "./netpol/probe-image";
import { probeConfigMap, probePod } from "./netpol/probe-pods";
import type { EgressVariant } from "./netpol/world";
import { CALLERS, EGRESS_VARIANTS, localConfig, probeRoles, probeWorld, rowsFor } from "./netpol/world";
import { env, getJson, kubectl, ok, run } from "./support";

interface Target { readonly id: string; readonly host: string; readonly port: number; readonly proto: string; readonly kind: "echo" | "dns" | "connect" }
interface Probe { readonly row: Flow; readonly title: string; readonly conn: Connection; readonly source: Endpoint; readonly target: Target; readonly expectReply?: string }
interface Outcome { readonly probe: Probe; readonly raw: string; readonly packets: "allow" | "deny" | "wrong target" }

const outside = new Outside(OUTSIDE_HOSTS);

/** One run of the table: its world, probes and outcomes. */
interface Run {
  world?: World;
  probes: Probe[];
  readonly podOf: Map<Endpoint, ProbeRole>;
  readonly createdNamespaces: string[];
  policies: RenderedObject[];
  readonly final: Map<string, Outcome>;
}

function apply(objects: readonly Record<string, unknown>[]): void {
  const clean = objects.map(({ __pulumiName: _, ...o }) => o);
  ok(run("kubectl", ["--kubeconfig", env.kubeconfig, "apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: clean }) }), "kubectl apply");
}

function execAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.slice(0, 6).join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

interface PodJson { metadata: { name: string; namespace: string; labels?: Record<string, string> }; status?: { podIP?: string }; spec: { containers: { ports?: PodEndpoint["ports"] }[] } }

function podIp(namespace: string, name: string): string {
  const ip = getJson<PodJson>(["pod", name, "-n", namespace]).status?.podIP;
  if (!ip) throw new Error(`pod ${namespace}/${name} has no IP`);
  return ip;
}

/** The row as a real connection: Service rows go to the ClusterIP (kube-proxy's DNAT for real). */
function probeFor(w: World, row: Flow, apiPort: number): Probe {
  const r = row.to === "API server" ? { ...row, port: apiPort } : row;
  const conn = connectionOf(w, r);
  const to = conn.to;
  let host = to.kind === "external" ? to.ip : (to.ip ?? "");
  if (r.via === "service" && to.kind === "pod") {
    host = getJson<{ spec: { clusterIP: string } }>(["service", to.name, "-n", to.namespace]).spec.clusterIP;
  }
  const kind = r.to === "kube-dns" ? "dns" : r.to === "API server" ? "connect" : "echo";
  // Keyed by the table's own title (the API server's port aside, the row is unchanged).
  const target: Target = { id: flowTitle(row), host, port: r.via ? r.port : conn.port, proto: conn.protocol ?? "TCP", kind };
  return { row: r, title: flowTitle(row), conn, source: conn.from, target, ...(kind === "echo" ? { expectReply: `${to.name} ` } : {}) };
}

/** All probes, grouped by source, every source at once; each source tries its targets in parallel. */
async function runProbes(run: Run, list: readonly Probe[]): Promise<Map<string, Outcome>> {
  const bySource = new Map<Endpoint, Probe[]>();
  for (const p of list) bySource.set(p.source, [...(bySource.get(p.source) ?? []), p]);
  const out = new Map<string, Outcome>();
  await Promise.all([...bySource].map(async ([source, ps]) => {
    const json = JSON.stringify(ps.map((p) => p.target));
    let stdout: string;
    if (source.kind === "pod") {
      const pod = run.podOf.get(source);
      if (pod === undefined) throw new Error(`no probe pod for ${source.name}`);
      stdout = await execAsync("kubectl", ["--kubeconfig", env.kubeconfig, "exec", "-n", pod.namespace, pod.pod, "-c", "probe", "--", "python3", "/probe/probe.py", "connect", json]);
    } else {
      const host = OUTSIDE_HOSTS.find((h) => h.name === source.name);
      if (host === undefined) throw new Error(`no outside host for ${source.name}`);
      const [cmd, args] = outside.clientArgs(host);
      stdout = await execAsync(cmd, [...args, "connect", json]);
    }
    const results = JSON.parse(stdout) as Record<string, string>;
    for (const p of ps) {
      const raw = results[p.target.id] ?? "no result";
      const open = raw.startsWith("open ");
      const rightHost = p.expectReply === undefined || raw.slice(5).startsWith(p.expectReply);
      out.set(p.title, { probe: p, raw, packets: open ? (rightHost ? "allow" : "wrong target") : "deny" });
    }
  }));
  return out;
}

/** The evaluator's verdict. kube-router matches ipBlock peers against any address, pods too. */
function evaluator(run: Run, p: Probe): "allow" | "deny" {
  const world = run.world;
  if (world === undefined) throw new Error("no world");
  const kubeRouter = evaluate(world.cluster, p.conn, { ipBlockMatchesPods: true }).allowed;
  const strict = evaluate(world.cluster, p.conn).allowed;
  if (kubeRouter !== strict) console.log(`[netpol] ${p.title}: the two ipBlock readings differ (pod IPs match: ${kubeRouter}, not: ${strict})`);
  return kubeRouter ? "allow" : "deny";
}

function report(label: string, outcomes: Map<string, Outcome>): void {
  const lines = [...outcomes.values()].map((o) => `  ${o.packets.padEnd(5)} ${o.probe.target.host}:${o.probe.target.port}/${o.probe.target.proto} ${o.probe.title} -> ${o.raw}`);
  console.log(`[netpol] ${label}\n${lines.join("\n")}`);
}

beforeAll(async () => {
  await outside.up();
}, 5 * 60_000);

afterAll(() => {
  outside.down();
  const left = Outside.leftovers();
  if (left.length > 0) throw new Error(`left behind: ${left.join(", ")}`);
});

/** Renders the variant's stack, applies its Namespaces and Services and a probe pod per role. */
async function setUp(run: Run, variant: EgressVariant, rows: readonly Flow[]): Promise<void> {
  const slice = getJson<RenderedObject>(["endpointslice", "kubernetes", "-n", "default"]);
  // The program reads the API server's address from this slice; give it the real one.
  const rendered = await runProgram(localConfig(env, variant), "local", false, (type) => (type === "kubernetes:discovery.k8s.io/v1:EndpointSlice" ? { ...slice } : {}));
  const objects = programObjects(rendered.resources);
  const namespaces = objects.filter((o) => o.kind === "Namespace");
  const names = [...namespaces.map((n) => n.metadata?.name ?? ""), ...Object.keys(CALLERS)];
  const existing = names.filter((n) => kubectl(["get", "namespace", n]).code === 0);
  if (existing.length > 0) throw new Error(`namespaces ${existing.join(", ")} exist already: another stack runs here`);

  run.createdNamespaces.push(...names); // none existed: every one is ours to delete, even if apply fails half-way
  apply([...namespaces, ...Object.entries(CALLERS).map(([name, labels]) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }))]);
  apply(names.map(probeConfigMap));
  apply(objects.filter((o) => o.kind === "Service"));
  run.policies = objects.filter((o) => o.kind === "NetworkPolicy");

  const roles = probeRoles(objects, rows);
  const image = pushProbeImage();
  apply([...roles.values()].map((r) => probePod(r, image)));
  for (const r of roles.values()) ok(kubectl(["wait", "--for=condition=Ready", `pod/${r.pod}`, "-n", r.namespace, "--timeout=240s"]), `${r.pod} Ready`);

  const dns = getJson<{ items: PodJson[] }>(["pods", "-n", "kube-system", "-l", "k8s-app=kube-dns"]).items[0];
  if (dns?.status?.podIP === undefined) throw new Error("no CoreDNS pod with an IP");
  const built = probeWorld(objects, roles, {
    ipOf: (r) => podIp(r.namespace, r.pod),
    dns: { kind: "pod", name: dns.metadata.name, namespace: "kube-system", labels: dns.metadata.labels ?? {}, ip: dns.status.podIP, ports: dns.spec.containers.flatMap((c) => c.ports ?? []) },
    apiServerIp: (slice["endpoints"] as { addresses: string[] }[])[0]?.addresses[0] ?? "",
    kubeSystemLabels: getJson<RenderedObject>(["namespace", "kube-system"]).metadata?.labels ?? {},
  });
  const world = built.world;
  run.world = world;
  for (const [ep, r] of built.podOf) run.podOf.set(ep, r);
  const apiPort = (slice["ports"] as { port: number }[])[0]?.port ?? 0;
  run.probes = rows.map((r) => probeFor(world, r, apiPort));
}

function tearDown(run: Run): void {
  const problems: string[] = [];
  for (const ns of run.createdNamespaces.reverse()) {
    const r = kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=180s"]);
    if (r.code !== 0) problems.push(`delete namespace ${ns}: ${r.stderr}`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

describe.each(EGRESS_VARIANTS)("NetworkPolicies on real packets (local stack, sandbox egress %s, kube-router)", (variant) => {
  const rows = rowsFor(variant);
  const run: Run = { probes: [], podOf: new Map(), createdNamespaces: [], policies: [], final: new Map() };
  beforeAll(() => setUp(run, variant, rows), 10 * 60_000);
  afterAll(() => tearDown(run), 5 * 60_000);

  it(`covers at least 25 rows of the flow table (${rows.length}), allowed and denied`, () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
    const verdicts = run.probes.map((p) => evaluator(run, p));
    expect(verdicts).toContain("allow");
    expect(verdicts).toContain("deny");
  });

  it("without the policies, every row's path is open (so a later deny is the policy's)", async () => {
    const before = await runProbes(run, run.probes);
    report(`${variant}: before the policies`, before);
    expect([...before.values()].filter((o) => o.packets !== "allow").map((o) => `${o.probe.title}: ${o.raw}`)).toEqual([]);
  });

  it("with the policies applied, the packets settle on the evaluator's verdicts", async () => {
    apply(run.policies);
    const deadline = Date.now() + 90_000;
    // kube-router syncs policies a moment after the API server has them.
    for (;;) {
      const pass = await runProbes(run, run.probes);
      if ([...pass.values()].every((o) => o.packets === evaluator(run, o.probe)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 3000));
    }
    // One more full pass, recorded: the verdicts must hold, not just have been seen once.
    for (const [k, v] of await runProbes(run, run.probes)) run.final.set(k, v);
    report(`${variant}: with the policies`, run.final);
  }, 5 * 60_000);

  it.each(rows.map((r) => [flowTitle(r), r] as const))("%s", (title) => {
    const o = run.final.get(title);
    expect(o, "no result for this row").toBeDefined();
    expect({ packets: o!.packets, raw: o!.raw }).toEqual({ packets: evaluator(run, o!.probe), raw: expect.any(String) as unknown });
  });
});
