#!/usr/bin/env node
// `npx agentscope-ack-images --registry R`: the package's images built from the context it ships
// and pushed to the consumer's registry (docs/package.md, "Images"). Arguments: cli/images-args.ts;
// the builds and pushes: cli/build-push.ts.
import { spawnSync } from "node:child_process";
import { agentImageContext } from "../components/workload/image-context";
import { buildAndPush } from "./build-push";
import type { Runner } from "./build-push";
import { IMAGES_COMMAND, USAGE, UsageError, parseImagesArgs } from "./images-args";

const onPath = (cmd: string): boolean => spawnSync("sh", ["-c", 'command -v "$1"', "sh", cmd], { stdio: "ignore" }).status === 0;

/** Progress goes to stderr, so stdout holds only the JSON. */
const run: Runner = (cmd, args, quiet) => {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024, stdio: ["ignore", quiet ? "pipe" : 2, quiet ? "pipe" : 2] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}${quiet ? `\n${r.stderr}` : ""}`);
  return quiet ? r.stdout : "";
};

function main(argv: string[]): number {
  let opts;
  try {
    opts = parseImagesArgs(argv, onPath);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${IMAGES_COMMAND}: ${e.message}\n(${IMAGES_COMMAND} --help lists the options)\n`);
    return 2;
  }
  if (opts === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const pushed = buildAndPush(opts, agentImageContext(), run, (line) => process.stderr.write(`[${IMAGES_COMMAND}] ${line}\n`));
    process.stdout.write(`${JSON.stringify(pushed, null, 2)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`${IMAGES_COMMAND}: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
