/**
 * sandbox.egress in the stack config: the defaults per environment, every bad value refused with
 * its key named, and what reaches the workload layer (docs/sandbox-egress.md).
 */
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../config";
import { alicloudPlatformArgs } from "../config/cloud-args";
import { workloadArgs } from "../config/workload-args";
import { configProblems } from "./support/config-problems";
import type { FlatConfig, ShippedStack } from "./support/stack-config";
import { PROJECT, shippedStackConfig } from "./support/stack-config";

const ns = (key: string) => `${PROJECT}:${key}`;

/** The shipped config of `stack` with sandbox.egress (and other top-level keys) set. */
function withEgress(stack: ShippedStack, egress: unknown, values: Record<string, unknown> = {}): FlatConfig {
  const base = shippedStackConfig(stack);
  const sandbox = base[ns("sandbox")] === undefined ? {} : (JSON.parse(base[ns("sandbox")]!) as Record<string, unknown>);
  const out: FlatConfig = { ...base, [ns("sandbox")]: JSON.stringify({ ...sandbox, egress }) };
  for (const [k, v] of Object.entries(values)) out[ns(k)] = typeof v === "string" ? v : JSON.stringify(v);
  return out;
}
const parse = (config: FlatConfig, stack: ShippedStack) => parseStackConfig({ values: config, project: PROJECT, stack });
const problems = (config: FlatConfig, stack: ShippedStack) => configProblems(config, stack).join("\n");

describe("sandbox.egress defaults", () => {
  it("prod defaults to none, dev and local to internet", () => {
    expect(parse(shippedStackConfig("prod"), "prod").sandbox.egress).toEqual({ mode: "none", allow: [] });
    expect(parse(shippedStackConfig("dev"), "dev").sandbox.egress).toEqual({ mode: "internet", allow: [] });
    expect(parse(shippedStackConfig("local"), "local").sandbox.egress).toEqual({ mode: "internet", allow: [] });
  });

  it("takes an allow-list of exact names", () => {
    const c = parse(withEgress("prod", { mode: "allowList", allow: ["pypi.org", "files.pythonhosted.org"] }), "prod");
    expect(c.sandbox.egress).toEqual({ mode: "allowList", allow: ["pypi.org", "files.pythonhosted.org"] });
  });
});

describe("sandbox.egress refuses, naming the key", () => {
  it.each([
    { what: "a wildcard", egress: { mode: "allowList", allow: ["pypi.org", "*.pythonhosted.org"] }, key: "sandbox.egress.allow[1]", says: "wildcards are refused: Poseidon's FQDN rules on ACS do not support wildcard domains" },
    { what: "a leading-dot domain", egress: { mode: "allowList", allow: [".example.com"] }, key: "sandbox.egress.allow[0]", says: "wildcards are refused" },
    { what: "an IP address given as a name", egress: { mode: "allowList", allow: ["203.0.113.7"] }, key: "sandbox.egress.allow[0]", says: "is an IP address; list host names" },
    { what: "a bare label", egress: { mode: "allowList", allow: ["pypi"] }, key: "sandbox.egress.allow[0]", says: "at least two labels" },
    { what: "upper case", egress: { mode: "allowList", allow: ["PyPI.org"] }, key: "sandbox.egress.allow[0]", says: "must be lower case" },
    { what: "a URL instead of a name", egress: { mode: "allowList", allow: ["https://pypi.org/simple"] }, key: "sandbox.egress.allow[0]", says: "is not a host name (a URL?)" },
    { what: "a host with a port", egress: { mode: "allowList", allow: ["pypi.org:443"] }, key: "sandbox.egress.allow[0]", says: "must not carry a port" },
    { what: "a name twice", egress: { mode: "allowList", allow: ["pypi.org", "pypi.org"] }, key: "sandbox.egress.allow[1]", says: "lists \"pypi.org\" twice" },
    { what: "allowList with no names", egress: { mode: "allowList" }, key: "sandbox.egress.allow", says: "must list at least one host name with mode allowList (to allow nothing, use mode none)" },
    { what: "names with mode internet", egress: { mode: "internet", allow: ["pypi.org"] }, key: "sandbox.egress.allow", says: "applies only with mode allowList (mode is internet)" },
    { what: "an unknown mode", egress: { mode: "open" }, key: "sandbox.egress.mode", says: "none" },
    { what: "an unknown key", egress: { mode: "none", ports: [443] }, key: "sandbox.egress.ports", says: "is not a known key" },
  ])("$what", ({ egress, key, says }) => {
    const found = problems(withEgress("prod", egress), "prod");
    expect(found).toContain(`${ns(key)}:`);
    expect(found).toContain(says);
  });

  it("a prebuilt stack with allowList needs the proxy image, and refuses it otherwise", () => {
    const prebuilt = { build: false, agent: `r/a@sha256:${"1".repeat(64)}`, sandboxManager: `r/m@sha256:${"2".repeat(64)}` };
    expect(problems(withEgress("local", { mode: "allowList", allow: ["pypi.org"] }, { images: prebuilt }), "local"))
      .toContain(`${ns("images.egressProxy")}: is required when images.build is false and sandbox.egress.mode is allowList`);
    expect(problems(withEgress("local", { mode: "internet" }, { images: { ...prebuilt, egressProxy: `r/p@sha256:${"3".repeat(64)}` } }), "local"))
      .toContain(`${ns("images.egressProxy")}: applies only with images.build false and sandbox.egress.mode allowList`);
    expect(problems(withEgress("local", { mode: "allowList", allow: ["pypi.org"] }, { images: { ...prebuilt, egressProxy: `r/p@sha256:${"3".repeat(64)}` } }), "local")).toBe("");
  });
});

describe("sandbox.egress reaches the workload layer", () => {
  it("allowList: the names, and the proxy built into the registry next to the other images", () => {
    const c = parse(withEgress("local", { mode: "allowList", allow: ["pypi.org"] }), "local");
    const w = workloadArgs(c, {}, undefined);
    expect(w.sandbox.egress).toEqual({ mode: "allowList", allow: ["pypi.org"] });
    expect(w.images.build?.egressProxyRepository).toBe("localhost:5000/agentscope/egress-proxy");
  });

  it("none and internet: the mode only, no proxy image", () => {
    for (const [stack, mode] of [["prod", "none"], ["local", "internet"]] as const) {
      const w = workloadArgs(parse(shippedStackConfig(stack), stack), {}, undefined);
      expect(w.sandbox.egress).toEqual({ mode });
      expect(w.images.build?.egressProxyRepository).toBeUndefined();
    }
  });

  it("on Alibaba Cloud, an ACR repository for the proxy only while the mode is allowList", () => {
    const repos = (config: FlatConfig) => alicloudPlatformArgs(parse(config, "prod"), {}).registry.repositories ?? [];
    expect(repos(shippedStackConfig("prod"))).not.toContain("egress-proxy");
    expect(repos(withEgress("prod", { mode: "allowList", allow: ["pypi.org"] }))).toContain("egress-proxy");
  });
});
