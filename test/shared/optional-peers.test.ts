// The workload layer (package.json "exports" "./workload") must load no optional peer: no module
// reachable from components/workload/index.ts imports @pulumi/alicloud, @pulumi/docker or
// @pulumi/random as a value (a type-only import is erased), and the two components that need one
// load it on use through requireOptionalPeer. test/package runs the same entry in a project where
// the peers are not installed.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { requireOptionalPeer } from "../../components/shared/optional-peer";
import { REPO_ROOT } from "../support/stack-config";

const OPTIONAL_PEERS = ["@pulumi/alicloud", "@pulumi/docker", "@pulumi/random"];

/** Every value import (module specifier) of the modules reachable from `entry` by relative value imports. */
function valueImports(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, false);
    const specifiers: string[] = [];
    for (const s of source.statements) {
      const isValue = (ts.isImportDeclaration(s) && !s.importClause?.isTypeOnly) || (ts.isExportDeclaration(s) && !s.isTypeOnly && s.moduleSpecifier);
      if (isValue && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) specifiers.push(s.moduleSpecifier.text);
    }
    seen.set(file, specifiers);
    for (const spec of specifiers.filter((x) => x.startsWith("."))) {
      const base = resolve(dirname(file), spec);
      visit(ts.sys.fileExists(`${base}.ts`) ? `${base}.ts` : join(base, "index.ts"));
    }
  };
  visit(entry);
  return seen;
}

describe("optional peers", () => {
  it("no module of the workload entry imports one as a value", () => {
    const graph = valueImports(join(REPO_ROOT, "components", "workload", "index.ts"));
    expect(graph.size).toBeGreaterThan(20);
    const offending = [...graph].flatMap(([file, specs]) => specs.filter((s) => OPTIONAL_PEERS.includes(s)).map((s) => `${file}: ${s}`));
    expect(offending).toEqual([]);
  });

  it("the checker sees the Alibaba Cloud layer's value imports (it would catch one)", () => {
    const graph = valueImports(join(REPO_ROOT, "components", "index.ts"));
    expect([...graph.values()].flat()).toEqual(expect.arrayContaining(["@pulumi/alicloud", "@pulumi/random"]));
  });

  it("a missing peer fails with the component that needs it and the install command", () => {
    expect(() => requireOptionalPeer("@pulumi/not-installed-anywhere", "ContainerImage (a build)"))
      .toThrow("ContainerImage (a build) needs the optional peer dependency @pulumi/not-installed-anywhere: install it in your stack (npm install @pulumi/not-installed-anywhere)");
    expect(requireOptionalPeer<{ RandomPassword: unknown }>("@pulumi/random", "test").RandomPassword).toBeTypeOf("function");
  });
});
