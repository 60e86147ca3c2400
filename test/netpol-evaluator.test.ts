import { describe, expect, it } from "vitest";
import type { Cluster, Connection, Endpoint, ExternalEndpoint, NetworkPolicy, PodEndpoint, Protocol } from "./support/netpol";
import { effectivePolicyTypes, evaluate, parseNetworkPolicy, selectorMatches } from "./support/netpol";

// A small synthetic world: namespace "app" (team=a) with web, db and a named-port api pod;
// namespace "other" (team=b) with a client and a web pod; one internet address.
const web: PodEndpoint = { kind: "pod", name: "web", namespace: "app", labels: { app: "web", tier: "front" }, ip: "10.0.1.1" };
const db: PodEndpoint = { kind: "pod", name: "db", namespace: "app", labels: { app: "db" }, ip: "10.0.1.2" };
const api: PodEndpoint = {
  kind: "pod",
  name: "api",
  namespace: "app",
  labels: { app: "api" },
  ip: "10.0.1.3",
  ports: [
    { name: "http", containerPort: 8080 },
    { name: "dns", containerPort: 5353, protocol: "UDP" },
  ],
};
const client: PodEndpoint = { kind: "pod", name: "client", namespace: "other", labels: { app: "client" }, ip: "10.0.2.1" };
const otherWeb: PodEndpoint = { kind: "pod", name: "other-web", namespace: "other", labels: { app: "web" }, ip: "10.0.2.2" };
const internet: ExternalEndpoint = { kind: "external", name: "internet", ip: "203.0.113.7" };

function np(name: string, spec: NetworkPolicy["spec"], namespace = "app"): NetworkPolicy {
  return { metadata: { name, namespace }, spec };
}

function world(...policies: NetworkPolicy[]): Cluster {
  return { namespaces: { app: { team: "a" }, other: { team: "b" } }, policies };
}

function allowed(cluster: Cluster, from: Endpoint, to: Endpoint, port = 80, protocol: Protocol = "TCP"): boolean {
  const conn: Connection = { from, to, port, protocol };
  return evaluate(cluster, conn).allowed;
}

const denyAllIngress = np("deny-ingress", { podSelector: {}, policyTypes: ["Ingress"] });
const denyAllEgress = np("deny-egress", { podSelector: {}, policyTypes: ["Egress"] });

describe("label selectors", () => {
  const labels = { app: "web", tier: "front" };
  it("an empty selector matches every pod", () => {
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({}, {})).toBe(true);
  });
  it("matchLabels needs every pair", () => {
    expect(selectorMatches({ matchLabels: { app: "web" } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "web", tier: "back" } }, labels)).toBe(false);
  });
  it("In / NotIn / Exists / DoesNotExist, with NotIn matching pods that lack the key", () => {
    expect(selectorMatches({ matchExpressions: [{ key: "app", operator: "In", values: ["db", "web"] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "app", operator: "NotIn", values: ["web"] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "Exists" }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, labels)).toBe(false);
  });
  it("matchLabels AND matchExpressions", () => {
    const selector = { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In" as const, values: ["back"] }] };
    expect(selectorMatches(selector, labels)).toBe(false);
  });
});

describe("isolation", () => {
  it("no policy at all: everything is allowed", () => {
    expect(allowed(world(), client, web)).toBe(true);
    expect(allowed(world(), web, internet, 443)).toBe(true);
  });

  it("an empty podSelector selects every pod in its own namespace, and only there", () => {
    const c = world(denyAllIngress);
    expect(allowed(c, client, web)).toBe(false);
    expect(allowed(c, client, db)).toBe(false);
    expect(allowed(c, web, otherWeb)).toBe(true);
  });

  it("a policy selecting some pods leaves the others open", () => {
    const c = world(np("db-only", { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"] }));
    expect(allowed(c, client, db)).toBe(false);
    expect(allowed(c, client, web)).toBe(true);
  });

  it("isolation in one direction only: egress deny-all still lets the pod receive", () => {
    const c = world(denyAllEgress);
    expect(allowed(c, web, internet, 443)).toBe(false);
    expect(allowed(c, client, web)).toBe(true);
    expect(allowed(c, internet, web)).toBe(true);
  });

  it("both ends must allow: an open egress does not beat a closed ingress, and vice versa", () => {
    const openEgress = np("web-out", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{}] });
    const c1 = world(openEgress, denyAllIngress);
    expect(allowed(c1, web, db)).toBe(false);
    const v = evaluate(c1, { from: web, to: db, port: 80 });
    expect(v.egress).toEqual({ isolated: true, allowedBy: ["web-out"], allowed: true });
    expect(v.ingress).toEqual({ isolated: true, allowedBy: [], allowed: false });

    const openIngress = np("db-in", { podSelector: { matchLabels: { app: "db" } }, ingress: [{}] });
    expect(allowed(world(openIngress, denyAllEgress), web, db)).toBe(false);
    expect(allowed(world(openIngress), web, db)).toBe(true);
  });

  it("external endpoints are never isolated", () => {
    const v = evaluate(world(denyAllIngress, denyAllEgress), { from: internet, to: { kind: "external", name: "x", ip: "198.51.100.1" }, port: 443 });
    expect(v).toEqual({ allowed: true, egress: { isolated: false, allowedBy: [], allowed: true }, ingress: { isolated: false, allowedBy: [], allowed: true } });
  });
});

describe("policyTypes defaulting", () => {
  it("absent with no egress rules: Ingress only, so egress stays open", () => {
    const p = np("p", { podSelector: {} });
    expect(effectivePolicyTypes(p)).toEqual(["Ingress"]);
    expect(allowed(world(p), web, internet, 443)).toBe(true);
    expect(allowed(world(p), client, web)).toBe(false);
  });
  it("absent with egress rules: Ingress and Egress, so ingress is closed too", () => {
    const p = np("p", { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: "UDP" }] }] });
    expect(effectivePolicyTypes(p)).toEqual(["Ingress", "Egress"]);
    expect(allowed(world(p), client, web)).toBe(false);
    expect(allowed(world(p), web, internet, 53, "UDP")).toBe(true);
    expect(allowed(world(p), web, internet, 443)).toBe(false);
  });
  it("absent with an empty egress list: Ingress only", () => {
    const p = np("p", { podSelector: {}, egress: [] });
    expect(effectivePolicyTypes(p)).toEqual(["Ingress"]);
    expect(allowed(world(p), web, internet, 443)).toBe(true);
  });
  it("an empty policyTypes list is defaulted like an absent one", () => {
    expect(effectivePolicyTypes(np("p", { podSelector: {}, policyTypes: [] }))).toEqual(["Ingress"]);
  });
  it("explicit Egress only: ingress rules in the same policy are ignored", () => {
    const p = np("p", { podSelector: {}, policyTypes: ["Egress"], ingress: [] });
    expect(allowed(world(p), client, web)).toBe(true);
    expect(allowed(world(p), web, internet)).toBe(false);
  });
});

describe("rules", () => {
  it("an ingress rule with no `from` and no `ports` allows everything; no rules allow nothing", () => {
    expect(allowed(world(np("all", { podSelector: {}, ingress: [{}] })), internet, web, 1234)).toBe(true);
    expect(allowed(world(np("all", { podSelector: {}, ingress: [{ from: [], ports: [] }] })), client, web, 1234)).toBe(true);
    expect(allowed(world(np("none", { podSelector: {}, ingress: [] })), web, db)).toBe(false);
  });

  it("rules union across rules and across policies", () => {
    const fromWeb = np("from-web", { podSelector: { matchLabels: { app: "db" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }] });
    const fromApi = np("from-api", { podSelector: { matchLabels: { app: "db" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }] }] });
    const c = world(fromWeb, fromApi);
    expect(allowed(c, web, db)).toBe(true);
    expect(allowed(c, api, db)).toBe(true);
    expect(allowed(c, client, db)).toBe(false);
    expect(evaluate(c, { from: web, to: db, port: 80 }).ingress.allowedBy).toEqual(["from-web"]);
  });

  it("peers and ports are ANDed inside a rule, never crossed between rules", () => {
    const p = np("p", {
      podSelector: { matchLabels: { app: "db" } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 80 }] },
        { from: [{ podSelector: { matchLabels: { app: "api" } } }], ports: [{ port: 443 }] },
      ],
    });
    const c = world(p);
    expect(allowed(c, web, db, 80)).toBe(true);
    expect(allowed(c, web, db, 443)).toBe(false);
    expect(allowed(c, api, db, 443)).toBe(true);
    expect(allowed(c, api, db, 80)).toBe(false);
  });
});

describe("peers", () => {
  const toWeb = (from: NetworkPolicy["spec"]["ingress"]): Cluster =>
    world(np("p", { podSelector: { matchLabels: { app: "web" } }, ingress: from }));

  it("podSelector alone means pods of the policy's own namespace", () => {
    const c = toWeb([{ from: [{ podSelector: {} }] }]);
    expect(allowed(c, db, web)).toBe(true);
    expect(allowed(c, client, web)).toBe(false);
    expect(allowed(c, internet, web)).toBe(false);
  });

  it("namespaceSelector alone means every pod in the selected namespaces", () => {
    const c = toWeb([{ from: [{ namespaceSelector: { matchLabels: { team: "b" } } }] }]);
    expect(allowed(c, client, web)).toBe(true);
    expect(allowed(c, otherWeb, web)).toBe(true);
    expect(allowed(c, db, web)).toBe(false);
  });

  it("namespaces carry kubernetes.io/metadata.name", () => {
    const c = toWeb([{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "other" } } }] }]);
    expect(allowed(c, client, web)).toBe(true);
    expect(allowed(c, db, web)).toBe(false);
  });

  it("namespaceSelector and podSelector in ONE peer: both must hold", () => {
    const c = toWeb([{ from: [{ namespaceSelector: { matchLabels: { team: "b" } }, podSelector: { matchLabels: { app: "client" } } }] }]);
    expect(allowed(c, client, web)).toBe(true);
    expect(allowed(c, otherWeb, web)).toBe(false);
    expect(allowed(c, api, web)).toBe(false);
  });

  it("the same selectors as TWO peers: either suffices", () => {
    const c = toWeb([{ from: [{ namespaceSelector: { matchLabels: { team: "b" } } }, { podSelector: { matchLabels: { app: "api" } } }] }]);
    expect(allowed(c, client, web)).toBe(true);
    expect(allowed(c, otherWeb, web)).toBe(true);
    expect(allowed(c, api, web)).toBe(true);
    expect(allowed(c, db, web)).toBe(false);
  });

  it("ipBlock with except", () => {
    const open = np("open", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "169.254.169.254/32"] } }] }],
    });
    const c = world(open);
    const at = (ip: string): ExternalEndpoint => ({ kind: "external", name: ip, ip });
    expect(allowed(c, web, at("203.0.113.7"), 443)).toBe(true);
    expect(allowed(c, web, at("10.20.30.40"), 443)).toBe(false);
    expect(allowed(c, web, at("169.254.169.254"), 80)).toBe(false);
    expect(allowed(c, web, at("169.254.169.253"), 80)).toBe(true);
    expect(allowed(c, web, at("2001:db8::1"), 443)).toBe(false);
  });

  it("ipBlock matches pod IPs only when the implementation does so (option)", () => {
    const p = np("p", { podSelector: { matchLabels: { app: "db" } }, ingress: [{ from: [{ ipBlock: { cidr: "10.0.2.0/24" } }] }] });
    const c = world(p);
    expect(evaluate(c, { from: client, to: db, port: 80 }).allowed).toBe(false);
    expect(evaluate(c, { from: client, to: db, port: 80 }, { ipBlockMatchesPods: true }).allowed).toBe(true);
    expect(evaluate(c, { from: web, to: db, port: 80 }, { ipBlockMatchesPods: true }).allowed).toBe(false);
  });

  it("selectors never match external addresses", () => {
    const c = world(np("p", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: {} }] }] }));
    expect(allowed(c, web, client)).toBe(true);
    expect(allowed(c, web, internet)).toBe(false);
  });
});

describe("ports", () => {
  const onlyPorts = (ports: NonNullable<NonNullable<NetworkPolicy["spec"]["ingress"]>[number]["ports"]>): Cluster =>
    world(np("p", { podSelector: {}, ingress: [{ ports }] }));

  it("protocol defaults to TCP", () => {
    const c = onlyPorts([{ port: 53 }]);
    expect(allowed(c, client, web, 53, "TCP")).toBe(true);
    expect(allowed(c, client, web, 53, "UDP")).toBe(false);
  });

  it("a port entry with only a protocol admits every port of that protocol", () => {
    const c = onlyPorts([{ protocol: "UDP" }]);
    expect(allowed(c, client, web, 1, "UDP")).toBe(true);
    expect(allowed(c, client, web, 65535, "UDP")).toBe(true);
    expect(allowed(c, client, web, 1, "TCP")).toBe(false);
  });

  it("endPort gives an inclusive range", () => {
    const c = onlyPorts([{ port: 32000, endPort: 32768 }]);
    expect(allowed(c, client, web, 31999)).toBe(false);
    expect(allowed(c, client, web, 32000)).toBe(true);
    expect(allowed(c, client, web, 32768)).toBe(true);
    expect(allowed(c, client, web, 32769)).toBe(false);
  });

  it("a named port resolves against the destination pod's container ports and protocol", () => {
    const c = onlyPorts([{ port: "http" }, { port: "dns", protocol: "UDP" }]);
    expect(allowed(c, client, api, 8080)).toBe(true);
    expect(allowed(c, client, api, 80)).toBe(false);
    expect(allowed(c, client, api, 5353, "UDP")).toBe(true);
    expect(allowed(c, client, web, 8080)).toBe(false);
    // "dns" names a UDP port: a TCP rule for that name admits neither UDP nor TCP to 5353.
    const tcpDns = world(np("p", { podSelector: {}, ingress: [{ ports: [{ port: "dns" }] }] }));
    expect(allowed(tcpDns, client, api, 5353, "UDP")).toBe(false);
    expect(allowed(tcpDns, client, api, 5353, "TCP")).toBe(false);
  });

  it("a named port in an egress rule resolves against the destination, and never matches an external IP", () => {
    const c = world(np("p", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{ ports: [{ port: "http" }] }] }));
    expect(allowed(c, web, api, 8080)).toBe(true);
    expect(allowed(c, web, internet, 8080)).toBe(false);
  });
});

describe("validation and parsing", () => {
  const bad = (spec: NetworkPolicy["spec"]) => () => evaluate(world(np("bad", spec)), { from: web, to: db, port: 80 });

  it("rejects what the API server rejects", () => {
    expect(bad({ podSelector: {}, ingress: [{ from: [{}] }] })).toThrow(/needs a selector or an ipBlock/);
    expect(bad({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }] })).toThrow(/cannot be combined/);
    expect(bad({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["192.168.0.0/16"] } }] }] })).toThrow(/strict subset/);
    expect(bad({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.0.0.0/8"] } }] }] })).toThrow(/strict subset/);
    expect(bad({ podSelector: {}, ingress: [{ ports: [{ port: "http", endPort: 90 }] }] })).toThrow(/numeric port/);
    expect(bad({ podSelector: {}, ingress: [{ ports: [{ port: 90, endPort: 80 }] }] })).toThrow(/endPort/);
    expect(bad({ podSelector: {}, ingress: [{ ports: [{ port: "8080" }] }] })).toThrow(/port name/);
    expect(bad({ podSelector: { matchExpressions: [{ key: "a", operator: "In" }] } })).toThrow(/needs values/);
    expect(bad({ podSelector: { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] } })).toThrow(/takes no values/);
  });

  it("parses a rendered object, defaulting the namespace and refusing misspelt fields", () => {
    const raw = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "p", labels: { x: "y" } },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 80 }] }] },
    };
    const policy = parseNetworkPolicy(raw, "app");
    expect(policy.metadata).toEqual({ name: "p", namespace: "app" });
    expect(allowed(world(policy), db, web, 80)).toBe(true);
    const typo = { metadata: { name: "p" }, spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelecter: {} }] }] } };
    expect(() => parseNetworkPolicy(typo)).toThrow();
  });
});
