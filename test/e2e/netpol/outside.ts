// The "outside" hosts of the real-packet flow table: one network namespace per address
// (ase2e-t-<id>), joined to the host by a veth pair (ase2e-t<id>h / ase2e-t<id>n, names the
// embedded cluster's containment lets pods send to), with a probe listener on the row's ports.
// Every address here is one the test creates; nothing is sent anywhere else.
import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";

export const PROBE = join(__dirname, "probe.py");

export interface OutsideHost {
  /** Short id (at most 5 characters: interface names are limited to 15). */
  readonly id: string;
  /** The flow table's endpoint name this host stands for. */
  readonly name: string;
  readonly ip: string;
  /** TCP ports its listener answers on (none for a pure client). */
  readonly ports: readonly number[];
}

/**
 * Stand-ins for the table's external endpoints. Public-looking addresses are documentation ranges
 * (RFC 5737), never a real host; the host's own 192.0.2.0/24 is avoided.
 */
export const OUTSIDE_HOSTS: readonly OutsideHost[] = [
  { id: "meta", name: "metadata 100.100.100.200", ip: "100.100.100.200", ports: [80] },
  { id: "ll", name: "metadata 169.254.169.254", ip: "169.254.169.254", ports: [80] },
  { id: "cgn", name: "CGNAT 100.100.0.7", ip: "100.100.0.7", ports: [443] },
  { id: "p10", name: "private 10.1.2.3", ip: "10.1.2.3", ports: [443] },
  { id: "p172", name: "private 172.16.5.5", ip: "172.16.5.5", ports: [443] },
  { id: "p192", name: "private 192.168.1.1", ip: "192.168.1.1", ports: [443] },
  // 22: the egress proxy's "443 and 80 only" row needs a listener behind the port it may not use.
  { id: "web", name: "public web", ip: "203.0.113.80", ports: [22, 80, 443] },
  { id: "model", name: "model API (public)", ip: "198.51.100.20", ports: [443] },
  { id: "inet", name: "internet client", ip: "198.51.100.50", ports: [] },
];

export const netnsOf = (h: OutsideHost): string => `ase2e-t-${h.id}`;

function sh(cmd: string, args: string[], mayFail = false): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
  if (!mayFail && (r.error || r.status !== 0)) throw new Error(`${cmd} ${args.join(" ")}: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** The host side of the outside hosts: addresses, routes, listeners; `down` removes all of it. */
export class Outside {
  private readonly listeners: ChildProcess[] = [];

  constructor(readonly hosts: readonly OutsideHost[] = OUTSIDE_HOSTS) {}

  /** Creates every host; leftovers of an earlier run (same names) are removed first. */
  async up(): Promise<void> {
    this.down();
    for (const h of this.hosts) {
      const ns = netnsOf(h), hostIf = `ase2e-t${h.id}h`, nsIf = `ase2e-t${h.id}n`;
      sh("ip", ["netns", "add", ns]);
      sh("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
      sh("ip", ["link", "set", nsIf, "netns", ns]);
      // The host answers ARP for the cluster's addresses on the veth (no address of its own there).
      sh("sysctl", ["-qw", `net.ipv4.conf.${hostIf}.proxy_arp=1`]);
      sh("ip", ["link", "set", hostIf, "up"]);
      sh("ip", ["route", "add", `${h.ip}/32`, "dev", hostIf]);
      const inNs = (...a: string[]) => sh("ip", ["netns", "exec", ns, ...a]);
      inNs("ip", "link", "set", "lo", "up");
      inNs("ip", "addr", "add", `${h.ip}/32`, "dev", nsIf);
      inNs("ip", "link", "set", nsIf, "up");
      inNs("ip", "route", "add", "default", "dev", nsIf);
      if (h.ports.length > 0) await this.listen(h);
    }
  }

  private async listen(h: OutsideHost): Promise<void> {
    const child = spawn("ip", ["netns", "exec", netnsOf(h), "python3", PROBE, "serve", h.name, ...h.ports.map(String)], { stdio: ["ignore", "pipe", "pipe"] });
    this.listeners.push(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`listener of ${h.name} did not start`)), 10_000);
      child.stdout?.once("data", () => { clearTimeout(timer); resolve(); });
      child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`listener of ${h.name} exited ${code}`)); });
    });
  }

  /** Runs the probe client inside a host's namespace (the host as a traffic source). */
  clientArgs(h: OutsideHost): [string, string[]] {
    return ["ip", ["netns", "exec", netnsOf(h), "python3", PROBE]];
  }

  /** Kills our listeners (by their pids), deletes our namespaces and veths (the routes go with them). */
  down(): void {
    for (const c of this.listeners.splice(0)) if (c.exitCode === null) c.kill("SIGTERM");
    for (const h of this.hosts) {
      sh("ip", ["link", "del", `ase2e-t${h.id}h`], true);
      sh("ip", ["netns", "del", netnsOf(h)], true);
    }
  }

  /** What is left of ours (for the cleanup assertion): namespaces and links named ase2e-t*. */
  static leftovers(): string[] {
    const ns = sh("ip", ["netns", "list"], true).split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith("ase2e-t-"));
    const links = sh("ip", ["-o", "link", "show"], true).split("\n").map((l) => l.split(": ")[1]?.split("@")[0] ?? "").filter((n) => n.startsWith("ase2e-t"));
    return [...ns, ...links];
  }
}
