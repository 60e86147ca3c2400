// Probe pods of the real-packet flow table: each carries exactly the labels of the role it stands
// for (a workload's pod template, a sandbox as the manager makes it, a caller elsewhere) and the
// same container ports (a Service's named targetPort resolves through them), and serves them with
// test/e2e/netpol/probe.py. Hardened like the stack's own pods, so PSA `restricted` admits them.
import { readFileSync } from "node:fs";
import type { ContainerPort, Labels } from "../../support/netpol";
import { PROBE } from "./outside";

export const PROBE_CONFIGMAP = "netpol-probe";
export const NODE_NAME = "ase2e-node";

export interface ProbeRole {
  /** Endpoint key in the flow table ("agent A", "sandbox B", ...). */
  readonly key: string;
  /** Pod name. */
  readonly pod: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly ports: readonly ContainerPort[];
  /** What the listener answers with: the workload's name, as the table's endpoint has it. */
  readonly role: string;
  /** Ports the listener serves (default: `ports`). */
  readonly serve?: readonly { readonly containerPort: number; readonly protocol: string }[];
}

export function probeConfigMap(namespace: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: PROBE_CONFIGMAP, namespace },
    data: { "probe.py": readFileSync(PROBE, "utf8") },
  };
}

export function probePod(r: ProbeRole, image: string): Record<string, unknown> {
  const listen = r.serve ?? r.ports.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol ?? "TCP" }));
  const tcp = listen.filter((p) => p.protocol === "TCP");
  const serve = [...new Set(listen.map((p) => `${p.containerPort}${p.protocol === "UDP" ? "/udp" : ""}`))];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: r.pod, namespace: r.namespace, labels: r.labels },
    spec: {
      // The real node only (the kwok virtual node runs no container).
      nodeSelector: { "kubernetes.io/hostname": NODE_NAME },
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 0,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65534,
        runAsGroup: 65534,
        seccompProfile: { type: "RuntimeDefault" },
        // Ports below 1024 (a sandbox's 80) without a capability; a PSA-baseline safe sysctl.
        sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
      },
      containers: [{
        name: "probe",
        image,
        command: ["python3", "/probe/probe.py", "serve", r.role, ...serve],
        ports: r.ports,
        ...(tcp[0] ? { readinessProbe: { tcpSocket: { port: tcp[0].containerPort }, periodSeconds: 1 } } : {}),
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        volumeMounts: [{ name: "probe", mountPath: "/probe", readOnly: true }],
      }],
      volumes: [{ name: "probe", configMap: { name: PROBE_CONFIGMAP } }],
    },
  };
}
