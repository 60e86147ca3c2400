// Release discipline: the version in package.json is the CHANGELOG's newest release, the policy
// pack (shipped in the package, bin/policy) carries the same version, and the lock files agree.
// A release bumps all of them in one commit (docs/package.md, "Releases").
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/stack-config";

const json = (file: string) => JSON.parse(readFileSync(join(REPO_ROOT, file), "utf8")) as { version: string; packages: Record<string, { version?: string }> };
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/;

/** The versions of the CHANGELOG's `## <version>` headings, newest first (an `## Unreleased` heading is not one). */
export function changelogVersions(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("## ")).map((l) => l.slice(3).trim().split(/\s/)[0]!).filter((v) => SEMVER.test(v));
}

describe("versions", () => {
  const pkg = json("package.json").version;

  it("package.json's version is semver and the CHANGELOG's newest release", () => {
    expect(pkg).toMatch(SEMVER);
    expect(changelogVersions(readFileSync(join(REPO_ROOT, "CHANGELOG.md"), "utf8"))[0]).toBe(pkg);
  });

  it("the CHANGELOG's releases are listed newest first, each once", () => {
    const versions = changelogVersions(readFileSync(join(REPO_ROOT, "CHANGELOG.md"), "utf8"));
    const key = (v: string) => v.split(/[.-]/).slice(0, 3).map(Number);
    const sorted = [...versions].sort((a, b) => { const [x, y] = [key(a), key(b)]; return y[0]! - x[0]! || y[1]! - x[1]! || y[2]! - x[2]!; });
    expect(versions).toEqual(sorted);
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions).toEqual(expect.arrayContaining(["0.2.0"]));
  });

  it("the policy pack is versioned with the package, and both lock files agree", () => {
    expect(json("policy/package.json").version).toBe(pkg);
    expect(json("package-lock.json").packages[""]!.version).toBe(pkg);
    expect(json("policy/package-lock.json").packages[""]!.version).toBe(pkg);
  });

  it("reads version headings, not other second-level headings", () => {
    expect(changelogVersions("# C\n\n## Unreleased\n\n## 1.2.3\n\n### 1.0.0 notes\n\n## 1.2.2-rc.1 (2026-01-01)\n")).toEqual(["1.2.3", "1.2.2-rc.1"]);
  });
});
