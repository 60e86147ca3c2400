// A Deployment that meets every rule of the policy pack but one: its image is a tag, not a digest,
// from Docker Hub. `pulumi preview --policy-pack policy` must report exactly that, and fail.
// Without a kubeconfig the provider renders YAML to a directory instead of calling a cluster, so
// the preview needs no cluster; with E2E_KUBECONFIG it previews against the e2e cluster.
import * as k8s from "@pulumi/kubernetes";

const kubeconfig = process.env["E2E_KUBECONFIG"];
const provider = new k8s.Provider("fixture", kubeconfig ? { kubeconfig } : { renderYamlToDirectory: process.env["RENDER_DIR"] ?? "rendered" });

const labels = { "app.kubernetes.io/name": "violator", "app.kubernetes.io/instance": "violator" };

new k8s.networking.v1.NetworkPolicy("default-deny", {
  metadata: { name: "default-deny", namespace: "default" },
  spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
}, { provider });

new k8s.apps.v1.Deployment("violator", {
  metadata: { name: "violator", namespace: "default" },
  spec: {
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 10001 },
        containers: [{
          name: "app",
          // The deliberate violation: a tag from Docker Hub instead of <allowed registry>@sha256:<digest>.
          image: "nginx:1.27",
          resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "500m", memory: "1Gi" } },
          readinessProbe: { tcpSocket: { port: 8080 } },
          livenessProbe: { tcpSocket: { port: 8080 } },
          securityContext: {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            capabilities: { drop: ["ALL"] },
          },
        }],
      },
    },
  },
}, { provider });
