// The policy-pack issue: under the real engine, `pulumi preview --policy-pack policy` reports one
// deliberate violation (test/policy/preview-fixture), previewed against the fake cluster.
// (The local stack's preview with the same pack, which must report nothing, is in local.test.ts.)
import { join } from "node:path";
import { expect, it } from "vitest";
import { REPO, env, run } from "./support";

it("pulumi preview --policy-pack policy reports the fixture's deliberate violation and fails", () => {
  const r = run(join(REPO, "test", "policy", "preview-violation.sh"), [], { env: { E2E_KUBECONFIG: env.kubeconfig } });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain("reported the deliberate violation and failed");
  expect(r.stdout).toMatch(/mandatory/);
});
