// One supported Node.js floor: package.json's `engines.node`. Every package in the lock (the
// components' dependencies, the peers at their locked versions, and our own dev tools) must run on
// it, the peer ranges must not admit releases that need a newer Node, and the README and the
// typings say the same. Machines here have Node 20, so the floor is 20.19, and the peer ranges are
// narrowed below the first @pulumi/pulumi that needs Node 22.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/stack-config";

interface Manifest { engines?: { node?: string }; peerDependencies?: Record<string, string>; devDependencies?: Record<string, string>; version?: string; dev?: boolean }
const read = <T>(file: string) => JSON.parse(readFileSync(join(REPO_ROOT, file), "utf8")) as T;
const pkg = read<Manifest>("package.json");
const lock = read<{ packages: Record<string, Manifest> }>("package-lock.json");
const floor = semver.minVersion(pkg.engines?.node ?? "")!;

/**
 * The first release of a peer whose `engines.node` excludes the floor, from the npm registry's
 * metadata (`npm view @pulumi/pulumi@">=3.248.0" version engines.node`, 2026-12-07: 3.248.0 says
 * `>=20`, 3.249.0 and every later 3.x say `>=22`). A peer range must stay below it.
 */
const FIRST_RELEASE_NEEDING_NEWER_NODE: Record<string, string> = { "@pulumi/pulumi": "3.249.0" };

describe("the Node.js floor", () => {
  it("is one version, 20.19.0, stated as a lower bound", () => {
    expect(pkg.engines?.node).toBe(">=20.19");
    expect(floor.version).toBe("20.19.0");
  });

  it("runs every locked package, dependencies and dev tools alike", () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path, m]) => path !== "" && m.engines?.node !== undefined && !semver.satisfies(floor, m.engines.node))
      .map(([path, m]) => `${path}@${m.version ?? "?"} needs node ${m.engines!.node!}`);
    expect(refusing).toEqual([]);
  });

  it("admits no peer release that needs a newer Node, and the locked peers satisfy their ranges", () => {
    for (const [name, first] of Object.entries(FIRST_RELEASE_NEEDING_NEWER_NODE)) {
      const range = pkg.peerDependencies?.[name];
      expect(range, name).toBeDefined();
      expect(semver.intersects(range!, `>=${first}`), `${name} ${range!} admits ${first}+`).toBe(false);
    }
    for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
      const locked = lock.packages[`node_modules/${name}`]?.version;
      expect(locked && semver.satisfies(locked, range), `${name}@${String(locked)} vs ${range}`).toBe(true);
    }
  });

  it("is what the README says and what the typings are for", () => {
    expect(readFileSync(join(REPO_ROOT, "README.md"), "utf8")).toContain(`Node.js ${floor.major}.${floor.minor} or newer`);
    expect(semver.major(pkg.devDependencies?.["@types/node"] ?? "")).toBe(floor.major);
  });
});
