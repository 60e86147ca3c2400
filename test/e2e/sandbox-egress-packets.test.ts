// Issue 24, "Prove it on real packets": sandbox.egress on the embedded node (kube-router enforces
// the NetworkPolicies). The local stack's program renders the objects for `allowList` (and later
// `none`); kubectl applies its Namespaces, the egress proxy's Service, pull Secret, ConfigMap and
// Deployment (the e2e's egress-proxy image, by digest), then its NetworkPolicies. A probe pod with
// the labels the sandbox manager gives a sandbox and the proxy environment the stack gives it
// (HTTPS_PROXY = the proxy Service's real ClusterIP) talks to "outside" hosts this test creates in
// network namespaces: a web host (HTTP, HTTPS with a test CA, DNS echo) on 203.0.113.90 and the
// metadata address 100.100.100.200. Test names reach them through hostAliases, in the probe pod
// and in the proxy pod (Squid reads /etc/hosts, its `hosts_file` default). Every path is first
// shown open without the policies, so a later refusal is the policy's or the proxy's.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyEnv } from "../../components/workload/egress-proxy";
import type { K8sObject as RenderedObject } from "../support/mocks";
import { programObjects, renderedSandboxPod } from "../support/netpol-cluster";
import { runProgram } from "../support/program";
import type { FlatConfig } from "../support/stack-config";
import { PROJECT, flatten } from "../support/stack-config";
import { localStackConfig } from "./local-config";
import type { OutsideHost } from "./netpol/outside";
import { Outside, PROBE, netnsOf } from "./netpol/outside";
import { pushProbeImage } from "./netpol/probe-image";
import { PROBE_CONFIGMAP, probePod } from "./netpol/probe-pods";
import { env, getJson, kubectl, ok, recordTime, run } from "./support";

const WEB: OutsideHost = { id: "egw", name: "egress-web", ip: "203.0.113.90", ports: [] }; // origin.py listens (below)
const METADATA: OutsideHost = { id: "egm", name: "metadata", ip: "100.100.100.200", ports: [80, 443] };
const ALLOWED = "allowed.egress.test";
const SECOND = "second.egress.test"; // allowed too: a mismatched SNI that is itself on the list
const OTHER = "other.egress.test"; // not on the list, same host
const METADATA_NAME = "metadata.egress.test"; // on the list, but resolves to the metadata address
const ALLOW = [ALLOWED, SECOND, METADATA_NAME];
const HOST_ALIASES = [{ ip: WEB.ip, hostnames: [ALLOWED, SECOND, OTHER] }, { ip: METADATA.ip, hostnames: [METADATA_NAME] }];
const CLIENT = join(__dirname, "egress", "client.py");
const ORIGIN = join(__dirname, "egress", "origin.py");
const SANDBOX_POD = "sandbox-e9g4r2s5s7p1r3o6x8y0q2w4e";

const outside = new Outside([WEB, METADATA]);
let origin: ChildProcess | undefined;
const tmp = mkdtempSync(join(tmpdir(), "egress-e2e-"));
const createdNamespaces: string[] = [];
let sandboxNamespace = "";
let checks: Check[] = [];
let allowListPolicies: RenderedObject[] = [];
let noneObjects: RenderedObject[] = [];
const started = Date.now();

interface Check { readonly id: string; readonly kind: string; readonly [key: string]: unknown }

function apply(objects: readonly Record<string, unknown>[]): void {
  const clean = objects.map(({ __pulumiName: _, ...o }) => o);
  ok(run("kubectl", ["--kubeconfig", env.kubeconfig, "apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: clean }) }), "kubectl apply");
}

/** The local stack's config (local.test.ts's) with this sandbox.egress, and secrets of its own. */
function config(egress: { mode: "allowList"; allow: string[] } | { mode: "none" }): FlatConfig {
  const base = localStackConfig(env) as { images: Record<string, unknown>; sandbox: Record<string, unknown> } & Record<string, unknown>;
  return flatten(Object.fromEntries(Object.entries({
    ...base,
    images: { ...base.images, ...(egress.mode === "allowList" ? { egressProxy: env.egressProxyImage } : {}) },
    sandbox: { ...base.sandbox, egress },
    agentApiToken: "e2e-egress-agent-token",
    sandboxManagerToken: "e2e-egress-manager-token",
    redisPassword: "e2e-egress-redis-password",
    localRegistryPassword: env.registryPassword,
  }).map(([k, v]) => [`${PROJECT}:${k}`, v])));
}

async function render(egress: Parameters<typeof config>[0]): Promise<RenderedObject[]> {
  const slice = getJson<RenderedObject>(["endpointslice", "kubernetes", "-n", "default"]);
  const rendered = await runProgram(config(egress), "local", false, (type) => (type === "kubernetes:discovery.k8s.io/v1:EndpointSlice" ? { ...slice } : {}));
  return programObjects(rendered.resources);
}

function named(objects: readonly RenderedObject[], kind: string, name: string): RenderedObject {
  const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
  if (o === undefined) throw new Error(`no ${kind} ${name} was rendered`);
  return o;
}

/** The rendered proxy Deployment, its pods given the test names (Squid resolves through /etc/hosts first). */
function withHostAliases(deployment: RenderedObject): RenderedObject {
  const d = structuredClone(deployment) as RenderedObject & { spec: { template: { spec: Record<string, unknown> } } };
  d.spec.template.spec["hostAliases"] = HOST_ALIASES;
  return d;
}

/** A self-signed certificate for the web host's names; the probe trusts it (origin-ca.pem). */
function makeCertificate(): { cert: string; key: string } {
  const cert = join(tmp, "origin.pem"), key = join(tmp, "origin-key.pem");
  ok(run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${ALLOWED}`,
    "-addext", `subjectAltName=${[ALLOWED, SECOND, OTHER].map((n) => `DNS:${n}`).join(",")}`, "-keyout", key, "-out", cert]), "openssl req");
  return { cert, key };
}

async function startOrigin(cert: string, key: string): Promise<void> {
  const child = spawn("ip", ["netns", "exec", netnsOf(WEB), "python3", ORIGIN, WEB.name, cert, key], { stdio: ["ignore", "pipe", "pipe"] });
  origin = child;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("origin.py did not start")), 15_000);
    child.stdout?.once("data", () => { clearTimeout(timer); resolve(); });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`origin.py exited ${code}`)); });
  });
}

function runChecks(list: readonly Check[]): Record<string, string> {
  const r = ok(kubectl(["exec", "-n", sandboxNamespace, SANDBOX_POD, "-c", "probe", "--", "python3", "/probe/client.py", JSON.stringify(list)]), "client.py");
  return JSON.parse(r.stdout) as Record<string, string>;
}

function report(label: string, results: Record<string, string>): void {
  console.log(`[egress] ${label}\n${Object.entries(results).map(([k, v]) => `  ${k} -> ${v}`).join("\n")}`);
}

/** Runs the checks until `settled` holds (kube-router syncs a policy a moment after the API server has it), then once more. */
async function afterSync(list: readonly Check[], settled: (r: Record<string, string>) => boolean): Promise<Record<string, string>> {
  const deadline = Date.now() + 90_000;
  while (!settled(runChecks(list)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 3000));
  return runChecks(list);
}

const OPEN = /^open /;
const OK = /^ok 200 /;
const direct: readonly Check[] = [
  { id: "direct HTTPS to the allowed name (no proxy)", kind: "https", url: `https://${ALLOWED}/`, proxy: false },
  { id: "TCP to the web host's address on 443", kind: "connect", host: WEB.ip, port: 443, proto: "TCP" },
  { id: "TCP to the metadata address on 80", kind: "connect", host: METADATA.ip, port: 80, proto: "TCP" },
  { id: "TCP to the metadata address on 443", kind: "connect", host: METADATA.ip, port: 443, proto: "TCP" },
  { id: "DNS to the web host (UDP 53)", kind: "dns", host: WEB.ip, port: 53, proto: "UDP" },
];

beforeAll(async () => {
  await outside.up();
  const { cert, key } = makeCertificate();
  await startOrigin(cert, key);

  const objects = await render({ mode: "allowList", allow: ALLOW });
  noneObjects = await render({ mode: "none" });
  const deployment = named(objects, "Deployment", "egress-proxy");
  sandboxNamespace = deployment.metadata?.namespace ?? "";
  const namespaces = objects.filter((o) => o.kind === "Namespace");
  const names = namespaces.map((n) => n.metadata?.name ?? "");
  const existing = names.filter((n) => kubectl(["get", "namespace", n]).code === 0);
  if (existing.length > 0) throw new Error(`namespaces ${existing.join(", ")} exist already: another stack runs here`);
  createdNamespaces.push(...names);
  apply(namespaces);

  const pullSecrets = objects.filter((o) => o.kind === "Secret" && o["type"] === "kubernetes.io/dockerconfigjson" && o.metadata?.namespace === sandboxNamespace);
  if (pullSecrets.length === 0) throw new Error("no pull Secret was rendered in the sandbox namespace");
  apply([
    ...pullSecrets,
    named(objects, "Service", "egress-proxy"),
    named(objects, "ConfigMap", "egress-proxy"),
    withHostAliases(deployment),
    {
      apiVersion: "v1", kind: "ConfigMap", metadata: { name: PROBE_CONFIGMAP, namespace: sandboxNamespace },
      data: { "probe.py": readFileSync(PROBE, "utf8"), "client.py": readFileSync(CLIENT, "utf8"), "origin-ca.pem": readFileSync(cert, "utf8") },
    },
  ]);
  allowListPolicies = objects.filter((o) => o.kind === "NetworkPolicy");

  // The proxy's address as a sandbox gets it: the stack's own proxyEnv, on the real ClusterIP.
  const proxyIp = getJson<{ spec: { clusterIP: string } }>(["service", "egress-proxy", "-n", sandboxNamespace]).spec.clusterIP;
  const dnsIp = getJson<{ spec: { clusterIP: string } }>(["service", "kube-dns", "-n", "kube-system"]).spec.clusterIP;
  const sandbox = renderedSandboxPod(objects, SANDBOX_POD, "");
  const pod = probePod({ key: "sandbox", pod: SANDBOX_POD, namespace: sandbox.namespace, labels: sandbox.labels, ports: sandbox.ports ?? [], role: SANDBOX_POD }, pushProbeImage()) as { spec: { containers: Record<string, unknown>[] } & Record<string, unknown> };
  pod.spec["hostAliases"] = HOST_ALIASES;
  pod.spec.containers[0]!["env"] = proxyEnv(`http://${proxyIp}:3128`);
  apply([pod]);
  ok(kubectl(["wait", "--for=condition=Ready", `pod/${SANDBOX_POD}`, "-n", sandboxNamespace, "--timeout=240s"]), "sandbox probe Ready");
  ok(kubectl(["rollout", "status", "deployment/egress-proxy", "-n", sandboxNamespace, "--timeout=300s"]), "egress proxy rolled out");

  checks = [
    { id: "HTTPS to the allowed name through the proxy", kind: "https", url: `https://${ALLOWED}/`, proxy: true },
    { id: "plain HTTP to the allowed name through the proxy", kind: "http", url: `http://${ALLOWED}/` },
    { id: "CONNECT allowed name, SNI the same", kind: "pair", name: ALLOWED, sni: ALLOWED },
    { id: "HTTPS to a name not on the list (verifying client)", kind: "https", url: `https://${OTHER}/`, proxy: true },
    { id: "CONNECT a name not on the list (certificates unchecked)", kind: "pair", name: OTHER, sni: OTHER },
    { id: "plain HTTP to a name not on the list", kind: "http", url: `http://${OTHER}/` },
    { id: "CONNECT allowed name, SNI a name not on the list", kind: "pair", name: ALLOWED, sni: OTHER },
    { id: "CONNECT allowed name, SNI another allowed name", kind: "pair", name: ALLOWED, sni: SECOND },
    { id: "CONNECT an allowed name that resolves to the metadata address", kind: "pair", name: METADATA_NAME, sni: METADATA_NAME },
    { id: "plain HTTP to an allowed name that resolves to the metadata address", kind: "http", url: `http://${METADATA_NAME}/` },
    { id: "TCP to the proxy", kind: "connect", host: proxyIp, port: 3128, proto: "TCP" },
    { id: "DNS to the cluster DNS (UDP 53)", kind: "dns", host: dnsIp, port: 53, proto: "UDP" },
    ...direct,
  ];
}, 10 * 60_000);

afterAll(() => {
  const problems: string[] = [];
  for (const ns of createdNamespaces.reverse()) {
    const r = kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=180s"]);
    if (r.code !== 0) problems.push(`delete namespace ${ns}: ${r.stderr}`);
  }
  if (origin && origin.exitCode === null) origin.kill("SIGTERM");
  outside.down();
  rmSync(tmp, { recursive: true, force: true });
  const left = Outside.leftovers();
  if (left.length > 0) problems.push(`left behind: ${left.join(", ")}`);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  recordTime("sandbox egress on packets (file)", (Date.now() - started) / 1000);
}, 5 * 60_000);

describe.sequential("sandbox egress on real packets (local stack, kube-router, Squid)", () => {
  it("without the policies, every direct path is open and the proxy serves the allowed name", () => {
    const before = runChecks(checks);
    report("before the policies", before);
    expect(before["HTTPS to the allowed name through the proxy"]).toMatch(new RegExp(`^ok 200 ${WEB.name} ${ALLOWED}`));
    expect(before["direct HTTPS to the allowed name (no proxy)"]).toMatch(OK);
    for (const c of direct.filter((d) => d.kind !== "https")) expect.soft(before[c.id], c.id).toMatch(c.kind === "dns" ? /^open dns-answer/ : OPEN);
    expect(before["DNS to the cluster DNS (UDP 53)"]).toBe("open dns-answer");
  });

  it("allowList: the allowed name passes through the proxy, and nothing else gets out", async () => {
    apply(allowListPolicies);
    const r = await afterSync(checks, (x) => direct.every((c) => !OPEN.test(x[c.id] ?? "") && !OK.test(x[c.id] ?? "")));
    report("allowList", r);
    const expected: Record<string, RegExp> = {
      "HTTPS to the allowed name through the proxy": new RegExp(`^ok 200 ${WEB.name} ${ALLOWED}$`),
      "plain HTTP to the allowed name through the proxy": new RegExp(`^ok 200 ${WEB.name} ${ALLOWED}$`),
      "CONNECT allowed name, SNI the same": new RegExp(`^answer HTTP/1\\.[01] 200 .*\\| ${WEB.name} ${ALLOWED}$`),
      // Squid refuses the CONNECT inside TLS on its ssl-bump port, under its throwaway certificate:
      // a client that verifies certificates sees a TLS failure, one that does not sees the 403.
      "HTTPS to a name not on the list (verifying client)": /^URLError: SSLCertVerificationError /,
      "CONNECT a name not on the list (certificates unchecked)": /^answer HTTP\/1\.1 403 Forbidden \| ERR_ACCESS_DENIED/,
      "plain HTTP to a name not on the list": /^http 403 ERR_ACCESS_DENIED/,
      // The SNI check: ssl_bump terminate closes the tunnel before the ClientHello reaches the host.
      "CONNECT allowed name, SNI a name not on the list": /^cut /,
      "CONNECT allowed name, SNI another allowed name": /^cut /,
      // Squid's dst ACL on the denied ranges: the name is on the list, its address is not allowed.
      "CONNECT an allowed name that resolves to the metadata address": /^answer HTTP\/1\.1 403 Forbidden \| ERR_ACCESS_DENIED/,
      "plain HTTP to an allowed name that resolves to the metadata address": /^http 403 ERR_ACCESS_DENIED/,
      "TCP to the proxy": /^open connected$/,
    };
    for (const [id, re] of Object.entries(expected)) expect.soft(r[id], id).toMatch(re);
    // The NetworkPolicies: no way out but the proxy, not even DNS.
    for (const c of [...direct, { id: "DNS to the cluster DNS (UDP 53)" }]) expect.soft(r[c.id], c.id).not.toMatch(/^(open|ok) /);
  }, 5 * 60_000);

  it("none: the sandbox reaches nothing, not even a running proxy", async () => {
    // What a stack with mode none renders in the sandbox namespace, and nothing of allowList's but
    // the proxy's own policy, which still admits sandboxes: a refusal is then the sandbox's policy.
    const keep = new Set([...noneObjects.filter((o) => o.kind === "NetworkPolicy" && o.metadata?.namespace === sandboxNamespace).map((o) => o.metadata?.name), "egress-proxy"]);
    for (const p of allowListPolicies.filter((o) => o.metadata?.namespace === sandboxNamespace && !keep.has(o.metadata?.name))) {
      ok(kubectl(["delete", "networkpolicy", p.metadata?.name ?? "", "-n", sandboxNamespace]), `delete networkpolicy ${p.metadata?.name}`);
    }
    apply(noneObjects.filter((o) => o.kind === "NetworkPolicy"));
    const none = checks.filter((c) => !c.id.startsWith("CONNECT") && !c.id.startsWith("plain HTTP") && !c.id.includes("not on the list"));
    const r = await afterSync(none, (x) => !OPEN.test(x["TCP to the proxy"] ?? ""));
    report("none", r);
    for (const c of none) expect.soft(r[c.id], c.id).not.toMatch(/^(open|ok) /);
  }, 5 * 60_000);
});
