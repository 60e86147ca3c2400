// How program time and memory grow with the stack: the full `prod` program under Pulumi mocks with
// 1, 10 and 50 agent runtimes. Each case runs in its own Node process, so peak memory is its own.
//   npm run bench                      all cases, as a table
//   node <built>/bench/program-scale.js --agents 10    one case, as JSON
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { doubleOptions } from "../test/support/canned";
import { runWithMocks } from "../test/support/mocks";
import { PROJECT, shippedStackConfig } from "../test/support/stack-config";

const CASES = [1, 10, 50];

interface CaseResult {
  agents: number;
  resources: number;
  wallSeconds: number;
  peakRssMiB: number;
}

/** Prod's config with `n` agents of the shipped size. */
function prodWithAgents(n: number): Record<string, string> {
  const config = shippedStackConfig("prod");
  const agents = Array.from({ length: n }, (_, i) => ({ name: `agent-${i + 1}`, replicas: { min: 2, max: 6 }, cpu: 1, memoryGiB: 2 }));
  return { ...config, [`${PROJECT}:agents`]: JSON.stringify(agents) };
}

async function runCase(agents: number): Promise<CaseResult> {
  const config = prodWithAgents(agents);
  pulumi.runtime.setAllConfig(config, Object.keys(config).filter((k) => /ApiKey|Password|Token/.test(k)));
  const started = process.hrtime.bigint();
  const run = await runWithMocks(() => import("../index"), { project: PROJECT, stack: "prod", ...doubleOptions() });
  // runWithMocks waits until registrations have been still for 100 ms; that wait is not the program's.
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9 - 0.1;
  const resources = run.resources.filter((r) => !r.read).length;
  return { agents, resources, wallSeconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

function runAll(): void {
  const rows = CASES.map((agents) => {
    // The program's own warnings (e.g. outputs a platform leaves undefined) go to stderr: keep them out of the table.
    const out = execFileSync(process.execPath, [__filename, "--agents", String(agents)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(out.trim().split("\n").pop()!) as CaseResult;
  });
  console.log("prod stack under mocks, one Node process per case");
  console.log("| agents | resources | wall time (s) | peak RSS (MiB) |");
  console.log("| ---: | ---: | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.agents} | ${r.resources} | ${r.wallSeconds.toFixed(2)} | ${r.peakRssMiB.toFixed(0)} |`);
}

const flag = process.argv.indexOf("--agents");
if (flag > 0) {
  runCase(Number(process.argv[flag + 1])).then(
    (r) => console.log(JSON.stringify(r)),
    (e: unknown) => { console.error(e); process.exit(1); },
  );
} else {
  runAll();
}
