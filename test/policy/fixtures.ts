/** Inputs that pass every rule, for tests to break one property at a time. */
import { expect } from "vitest";
import type { Props, StackResource } from "../../policy/rules";

export const DIGEST = `sha256:${"ab".repeat(32)}`;
export const ACR_IMAGE = `agentscope-prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com/agentscope/agent@${DIGEST}`;

export function goodContainer(overrides: Props = {}): Props {
  return {
    name: "agent",
    image: ACR_IMAGE,
    resources: { requests: { cpu: "1000m", memory: "2048Mi" }, limits: { cpu: "1000m", memory: "2048Mi" } },
    readinessProbe: { httpGet: { path: "/health", port: 8080 } },
    livenessProbe: { httpGet: { path: "/health", port: 8080 } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ["ALL"] },
    },
    env: [
      { name: "PORT", value: "8080" },
      { name: "DASHSCOPE_API_KEY", valueFrom: { secretKeyRef: { name: "model", key: "apiKey" } } },
    ],
    ...overrides,
  };
}

export function podSpec(overrides: Props = {}, container: Props = goodContainer()): Props {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 10001 },
    containers: [container],
    volumes: [{ name: "tmp", emptyDir: {} }],
    ...overrides,
  };
}

export function deployment(spec: Props = podSpec(), templateLabels: Props = { "app.kubernetes.io/name": "agent" }, selector: Props = { matchLabels: { "app.kubernetes.io/name": "agent" } }, namespace = "agents"): Props {
  return {
    metadata: { name: "friday", namespace },
    spec: { selector, template: { metadata: { labels: templateLabels }, spec } },
  };
}

let seq = 0;
export function res(type: string, props: Props, name = `r${++seq}`): StackResource {
  return { type, urn: `urn:pulumi:test::agentscope-ack::${type}::${name}`, name, props };
}

export function networkPolicy(namespace: string, name: string, spec: Props): Props {
  return { metadata: { name, namespace }, spec };
}

export const DENY_ALL = { podSelector: {}, policyTypes: ["Ingress", "Egress"] };

/** A stack violation whose message contains `text` (or matches it), on `urn`. */
export function violation(text: string | RegExp, urn?: string): { message: string; urn?: string } {
  const message = (typeof text === "string" ? expect.stringContaining(text) : expect.stringMatching(text)) as string;
  return urn === undefined ? { message } : { message, urn };
}
