// docs/cloud-contract.md names, per row, the test that relies on the behaviour: each must exist.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/stack-config";

const table = readFileSync(join(REPO_ROOT, "docs", "cloud-contract.md"), "utf8")
  .split("\n")
  .filter((line) => line.startsWith("| ") && !line.startsWith("| Resource") && !line.startsWith("|---"));

/** `test/x.test.ts`: "title" from a row's last cell. */
function namedTest(row: string): { file: string; title: string } | undefined {
  const m = /`([^`]+\.test\.ts)`: "([^"]+)" \|$/.exec(row.trim());
  return m ? { file: m[1]!, title: m[2]! } : undefined;
}

describe("docs/cloud-contract.md", () => {
  it("has a row per behaviour, each naming a test", () => {
    expect(table.length).toBeGreaterThan(30);
    expect(table.filter((row) => namedTest(row) === undefined)).toEqual([]);
  });

  it("names only tests that exist", () => {
    const missing = table.map(namedTest).filter((t): t is { file: string; title: string } => t !== undefined).filter(({ file, title }) => {
      const path = join(REPO_ROOT, file);
      return !existsSync(path) || !readFileSync(path, "utf8").includes(`it(${JSON.stringify(title)}`);
    });
    expect(missing).toEqual([]);
  });
});
