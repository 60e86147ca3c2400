// The real policy pack process, driven over the analyzer gRPC protocol the way the Pulumi engine
// drives it during `pulumi preview --policy-pack policy`: start @pulumi/pulumi/cmd/run-policy-pack
// in policy/ (it compiles index.ts with ts-node and prints its port), then GetAnalyzerInfo,
// ConfigureStack, Configure, Analyze and AnalyzeStack. This checks the wiring in policy/index.ts
// against @pulumi/policy itself, without needing the Pulumi CLI.
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import type { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RULES } from "../../policy/rules";
import type { RunningPolicyPack } from "../support/policy-pack-server";
import { startPolicyPack } from "../support/policy-pack-server";
import { REPO_ROOT } from "../support/stack-config";
import { deployment, goodContainer, podSpec } from "./fixtures";

const POLICY_DIR = join(REPO_ROOT, "policy");
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

let pack: RunningPolicyPack | undefined;
let client: AnalyzerClient;

/** Adapts a unary gRPC callback to a promise. */
function unary<T>(start: (cb: (err: grpc.ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, res) => (err ? reject(err) : resolve(res)));
  });
}

const rpc = {
  info: () => unary<analyzer.AnalyzerInfo>((cb) => client.getAnalyzerInfo(new Empty(), cb)),
  analyze: (req: analyzer.AnalyzeRequest) => unary<analyzer.AnalyzeResponse>((cb) => client.analyze(req, cb)),
  analyzeStack: (req: analyzer.AnalyzeStackRequest) => unary<analyzer.AnalyzeResponse>((cb) => client.analyzeStack(req, cb)),
  configure: (req: analyzer.ConfigureAnalyzerRequest) => unary<Empty>((cb) => client.configure(req, cb)),
  configureStack: (req: analyzer.AnalyzerStackConfigureRequest) => unary<analyzer.AnalyzerStackConfigureResponse>((cb) => client.configureStack(req, cb)),
};

function options(): analyzer.AnalyzerResourceOptions {
  return new analyzer.AnalyzerResourceOptions().setCustomtimeouts(new analyzer.AnalyzerResourceOptions.CustomTimeouts());
}

function analyzeRequest(type: string, name: string, props: Record<string, unknown>): analyzer.AnalyzeRequest {
  return new analyzer.AnalyzeRequest()
    .setType(type)
    .setName(name)
    .setUrn(`urn:pulumi:test::agentscope-ack::${type}::${name}`)
    .setProperties(toStruct(props))
    .setOptions(options());
}

/** Resource properties as the engine sends them: plain JSON, undefined fields dropped. */
function toStruct(props: Record<string, unknown>): Struct {
  return Struct.fromJavaScript(JSON.parse(JSON.stringify(props)) as never);
}

function stackResource(type: string, name: string, props: Record<string, unknown>): analyzer.AnalyzerResource {
  return new analyzer.AnalyzerResource()
    .setType(type)
    .setName(name)
    .setUrn(`urn:pulumi:test::agentscope-ack::${type}::${name}`)
    .setProperties(toStruct(props))
    .setOptions(options());
}

function diagnostics(res: analyzer.AnalyzeResponse) {
  return res.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    pack: d.getPolicypackname(),
    level: d.getEnforcementlevel(),
    message: d.getMessage(),
    urn: d.getUrn(),
  }));
}

beforeAll(async () => {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICY_DIR] });
  pack = await startPolicyPack(runner, POLICY_DIR);
  client = pack.client;
}, 120_000);

afterAll(() => {
  pack?.stop();
});

describe("the policy pack served to the engine", () => {
  it("announces every rule, mandatory by default, with its config schema", async () => {
    const info = await rpc.info();
    expect(info.getName()).toBe("agentscope-ack");
    expect(info.getSupportsconfig()).toBe(true);
    const policies = info.getPoliciesList();
    expect(policies.map((p) => p.getName())).toEqual(RULES.map((r) => r.name));
    for (const p of policies) expect(p.getEnforcementlevel()).toBe(analyzer.EnforcementLevel.MANDATORY);
    const workloads = policies.find((p) => p.getName() === "workload-containers");
    expect(workloads?.getConfigschema()?.getProperties()?.toJavaScript()).toMatchObject({
      allowedRegistries: { type: "array", default: ["*.cr.aliyuncs.com"] },
    });
  });

  it("reports a deliberate violation on the resource, as mandatory", async () => {
    const bad = deployment(podSpec({}, goodContainer({ image: "docker.io/library/python:3.12" })));
    const res = await rpc.analyze(analyzeRequest(DEPLOYMENT, "friday", bad));
    expect(diagnostics(res)).toEqual([
      expect.objectContaining({
        policy: "workload-containers",
        pack: "agentscope-ack",
        level: analyzer.EnforcementLevel.MANDATORY,
        message: expect.stringContaining('Deployment agents/friday container "agent": image docker.io/library/python:3.12 is not pinned by digest') as string,
      }),
      expect.objectContaining({
        policy: "workload-containers",
        message: expect.stringContaining("comes from docker.io, which is not an allowed registry") as string,
      }),
    ]);
    const good = await rpc.analyze(analyzeRequest(DEPLOYMENT, "friday", deployment()));
    expect(diagnostics(good)).toEqual([]);
  });

  it("still enforces the rest of a policy when a value is unknown during preview", async () => {
    // The engine's sentinel for a string only known after the update (e.g. a digest built in the same run).
    const unknown = deployment(podSpec({}, goodContainer({ image: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", readinessProbe: undefined })));
    expect(diagnostics(await rpc.analyze(analyzeRequest(DEPLOYMENT, "friday", unknown)))).toEqual([
      expect.objectContaining({
        policy: "workload-containers",
        level: analyzer.EnforcementLevel.MANDATORY,
        message: expect.stringContaining('container "agent": has no readinessProbe') as string,
      }),
    ]);
  });

  it("reads policy config and the stack's environment tag", async () => {
    const cluster = { name: "c", clusterSpec: "ack.pro.small", addons: [{ name: "terway-eniip", config: '{"NetworkPolicy":"true"}' }] };
    const type = "alicloud:cs/managedKubernetes:ManagedKubernetes";
    // No config and no tag: production is assumed.
    const strict = await rpc.analyze(analyzeRequest(type, "c", cluster));
    expect(diagnostics(strict).map((d) => d.policy)).toEqual(["ack-cluster", "ack-cluster"]);

    const tags = new analyzer.AnalyzerStackConfigureRequest().setStack("dev").setProject("agentscope-ack").setDryRun(true);
    tags.getTagsMap().set("environment", "dev");
    await rpc.configureStack(tags);
    expect(diagnostics(await rpc.analyze(analyzeRequest(type, "c", cluster)))).toEqual([]);

    const configure = new analyzer.ConfigureAnalyzerRequest();
    configure.getPolicyconfigMap().set(
      "ack-cluster",
      new analyzer.PolicyConfig().setEnforcementlevel(analyzer.EnforcementLevel.MANDATORY).setProperties(Struct.fromJavaScript({ production: true })),
    );
    configure.getPolicyconfigMap().set(
      "workload-containers",
      new analyzer.PolicyConfig().setEnforcementlevel(analyzer.EnforcementLevel.ADVISORY).setProperties(Struct.fromJavaScript({ allowedRegistries: ["docker.io"] })),
    );
    await rpc.configure(configure);
    expect(diagnostics(await rpc.analyze(analyzeRequest(type, "c", cluster))).map((d) => d.message)).toEqual([
      expect.stringContaining("deletionProtection is null in a production stack"),
      expect.stringContaining("API-server audit logs are off"),
    ]);
    const hub = deployment(podSpec({}, goodContainer({ image: `docker.io/library/python@sha256:${"ab".repeat(32)}` })));
    expect(diagnostics(await rpc.analyze(analyzeRequest(DEPLOYMENT, "friday", hub)))).toEqual([]);
  });

  it("runs the stack rules over all resources and names the offending one", async () => {
    const req = new analyzer.AnalyzeStackRequest().setResourcesList([
      stackResource("kubernetes:core/v1:Namespace", "ns", { metadata: { name: "agents" } }),
      stackResource(DEPLOYMENT, "friday", deployment()),
    ]);
    const res = await rpc.analyzeStack(req);
    expect(diagnostics(res)).toEqual([
      expect.objectContaining({
        policy: "network-isolation",
        level: analyzer.EnforcementLevel.MANDATORY,
        urn: "urn:pulumi:test::agentscope-ack::kubernetes:core/v1:Namespace::ns",
        message: expect.stringContaining('Namespace "agents" runs Deployment agents/friday but has no default-deny NetworkPolicy for Ingress and Egress.') as string,
      }),
    ]);
  });
});
