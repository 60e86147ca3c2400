// The local trace viewer (Jaeger) read back as a newcomer would: a kubectl port-forward to its query
// Service, then its HTTP API (`/api/traces`, Jaeger's query JSON).
import { spawn } from "node:child_process";
import { env } from "./support";

export interface JaegerSpan { spanID: string; operationName: string; processID: string; tags: { key: string; value: unknown }[] }
export interface JaegerTrace { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }

/** Runs `use` with a port-forward to svc/<service> open on a local port kubectl picks; closes it after. */
export async function withPortForward<T>(namespace: string, service: string, port: number, use: (base: string) => Promise<T>): Promise<T> {
  const child = spawn("kubectl", ["--kubeconfig", env.kubeconfig, "-n", namespace, "port-forward", `svc/${service}`, `:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const local = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`port-forward to ${namespace}/${service} did not start in 60 s`)), 60_000);
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on("exit", (code) => reject(new Error(`kubectl port-forward exited ${code}`)));
    });
    return await use(`http://127.0.0.1:${local}`);
  } finally {
    child.kill();
  }
}

/** The traces Jaeger holds for one service (newest first, at most `limit`). */
export async function tracesOf(base: string, service: string, limit = 50): Promise<JaegerTrace[]> {
  const res = await fetch(`${base}/api/traces?service=${encodeURIComponent(service)}&limit=${limit}`);
  if (!res.ok) throw new Error(`GET /api/traces?service=${service}: HTTP ${res.status}`);
  return ((await res.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

/** Each span as "<service> <operation>", so a test can say which hops one trace crossed. */
export function hops(t: JaegerTrace): string[] {
  return t.spans.map((s) => `${t.processes[s.processID]?.serviceName ?? "?"} ${s.operationName}`);
}
