/**
 * Runs the Python file a component ships in a ConfigMap — the agent's path-filtering gateway,
 * components/assets/gateway.py — with python3, against stand-ins for the libraries it imports, and
 * checks what it does. (The sandbox manager's extension is a module in
 * agent-image/sandbox_manager_ext with its own pytest tests.)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readGatewayPy } from "../../components/workload/agent-runtime";

function python(script: string, dir: string, env: Record<string, string> = {}): string {
  return execFileSync("python3", ["-c", script], { cwd: dir, env: { ...process.env, PYTHONPATH: dir, PYTHONDONTWRITEBYTECODE: "1", ...env }, encoding: "utf-8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("agent gateway (python3)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gateway-"));
  // Stand-ins: refusal() needs neither library; the module imports both at load.
  writeFileSync(join(dir, "httpx.py"), "class AsyncClient:\n    def __init__(self, **kw): pass\nclass Timeout:\n    def __init__(self, *a, **kw): pass\nclass Limits:\n    def __init__(self, **kw): pass\nclass HTTPError(Exception): pass\n");
  writeFileSync(join(dir, "uvicorn.py"), "def run(*a, **kw): raise AssertionError('not in tests')\n");
  writeFileSync(join(dir, "gateway.py"), readGatewayPy());

  it.each([
    ["/process", null],
    ["/health", null],
    ["/", null],
    ["/process/", null],
    ["/tasks/abc", null],
    ["/shutdown", 404],
    ["/SHUTDOWN", 404],
    ["/shutdown/", 404],
    ["/admin/status", 404],
    ["/admin/shutdown", 404],
    ["/admin", 404],
    ["/Admin/Status", 404],
    ["//admin/status", 400],
    ["/x/../admin/status", 400],
    ["/./admin", 400],
    ["/admin%2fstatus", 400],
    ["relative", 400],
    ["/administrator", null],
  ] as const)("%s -> %s", (path, status) => {
    const out = python(`import json, gateway\nprint(json.dumps(gateway.refusal(${JSON.stringify(path)})))`, dir);
    expect(JSON.parse(out)).toBe(status);
  });
});
