// Issue 10, item 10: the provider's kubeconfig on ACK is a temporary credential that AckCluster
// re-reads on every run. `pulumi refresh` and `pulumi destroy` reuse the copy stored in state
// unless run with --run-program (README "Expiring kubeconfig"). This shows both halves on the
// embedded cluster: a service-account token stands in for the credential, and deleting its
// service account makes it as useless as an expired one.
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { env, kubectl, ok, run, type Run } from "./support";

const NAMESPACE = "e2e-expiring-kubeconfig";
const STACK = "expiring";
const dir = join(env.work, "programs", "expiring-kubeconfig");
const kubeconfigPath = join(dir, "deployer.kubeconfig");

function pulumi(args: string[]): Run {
  return run("pulumi", [...args, "--non-interactive", "--color", "never", "--stack", STACK], { cwd: dir });
}

/** A service account allowed to edit the test namespace, and a kubeconfig with a token of it. */
function issueCredential(account: string): void {
  ok(kubectl(["create", "serviceaccount", account, "-n", NAMESPACE]), `create serviceaccount ${account}`);
  ok(kubectl(["create", "rolebinding", account, "-n", NAMESPACE, "--clusterrole", "edit", `--serviceaccount=${NAMESPACE}:${account}`]), `create rolebinding ${account}`);
  const token = ok(kubectl(["create", "token", account, "-n", NAMESPACE, "--duration", "1h"]), `create token ${account}`).stdout.trim();
  tokens.set(account, token);
  const doc = parse(readFileSync(env.kubeconfig, "utf8")) as { users: { user: Record<string, unknown> }[] };
  for (const u of doc.users) u.user = { token };
  writeFileSync(kubeconfigPath, stringify(doc), { mode: 0o600 });
}

const tokens = new Map<string, string>();

/**
 * What an expired credential is: the API server no longer accepts it. It caches token reviews for
 * a few seconds, so wait (bounded) until it refuses the token before the test relies on that.
 */
async function revoke(account: string): Promise<void> {
  ok(kubectl(["delete", "serviceaccount", account, "-n", NAMESPACE, "--wait=true"]), `delete serviceaccount ${account}`);
  const token = tokens.get(account)!;
  for (let i = 0; i < 60; i++) {
    const probe = kubectl(["--token", token, "get", "configmaps", "-n", NAMESPACE]);
    if (probe.code !== 0 && /Unauthorized|provide credentials/.test(probe.stderr)) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the API server still accepts ${account}'s token 60 s after its service account was deleted`);
}

function markerExists(): boolean {
  return kubectl(["get", "configmap", "expiring-kubeconfig-marker", "-n", NAMESPACE]).code === 0;
}

describe("an expired provider credential: refresh and destroy need --run-program", () => {
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    for (const f of ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"]) cpSync(join(__dirname, "expiring-kubeconfig", f), join(dir, f));
    symlinkSync(join(__dirname, "..", "..", "node_modules"), join(dir, "node_modules"));
    ok(kubectl(["create", "namespace", NAMESPACE]), "create namespace");
    issueCredential("deployer-1");
    ok(pulumi(["stack", "init"]), "pulumi stack init");
    ok(pulumi(["config", "set", "kubeconfigPath", kubeconfigPath]), "config set kubeconfigPath");
    ok(pulumi(["config", "set", "namespace", NAMESPACE]), "config set namespace");
  });

  afterAll(() => {
    // Whatever happened above: no stack, no namespace left behind.
    pulumi(["stack", "rm", "--yes", "--force"]);
    kubectl(["delete", "namespace", NAMESPACE, "--wait=true", "--timeout=120s"]);
  });

  it("pulumi up with the first credential creates the ConfigMap", () => {
    ok(pulumi(["up", "--yes", "--skip-preview"]), "pulumi up");
    expect(markerExists()).toBe(true);
  });

  it("once that credential is dead, plain refresh fails to authenticate; --run-program reads the new one", async () => {
    await revoke("deployer-1");
    issueCredential("deployer-2");

    const plain = pulumi(["refresh", "--yes", "--skip-preview"]);
    expect(plain.code).not.toBe(0);
    // The API server's 401, as the provider words it.
    expect(plain.stdout + plain.stderr).toMatch(/asked for the client to provide credentials|Unauthorized/);

    ok(pulumi(["refresh", "--yes", "--skip-preview", "--run-program"]), "pulumi refresh --run-program");
  });

  it("plain destroy fails the same way; destroy --run-program removes the ConfigMap", async () => {
    await revoke("deployer-2");
    issueCredential("deployer-3");

    const plain = pulumi(["destroy", "--yes", "--skip-preview"]);
    expect(plain.code).not.toBe(0);
    expect(plain.stdout + plain.stderr).toMatch(/asked for the client to provide credentials|Unauthorized/);
    expect(markerExists()).toBe(true);

    ok(pulumi(["destroy", "--yes", "--skip-preview", "--run-program"]), "pulumi destroy --run-program");
    expect(markerExists()).toBe(false);
  });
});
