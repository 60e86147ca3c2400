import { describe, expect, it } from "vitest";
import { ACK_TYPES, ACR_TYPES, K8S, checkAcrPullsOverVpc, checkAcrResource, vpcHostFor } from "../../policy/rules";
import { DIGEST, deployment, goodContainer, podSpec, res, violation } from "./fixtures";

const prod = { production: true };
const dev = { production: false };

describe("acr-registry", () => {
  it("passes a private namespace and a private, tag-immutable repository", () => {
    expect(checkAcrResource(ACR_TYPES.namespace, { instanceId: "cri-1", name: "agentscope", defaultVisibility: "PRIVATE", autoCreate: false }, prod)).toEqual([]);
    expect(checkAcrResource(ACR_TYPES.repo, { instanceId: "cri-1", namespace: "agentscope", name: "agent", repoType: "PRIVATE", tagImmutability: true }, prod)).toEqual([]);
  });

  it("rejects a public namespace and one whose visibility is unset", () => {
    expect(checkAcrResource(ACR_TYPES.namespace, { name: "agentscope", defaultVisibility: "PUBLIC" }, prod)).toEqual([
      'RegistryEnterpriseNamespace agentscope: defaultVisibility is "PUBLIC", so repositories created in it can be pulled without credentials. Fix: set defaultVisibility: "PRIVATE".',
    ]);
    expect(checkAcrResource(ACR_TYPES.namespace, { name: "agentscope" }, prod)).toEqual([expect.stringContaining("defaultVisibility is not set")]);
  });

  it("rejects a public repository", () => {
    expect(checkAcrResource(ACR_TYPES.repo, { name: "agent", repoType: "PUBLIC", tagImmutability: true }, prod)).toEqual([
      'RegistryEnterpriseRepo agent: repoType is "PUBLIC", so anyone can pull its images. Fix: set repoType: "PRIVATE".',
    ]);
  });

  it("requires tag immutability in production only", () => {
    const mutable = { name: "agent", repoType: "PRIVATE", tagImmutability: false };
    expect(checkAcrResource(ACR_TYPES.repo, mutable, prod)).toEqual([
      "RegistryEnterpriseRepo agent: tagImmutability is false in a production stack, so a pushed tag can be overwritten. Fix: set tagImmutability: true (and deploy images by digest).",
    ]);
    expect(checkAcrResource(ACR_TYPES.repo, mutable, dev)).toEqual([]);
  });

  it("requires the VPC endpoint to serve the Registry module", () => {
    expect(checkAcrResource(ACR_TYPES.vpcLink, { instanceId: "cri-1", vpcId: "vpc-1", vswitchId: "vsw-1", moduleName: "Registry" }, prod)).toEqual([]);
    expect(checkAcrResource(ACR_TYPES.vpcLink, { instanceId: "cri-1", vpcId: "vpc-1", vswitchId: "vsw-1", moduleName: "Chart" }, prod)).toEqual([
      'VpcEndpointLinkedVpc cri-1 -> vpc-1: moduleName is "Chart", so the VPC endpoint does not serve image pulls. Fix: set moduleName: "Registry".',
    ]);
  });
});

describe("acr-pulls-over-vpc", () => {
  const cluster = res(ACK_TYPES.managedKubernetes, { name: "c" });
  const ns = res(ACR_TYPES.namespace, { name: "agentscope", defaultVisibility: "PRIVATE" }, "acr-namespace");
  const link = res(ACR_TYPES.vpcLink, { moduleName: "Registry" });

  it("passes a registry linked to the VPC and workloads pulling from the VPC endpoint", () => {
    expect(checkAcrPullsOverVpc([cluster, ns, link, res(K8S.deployment, deployment())])).toEqual([]);
  });

  it("rejects a registry without a VPC link", () => {
    expect(checkAcrPullsOverVpc([cluster, ns])).toEqual([
      violation(/^RegistryEnterpriseNamespace agentscope: the stack has an ACR Enterprise registry but no VpcEndpointLinkedVpc with moduleName "Registry", so the cluster would pull images over the internet\. Fix: add alicloud\.cr\.VpcEndpointLinkedVpc/, ns.urn),
    ]);
  });

  it("rejects images pulled from ACR's internet endpoint inside the VPC", () => {
    const image = `agentscope-prod-registry.cn-hangzhou.cr.aliyuncs.com/agentscope/agent@${DIGEST}`;
    // The same image in two containers is reported once.
    const d = res(K8S.deployment, deployment(podSpec({ initContainers: [goodContainer({ name: "init", image })] }, goodContainer({ image }))));
    expect(checkAcrPullsOverVpc([cluster, ns, link, d])).toEqual([
      {
        message: `Deployment agents/friday: image ${image} is pulled from ACR's internet endpoint agentscope-prod-registry.cn-hangzhou.cr.aliyuncs.com although the cluster is in a VPC. Fix: use the VPC endpoint agentscope-prod-registry-vpc.cn-hangzhou.cr.aliyuncs.com.`,
        urn: d.urn,
      },
    ]);
  });

  it("leaves a stack without Alibaba Cloud resources alone", () => {
    const image = `agentscope-prod-registry.cn-hangzhou.cr.aliyuncs.com/agentscope/agent@${DIGEST}`;
    expect(checkAcrPullsOverVpc([res(K8S.deployment, deployment(podSpec({}, goodContainer({ image }))))])).toEqual([]);
  });

  it("maps internet hosts to their VPC twins", () => {
    expect(vpcHostFor("x-registry.cn-beijing.cr.aliyuncs.com")).toBe("x-registry-vpc.cn-beijing.cr.aliyuncs.com");
    expect(vpcHostFor("registry.cn-beijing.aliyuncs.com")).toBe("registry-vpc.cn-beijing.aliyuncs.com");
  });
});
