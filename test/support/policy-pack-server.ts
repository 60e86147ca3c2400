// A Node.js policy pack served the way the Pulumi engine starts one (`run-policy-pack` on a free
// loopback port, which it prints), with an Analyzer gRPC client connected to it.
import { spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";

export interface RunningPolicyPack {
  readonly client: AnalyzerClient;
  /** Closes the client and stops the pack. */
  stop(): void;
}

/** `runner`: the `@pulumi/pulumi/cmd/run-policy-pack` module to run the pack in `packDir` with. */
export async function startPolicyPack(runner: string, packDir: string): Promise<RunningPolicyPack> {
  const child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: packDir, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = /^(\d+)\s*$/m.exec(out);
      if (line?.[1]) resolve(line[1]);
    });
    child.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
  });
  const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return { client, stop: () => { client.close(); child.kill(); } };
}
