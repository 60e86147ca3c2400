import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AcsNetwork, AcsPlacement } from "./acs";
import { NO_ACS, acsNetworkAnnotations, acsPodAnnotations, acsPodLabels, acsTolerations, requireAcsSize } from "./acs";
import type { WorkloadIdentity } from "./labels";
import { recommendedLabels, selectorLabels } from "./labels";
import { guaranteedResources } from "./resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpVolume, tmpVolumeMount } from "./security-context";
import { requireDigestRef, requirePositive } from "./validate";

/** Port of the stand-in's container and Service (agent-image/stand_in_model, `PORT`). */
export const STAND_IN_MODEL_PORT = 8080;
/** The model name agents ask for; the stand-in answers to any name. */
export const STAND_IN_MODEL_NAME = "stand-in";
/**
 * What agents send as their model API key. Not a secret: the stand-in reads no key, but the agent's
 * OpenAI client insists on one.
 */
export const STAND_IN_MODEL_API_KEY = "not-a-secret-stand-in-model";
const RESOURCE_NAME = "stand-in-model";

/**
 * The stand-in model (target `stand-in-model` of agent-image/): an OpenAI-compatible endpoint with
 * scripted answers (one code-execution tool call for a bubble sort, then the tool's output), so the
 * demo runs with no model API key and no internet. Not a language model.
 */
export interface StandInModelArgs {
  /** Namespace (the agents namespace). */
  namespace: pulumi.Input<string>;
  /** `app.kubernetes.io/part-of` (the stack's name prefix). */
  partOf: string;
  /** Image pinned by digest (target `stand-in-model` of agent-image/). */
  image: pulumi.Input<string>;
  /** Labels selecting the pods that may call it, in the same namespace (every agent). */
  clientSelector: Record<string, string>;
  /** vCPU, requests = limits (default 0.25; 0.5 on ACS). */
  cpu?: number;
  /** Memory in GiB, requests = limits (default 0.125; 1 on ACS). */
  memoryGiB?: number;
  /** ACS placement (default NO_ACS). */
  placement?: AcsPlacement;
  /** ACS pods' vSwitches (and security groups), stamped on the pod when it runs on ACS. */
  acsNetwork?: AcsNetwork;
  /** Names of image pull Secrets in the namespace (default none). */
  imagePullSecrets?: string[];
}

export interface ResolvedStandInModelArgs {
  readonly namespace: pulumi.Input<string>;
  readonly identity: WorkloadIdentity;
  readonly image: pulumi.Input<string>;
  readonly clientSelector: Record<string, string>;
  readonly cpu: number;
  readonly memoryGiB: number;
  readonly placement: AcsPlacement;
  readonly imagePullSecrets: string[];
}

export function resolveStandInModelArgs(args: StandInModelArgs): ResolvedStandInModelArgs {
  const C = "StandInModel";
  if (typeof args.image === "string") requireDigestRef(C, "image", args.image);
  if (Object.keys(args.clientSelector).length === 0) {
    throw new Error(`${C}: clientSelector must name the agents' labels; an empty selector would admit every pod of the namespace`);
  }
  const placement = args.placement ?? NO_ACS;
  const cpu = args.cpu ?? (placement.enabled ? 0.5 : 0.1); // off ACS: a scripted stdlib server needs little
  const memoryGiB = args.memoryGiB ?? (placement.enabled ? 1 : 0.125);
  requirePositive(C, "cpu", cpu);
  requirePositive(C, "memoryGiB", memoryGiB);
  if (placement.enabled) requireAcsSize(C, "", cpu, memoryGiB);
  return {
    namespace: args.namespace,
    identity: { name: "stand-in-model", instance: `${args.partOf}-stand-in-model`, component: "model", partOf: args.partOf },
    image: args.image,
    clientSelector: { ...args.clientSelector },
    cpu,
    memoryGiB,
    placement,
    imagePullSecrets: args.imagePullSecrets ?? [],
  };
}

export class StandInModel extends pulumi.ComponentResource {
  /** OpenAI-compatible base URL agents use (`MODEL_BASE_URL`), ending in `/v1`. */
  public readonly baseUrl: pulumi.Output<string>;
  /** Labels selecting the stand-in's pods. */
  public readonly podSelector: Record<string, string>;

  constructor(name: string, args: StandInModelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:k8s:StandInModel", name, {}, opts);
    const r = resolveStandInModelArgs(args);
    const parent = { parent: this };
    const labels = recommendedLabels(r.identity);
    const selector = selectorLabels(r.identity);
    const p = r.placement;

    new k8s.apps.v1.Deployment(`${name}-deployment`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      spec: {
        replicas: 1,
        revisionHistoryLimit: 3,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...labels, ...acsPodLabels(p) }, annotations: { ...acsPodAnnotations(p), ...acsNetworkAnnotations(p, args.acsNetwork) } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(),
            tolerations: acsTolerations(p),
            imagePullSecrets: r.imagePullSecrets.map((n) => ({ name: n })),
            terminationGracePeriodSeconds: 10,
            containers: [{
              name: "stand-in-model",
              image: r.image,
              ports: [{ name: "http", containerPort: STAND_IN_MODEL_PORT, protocol: "TCP" }],
              env: [
                { name: "HOST", value: "0.0.0.0" },
                { name: "PORT", value: String(STAND_IN_MODEL_PORT) },
              ],
              resources: guaranteedResources(r.cpu, r.memoryGiB),
              securityContext: restrictedContainerSecurityContext(),
              readinessProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 5, timeoutSeconds: 2 },
              livenessProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 },
              volumeMounts: [tmpVolumeMount()],
            }],
            volumes: [tmpVolume("16Mi")],
          },
        },
      },
    }, { ...parent, deleteBeforeReplace: true });

    const service = new k8s.core.v1.Service(`${name}-service`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      spec: {
        type: "ClusterIP",
        selector,
        ports: [{ name: "http", port: STAND_IN_MODEL_PORT, targetPort: "http", protocol: "TCP" }],
      },
    }, { ...parent, deleteBeforeReplace: true });

    // Its own policies, on top of the namespace's default deny: only agents reach it, and it
    // reaches nothing (the namespace-wide DNS rule aside).
    const tcp = { protocol: "TCP", port: STAND_IN_MODEL_PORT };
    new k8s.networking.v1.NetworkPolicy(`${name}-policy`, {
      metadata: { name: RESOURCE_NAME, namespace: r.namespace, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ["Ingress", "Egress"],
        ingress: [{ from: [{ podSelector: { matchLabels: r.clientSelector } }], ports: [tcp] }],
      },
    }, { ...parent, deleteBeforeReplace: true });
    new k8s.networking.v1.NetworkPolicy(`${name}-clients-policy`, {
      metadata: { name: `${RESOURCE_NAME}-clients`, namespace: r.namespace, labels },
      spec: {
        podSelector: { matchLabels: r.clientSelector },
        policyTypes: ["Egress"],
        egress: [{ to: [{ podSelector: { matchLabels: selector } }], ports: [tcp] }],
      },
    }, { ...parent, deleteBeforeReplace: true });

    this.baseUrl = pulumi.interpolate`http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${STAND_IN_MODEL_PORT}/v1`;
    this.podSelector = selector;
    this.registerOutputs({ baseUrl: this.baseUrl });
  }
}
