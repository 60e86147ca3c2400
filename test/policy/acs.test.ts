import { describe, expect, it } from "vitest";
import { K8S, checkAcsPlacement } from "../../policy/rules";
import { deployment, goodContainer, podSpec } from "./fixtures";

const ACS = { "app.kubernetes.io/name": "agent", "alibabacloud.com/acs": "true", "alibabacloud.com/compute-class": "general-purpose" };
const SEL = { matchLabels: { "app.kubernetes.io/name": "agent" } };
const sized = (requests: Record<string, string>, limits: Record<string, string>) => goodContainer({ resources: { requests, limits } });
const acsDeployment = (...containers: Record<string, unknown>[]) =>
  deployment(podSpec({ containers }), ACS, SEL);

describe("acs-pod-sizing", () => {
  it("passes ACS pods sized in ACS steps with requests equal to limits", () => {
    expect(checkAcsPlacement(K8S.deployment, acsDeployment(sized({ cpu: "1", memory: "2Gi" }, { cpu: "1000m", memory: "2048Mi" })))).toEqual([]);
    // Two containers adding up to an ACS size: 0.25 + 0.25 vCPU, 512 + 512 MiB.
    const half = sized({ cpu: "250m", memory: "512Mi" }, { cpu: "250m", memory: "512Mi" });
    expect(checkAcsPlacement(K8S.deployment, acsDeployment(half, { ...half, name: "sidecar" }))).toEqual([]);
  });

  it("leaves pods without ACS labels alone", () => {
    expect(checkAcsPlacement(K8S.deployment, deployment(podSpec({}, sized({ cpu: "300m", memory: "700Mi" }, { cpu: "1", memory: "1Gi" }))))).toEqual([]);
  });

  it("requires requests equal to limits", () => {
    expect(checkAcsPlacement(K8S.deployment, acsDeployment(sized({ cpu: "500m", memory: "1Gi" }, { cpu: "1", memory: "1Gi" })))).toEqual([
      'Deployment agents/friday container "agent": runs on ACS with requests.cpu "500m" different from limits.cpu "1"; ACS sizes the pod by one value. Fix: set requests.cpu equal to limits.cpu.',
    ]);
  });

  it("requires both requests and limits", () => {
    expect(checkAcsPlacement(K8S.deployment, acsDeployment(sized({ cpu: "1" }, { cpu: "1" })))).toEqual([
      'Deployment agents/friday container "agent": runs on ACS but does not set both requests.memory and limits.memory. Fix: set requests.memory equal to limits.memory, in ACS steps (0.5 vCPU, 1 GiB).',
    ]);
  });

  it("rejects pod sizes off the 0.5 vCPU / 1 GiB steps", () => {
    expect(checkAcsPlacement(K8S.deployment, acsDeployment(sized({ cpu: "700m", memory: "1536Mi" }, { cpu: "700m", memory: "1536Mi" })))).toEqual([
      "Deployment agents/friday: runs on ACS with 0.7 vCPU and 1.5 GiB per pod, which is not an ACS size (cpu must be a multiple of 0.5 vCPU, memory a multiple of 1 GiB). " +
        "Fix: size the containers so the pod totals 1 vCPU and 2 GiB.",
    ]);
    expect(checkAcsPlacement(K8S.deployment, acsDeployment(sized({ cpu: "1", memory: "1G" }, { cpu: "1", memory: "1G" })))).toEqual([
      expect.stringContaining("runs on ACS with 1 vCPU and 0.931 GiB per pod, which is not an ACS size (memory a multiple of 1 GiB)"),
    ]);
  });

  it("rejects ACS labels in workload and Service selectors", () => {
    const d = deployment(podSpec({}, sized({ cpu: "1", memory: "2Gi" }, { cpu: "1", memory: "2Gi" })), ACS, { matchLabels: { "app.kubernetes.io/name": "agent", "alibabacloud.com/acs": "true" } });
    expect(checkAcsPlacement(K8S.deployment, d)).toEqual([
      "Deployment agents/friday: spec.selector uses the ACS placement label alibabacloud.com/acs; moving the pods on or off ACS would then change which pods it selects. " +
        "Fix: select on identity labels (app.kubernetes.io/name, app.kubernetes.io/instance) and keep ACS labels on the pod template only.",
    ]);
    const expr = deployment(podSpec(), { app: "a" }, { matchExpressions: [{ key: "alibabacloud.com/compute-class", operator: "Exists" }] });
    expect(checkAcsPlacement(K8S.deployment, expr)).toEqual([expect.stringContaining("uses the ACS placement label alibabacloud.com/compute-class")]);
    const svc = { metadata: { name: "agent", namespace: "agents" }, spec: { selector: { "alibabacloud.com/acs": "true", "alibabacloud.com/compute-qos": "default" } } };
    expect(checkAcsPlacement(K8S.service, svc)).toEqual([expect.stringMatching(/^Service agents\/agent: spec.selector uses the ACS placement labels alibabacloud.com\/acs, alibabacloud.com\/compute-qos;/)]);
  });
});
