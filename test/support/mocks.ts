/**
 * A Pulumi mock harness for component tests: installs mocks, runs a function that builds
 * components inside a root stack, waits until every registration and Output has settled, and
 * returns every resource the engine saw.
 *
 * - `call` throws on any invoke token it does not know (add a canned answer in CALLS).
 * - `docker:index/image:Image` gets a `repoDigest` `<repository>@sha256:<64 hex>`;
 *   `random:index/randomPassword:RandomPassword` a `result`; reads of the `default/kubernetes`
 *   EndpointSlice return one API server endpoint.
 */
import * as pulumi from "@pulumi/pulumi";

/** Pulumi's wire marker for a secret value: `{ [SIG]: SECRET_SIG, value }`. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces every secret wrapper by its value; records the JSON paths that were secret. */
export function unwrapSecrets(value: unknown, path = "", secretPaths: string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secretPaths));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) {
      secretPaths.push(path);
      return unwrapSecrets(obj["value"], path, secretPaths);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v, path ? `${path}.${k}` : k, secretPaths)]));
  }
  return value;
}

export interface MockResource {
  /** Type token, e.g. `kubernetes:apps/v1:Deployment`. */
  readonly type: string;
  /** Pulumi resource name (the logical name, not metadata.name). */
  readonly name: string;
  /** Inputs as the engine received them: Outputs resolved, secrets unwrapped. */
  readonly inputs: Record<string, unknown>;
  /** Paths (`spec.template.metadata.annotations.x`) of inputs that arrived as secrets. */
  readonly secretPaths: string[];
  /** True for `Resource.get` reads (not rendered by the program). */
  readonly read: boolean;
  /** True for CustomResources (false for components). */
  readonly custom: boolean;
  /** Provider reference the resource was registered with ("" when none). */
  readonly provider: string;
}

export interface MockRun {
  readonly resources: MockResource[];
  /** Custom (non-component), non-read resources of a type. */
  ofType(type: string): MockResource[];
  /** The one resource of `type` whose Pulumi name ends with `suffix`; throws otherwise. */
  one(type: string, suffix?: string): MockResource;
  /** Rendered Kubernetes objects (custom resources of the kubernetes provider, reads excluded). */
  k8sObjects(): K8sObject[];
  /** Every invoke token the program called. */
  readonly calls: string[];
}

/** A Kubernetes object as the program rendered it. */
export interface K8sObject extends Record<string, unknown> {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  /** The Pulumi name it came from. */
  readonly __pulumiName: string;
}

export const MOCK_DIGEST = "ab".repeat(32);
/** The ClusterIP every mocked Service gets. */
export const MOCK_CLUSTER_IP = "10.96.0.10";
export const MOCK_API_SERVER = { address: "10.32.192.10", port: 6443 };

type CallHandler = (inputs: Record<string, unknown>) => Record<string, unknown>;
const CALLS: Record<string, CallHandler> = {};

/** Adds a canned answer for an invoke token (tests of programs that call data sources). */
export function addMockCall(token: string, handler: CallHandler): void {
  CALLS[token] = handler;
}

/** Provider-computed outputs for the types the components read. */
function computedState(type: string, name: string, inputs: Record<string, unknown>, id: string | undefined): Record<string, unknown> {
  switch (type) {
    case "docker:index/image:Image": {
      const imageName = String(inputs["imageName"]);
      const repository = imageName.replace(/:[^/:]+$/, "");
      return { repoDigest: `${repository}@sha256:${MOCK_DIGEST}` };
    }
    case "random:index/randomPassword:RandomPassword":
      return { result: `generated${name.replace(/[^A-Za-z0-9]/g, "")}0123456789abcdef` };
    case "kubernetes:discovery.k8s.io/v1:EndpointSlice":
      if (id === "default/kubernetes") {
        return {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: { name: "kubernetes", namespace: "default" },
          addressType: "IPv4",
          endpoints: [{ addresses: [MOCK_API_SERVER.address], conditions: { ready: true } }],
          ports: [{ name: "https", port: MOCK_API_SERVER.port, protocol: "TCP" }],
        };
      }
      return {};
    case "kubernetes:core/v1:Service": {
      const spec = (inputs["spec"] ?? {}) as Record<string, unknown>;
      // The API server assigns every Service but a headless one an address (MOCK_CLUSTER_IP here).
      const withIp = spec["clusterIP"] === undefined ? { spec: { ...spec, clusterIP: MOCK_CLUSTER_IP } } : {};
      return spec["type"] === "LoadBalancer"
        ? { ...withIp, status: { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } } }
        : withIp;
    }
    default:
      return {};
  }
}

export interface RunOptions {
  project?: string;
  stack?: string;
  preview?: boolean;
  /** More provider-computed outputs (e.g. a cloud's), merged over the defaults above. */
  state?: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown>;
  /** The id a provider would assign a new resource (default `<name>-id`). */
  id?: (type: string, name: string, inputs: Record<string, unknown>) => string | undefined;
  /** Answers for invoke tokens beyond addMockCall's; `inputsById` finds a registered resource's inputs. */
  call?: (token: string, inputs: Record<string, unknown>, inputsById: (id: string) => Record<string, unknown> | undefined) => Record<string, unknown> | undefined;
}

/**
 * Installs mocks, runs `build` inside a root stack (as the engine would), and resolves once every
 * resource registration has settled. Throws what `build` throws.
 */
export async function runWithMocks(build: () => unknown, options: RunOptions = {}): Promise<MockRun> {
  const resources: MockResource[] = [];
  const calls: string[] = [];
  await pulumi.runtime.setMocks({
    newResource(args) {
      const secretPaths: string[] = [];
      const inputs = unwrapSecrets(args.inputs, "", secretPaths) as Record<string, unknown>;
      // "" for a new resource: give it an id, or its outputs stay unknown.
      const id = args.id || options.id?.(args.type, args.name, inputs) || `${args.name}-id`;
      const state = {
        ...(args.inputs as Record<string, unknown>),
        ...computedState(args.type, args.name, inputs, args.id),
        ...options.state?.(args.type, args.name, inputs),
      };
      resources.push({ type: args.type, name: args.name, inputs, secretPaths, read: args.id !== undefined && args.id !== "", custom: args.custom ?? true, provider: args.provider ?? "" });
      return { id, state };
    },
    call(args) {
      calls.push(args.token);
      const inputs = args.inputs as Record<string, unknown>;
      const handler = CALLS[args.token];
      if (handler) return handler(inputs);
      const answer = options.call?.(args.token, inputs, (id) => resources.find((r) => (options.id?.(r.type, r.name, r.inputs) ?? `${r.name}-id`) === id)?.inputs);
      if (!answer) throw new Error(`unexpected invoke ${args.token}: add a canned answer with addMockCall()`);
      return answer;
    },
  }, options.project ?? "agentscope-ack", options.stack ?? "test", options.preview ?? false);

  let failure: unknown;
  await pulumi.runtime.runInPulumiStack(async () => {
    try {
      await build();
    } catch (e) {
      failure = e;
    }
    return {};
  });
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
  // Invokes made inside applies count too: a late one would otherwise reach the next run's mocks.
  await settle(() => resources.length + calls.length);

  const live = () => resources.filter((r) => r.custom && !r.read);
  return {
    resources,
    calls,
    ofType: (type) => live().filter((r) => r.type === type),
    one(type, suffix = "") {
      const found = live().filter((r) => r.type === type && r.name.endsWith(suffix));
      if (found.length !== 1) throw new Error(`expected one ${type} named *${suffix}, found ${found.map((r) => r.name).join(", ") || "none"}`);
      return found[0]!;
    },
    k8sObjects: () =>
      live()
        .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"))
        .map((r) => ({ ...r.inputs, __pulumiName: r.name }) as K8sObject),
  };
}

/** Resolves an Output's value (under mocks), for assertions. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
}

/** Waits until a count has stopped growing: registrations under mocks are asynchronous. */
export async function settle(count: () => number, quietTicks = 5): Promise<void> {
  let last = -1;
  let stable = 0;
  while (stable < quietTicks) {
    await new Promise((r) => setTimeout(r, 20));
    const now = count();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}
