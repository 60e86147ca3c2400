// The real-packet flow table's world (test/e2e/netpol/world.ts) under mocks, with the embedded
// cluster's addresses: every row it probes must get the table's verdict from the evaluator here,
// so a disagreement on packets points at the policies' enforcement, not at the e2e's own model.
import { beforeAll, describe, expect, it } from "vitest";
import type { World } from "./support/flow-table";
import { FLOWS, connectionOf, flowTitle } from "./support/flow-table";
import type { K8sObject } from "./support/mocks";
import { evaluate } from "./support/netpol";
import { programObjects, renderedWorkloadPods } from "./support/netpol-cluster";
import { runProgram } from "./support/program";
import type { ProbeRole } from "./e2e/netpol/probe-pods";
import { probePod } from "./e2e/netpol/probe-pods";
import { EGRESS_VARIANTS, localConfig, probeRoles, probeWorld, rowsFor } from "./e2e/netpol/world";

// What node.sh's cluster publishes: the API server on the node IP, on its own port.
const API = { ip: "10.243.0.1", port: 26443 };
const SLICE = {
  apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "kubernetes", namespace: "default" },
  addressType: "IPv4", endpoints: [{ addresses: [API.ip] }], ports: [{ name: "https", port: API.port, protocol: "TCP" }],
};
const DIGEST = `sha256:${"ab".repeat(32)}`;

describe.each(EGRESS_VARIANTS)("real-packet flow table (sandbox egress %s): its world under mocks", (variant) => {
  const rows = rowsFor(variant);
  let objects: K8sObject[] = [];
  let roles = new Map<string, ProbeRole>();
  let world: World | undefined;

  beforeAll(async () => {
    const config = localConfig({
      kubeconfig: "/nonexistent/kubeconfig", agentImage: `127.0.0.1:25000/agentscope/agent@${DIGEST}`, managerImage: `127.0.0.1:25000/agentscope/sandbox-manager@${DIGEST}`,
      standInModelImage: `127.0.0.1:25000/agentscope/stand-in-model@${DIGEST}`, sandboxImage: `127.0.0.1:25000/agentscope/runtime-sandbox-base@${DIGEST}`,
      redisImage: `127.0.0.1:25000/agentscope/redis@${DIGEST}`, egressProxyImage: `127.0.0.1:25000/agentscope/egress-proxy@${DIGEST}`,
      registry: "127.0.0.1:25000", registryUser: "e2e", registryPassword: "e2e-registry-password",
    }, variant);
    const run = await runProgram(config, "local", false, (type) => (type === "kubernetes:discovery.k8s.io/v1:EndpointSlice" ? SLICE : {}));
    objects = programObjects(run.resources);
    roles = probeRoles(objects, rows);
    let host = 10;
    world = probeWorld(objects, roles, {
      ipOf: () => `10.244.0.${host++}`,
      dns: { kind: "pod", name: "coredns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ip: "10.244.0.2", ports: [{ name: "dns", containerPort: 53, protocol: "UDP" }, { name: "dns-tcp", containerPort: 53, protocol: "TCP" }] },
      apiServerIp: API.ip,
      kubeSystemLabels: {},
    }).world;
  }, 120_000);

  it("probes at least 25 rows, allowed and denied", () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
    expect(new Set(rows.map((r) => r.expect))).toEqual(new Set(["allow", "deny"]));
  });

  it("each probe pod carries exactly its workload's pod-template labels and ports", () => {
    const workloads = renderedWorkloadPods(objects, () => "");
    const pairs: [string, string][] = [["agent A", "agent-friday"], ["agent B", "agent-friday"], ["sandbox-manager", "sandbox-manager"], ["redis", "redis"], ["stand-in-model", "stand-in-model"]];
    if (variant === "allowList") pairs.push(["egress-proxy", "egress-proxy"]);
    for (const [key, name] of pairs) {
      expect(workloads.get(name), name).toBeDefined();
      const pod = probePod(roles.get(key)!, "img") as { metadata: { labels: unknown }; spec: { containers: { ports: unknown }[] } };
      expect(pod.metadata.labels, key).toEqual(workloads.get(name)?.labels);
      expect(pod.spec.containers[0]?.ports, key).toEqual(workloads.get(name)?.ports);
    }
  });

  it(variant === "allowList" ? "replays every restricted and allowList row of the table, and no internet row" : "replays no restricted or allowList row", () => {
    const egressRows = FLOWS.filter((f) => f.egress !== undefined && f.needs === undefined);
    const expected = egressRows.filter((f) => (variant === "internet" ? f.egress === "internet" : f.egress !== "internet"));
    expect(rows.filter((f) => f.egress !== undefined)).toEqual(expected);
    if (variant === "allowList") expect(expected.length).toBeGreaterThanOrEqual(15);
  });

  it.each(rows.map((r) => [flowTitle(r), r] as const))("%s", (_title, row) => {
    const conn = connectionOf(world!, row.to === "API server" ? { ...row, port: API.port } : row);
    expect({
      ipBlockMatchesPods: evaluate(world!.cluster, conn, { ipBlockMatchesPods: true }).allowed,
      ipBlockIgnoresPods: evaluate(world!.cluster, conn).allowed,
    }).toEqual({ ipBlockMatchesPods: row.expect === "allow", ipBlockIgnoresPods: row.expect === "allow" });
  });
});
