import { describe, expect, it } from "vitest";
import { K8S, checkLoadBalancer, checkMetricsExposure } from "../../policy/rules";

const ADDR = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type";
const svc = (spec: Record<string, unknown>, annotations: Record<string, string> = {}) => ({
  metadata: { name: "gateway", namespace: "agents", annotations },
  spec: { selector: { "app.kubernetes.io/name": "agent" }, ports: [{ port: 443 }], ...spec },
});

describe("no-open-loadbalancer", () => {
  it("passes ClusterIP Services, internal load balancers and allow-listed internet ones", () => {
    expect(checkLoadBalancer(K8S.service, svc({ type: "ClusterIP" }))).toEqual([]);
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer" }, { [ADDR]: "intranet" }))).toEqual([]);
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer" }, { "networking.gke.io/load-balancer-type": "Internal" }))).toEqual([]);
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer", loadBalancerSourceRanges: ["203.0.113.0/24"] }))).toEqual([]);
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer" }, {
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-status": "on",
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-id": "acl-123",
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-type": "white",
    }))).toEqual([]);
  });

  it("rejects an internet-facing load balancer without an allow-list", () => {
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer" }))).toEqual([
      "Service agents/gateway: an internet-facing LoadBalancer with no source allow-list, open to the whole internet. " +
        "Fix: set spec.loadBalancerSourceRanges to the client CIDRs (or, on ACK, a whitelist ACL with the service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-status/-acl-id/-acl-type annotations), " +
        `or make it internal with annotation ${ADDR}: "intranet".`,
    ]);
    // An explicit "internet" address type, or a blacklist ACL, is still open.
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer" }, { [ADDR]: "internet" }))).toHaveLength(1);
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer" }, {
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-status": "on",
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-id": "acl-123",
      "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-acl-type": "black",
    }))).toHaveLength(1);
  });

  it("rejects a source range that admits every address", () => {
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer", loadBalancerSourceRanges: ["10.0.0.0/8", "0.0.0.0/0"] }))).toEqual([
      expect.stringMatching(/^Service agents\/gateway: an internet-facing LoadBalancer whose loadBalancerSourceRanges include 0\.0\.0\.0\/0, which admits every address\. Fix: list only the client CIDRs/),
    ]);
    expect(checkLoadBalancer(K8S.service, svc({ type: "LoadBalancer", loadBalancerSourceRanges: ["::/0"] }))).toHaveLength(1);
  });
});

describe("no-public-metrics", () => {
  const service = (type: string, ports: Record<string, unknown>[]) => ({ metadata: { name: "agent-friday-lb", namespace: "agents" }, spec: { type, ports } });

  it("passes metrics on a ClusterIP Service and load balancers without metrics ports", () => {
    expect(checkMetricsExposure(K8S.service, service("ClusterIP", [{ name: "metrics", port: 9464, targetPort: "metrics" }]))).toEqual([]);
    expect(checkMetricsExposure(K8S.service, { metadata: { name: "m" }, spec: { ports: [{ name: "gateway-metrics", port: 9465 }] } })).toEqual([]);
    expect(checkMetricsExposure(K8S.service, service("LoadBalancer", [{ name: "http", port: 8080, targetPort: "gateway" }]))).toEqual([]);
    expect(checkMetricsExposure(K8S.deployment, service("LoadBalancer", [{ name: "metrics", port: 9464 }]))).toEqual([]);
  });

  it("rejects a metrics port on a LoadBalancer or NodePort, by name, named target or number", () => {
    expect(checkMetricsExposure(K8S.service, service("LoadBalancer", [{ name: "http", port: 8080 }, { name: "metrics", port: 9464, targetPort: "metrics" }]))).toEqual([
      "Service agents/agent-friday-lb: a LoadBalancer Service exposes metrics port(s) metrics outside the cluster. " +
        "Fix: serve metrics on a separate ClusterIP `<name>-metrics` Service (or scrape with a PodMonitor) and admit only the monitoring namespace in a NetworkPolicy.",
    ]);
    expect(checkMetricsExposure(K8S.service, service("NodePort", [{ name: "scrape", port: 80, targetPort: "gateway-metrics" }]))).toHaveLength(1);
    expect(checkMetricsExposure(K8S.service, service("LoadBalancer", [{ port: 9465 }]))).toHaveLength(1);
  });
});
