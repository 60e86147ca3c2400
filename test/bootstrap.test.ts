// scripts/alicloud-bootstrap.sh (issue 21 C) with pulumi, aliyun, podman and skopeo replaced by a stub
// on PATH that records every call (test/bootstrap/stub-cli.sh): the order of the two phases, that the
// temporary openings are closed even when phase 2 fails, that --dry-run changes nothing, and the teardown.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/stack-config";

const SCRIPT = join(REPO_ROOT, "scripts", "alicloud-bootstrap.sh");
const STUB = join(REPO_ROOT, "test", "bootstrap", "stub-cli.sh");
const RUNNER = "203.0.113.7";
const WORKLOADS_URN = "urn:pulumi:smoke-1::agentscope-ack::agentscope:k8s:AgentScopeWorkloads::smoke";
const DIGEST = `sha256:${"ab".repeat(32)}`;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Run { status: number | null; stdout: string; calls: string[] }

function bootstrap(args: string[], env: Record<string, string> = {}): Run {
  const dir = mkdtempSync(join(tmpdir(), "bootstrap-test-"));
  dirs.push(dir);
  chmodSync(STUB, 0o755);
  for (const cli of ["pulumi", "aliyun", "podman", "skopeo"]) symlinkSync(STUB, join(dir, cli));
  const log = join(dir, "calls.log");
  const r = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env["PATH"]}`, STUB_LOG: log, TMPDIR: dir, HOME: dir, ...env },
    timeout: 30_000,
  });
  let calls: string[] = [];
  try { calls = readFileSync(log, "utf8").trim().split("\n"); } catch { /* no call at all */ }
  return { status: r.status, stdout: r.stdout + r.stderr, calls };
}

/** The calls that change something (reads of config and outputs left out). */
const changes = (calls: string[]) => calls.filter((c) => !/^pulumi (config get|stack output) /.test(c) && !/^aliyun (cs GET|vpc Describe)/.test(c));

describe("alicloud-bootstrap.sh up", () => {
  it("creates the cloud layer first with ACR open to the runner alone, pins the pushed sandbox digest, then opens the API server for phase 2 and closes both openings", () => {
    const r = bootstrap(["up", "smoke-1", RUNNER]);
    expect(r.status, r.stdout).toBe(0);
    expect(changes(r.calls)).toEqual([
      // The stack refuses a cloud config without a pinned sandbox digest: it is fixed before phase 1.
      "podman build --target sandbox -t localhost/agentscope-bootstrap/sandbox agent-image",
      expect.stringMatching(/^skopeo copy --digestfile \S+ containers-storage:localhost\/agentscope-bootstrap\/sandbox oci:/),
      `pulumi config set --stack smoke-1 --path sandbox.imageDigests.base bootstrap.invalid/smoke/runtime-sandbox-base@${DIGEST}`,
      `pulumi config set --stack smoke-1 --path registry.pushFromCidrs[0] ${RUNNER}/32`,
      `pulumi up --stack smoke-1 --yes --exclude ${WORKLOADS_URN} --exclude-dependents`,
      expect.stringMatching(new RegExp(`^skopeo copy --preserve-digests --dest-creds secret:secret oci:\\S+ docker://cri-shared-registry.cn-hangzhou.cr.aliyuncs.com/smoke/runtime-sandbox-base:bootstrap-${"ab".repeat(6)}$`)),
      expect.stringMatching(/^skopeo copy --all --preserve-digests --dest-creds secret:secret docker:\/\/docker.io\/library\/redis:7.4-alpine@sha256:[0-9a-f]{64} docker:\/\/cri-shared-registry.cn-hangzhou.cr.aliyuncs.com\/smoke\/redis:bootstrap-[0-9a-f]{64}$/),
      `pulumi config set --stack smoke-1 --path sandbox.imageDigests.base cri-shared-registry-vpc.cn-hangzhou.cr.aliyuncs.com/smoke/runtime-sandbox-base@${DIGEST}`,
      "aliyun slb CreateAccessControlList --RegionId cn-hangzhou --AclName smoke-dev-apiserver-bootstrap",
      `aliyun slb AddAccessControlListEntry --RegionId cn-hangzhou --AclId acl-bootstrap --AclEntrys [{"entry":"10.88.0.0/16","comment":"vpc"},{"entry":"100.104.0.0/16","comment":"ack control plane"},{"entry":"${RUNNER}/32","comment":"bootstrap runner"}]`,
      "aliyun slb SetLoadBalancerTCPListenerAttribute --RegionId cn-hangzhou --LoadBalancerId lb-apiserver --ListenerPort 6443 --AclStatus on --AclType white --AclId acl-bootstrap",
      "aliyun vpc AllocateEipAddress --RegionId cn-hangzhou --Name smoke-dev-apiserver-bootstrap --Bandwidth 5 --InternetChargeType PayByTraffic",
      'aliyun cs PUT /api/v2/clusters/c0123456789abcdef --body {"api_server_eip":true,"api_server_eip_id":"eip-bootstrap"}',
      "pulumi up --stack smoke-1 --yes",
      'aliyun cs PUT /api/v2/clusters/c0123456789abcdef --body {"api_server_eip":false}',
      "aliyun slb SetLoadBalancerTCPListenerAttribute --RegionId cn-hangzhou --LoadBalancerId lb-apiserver --ListenerPort 6443 --AclStatus off",
      "aliyun vpc ReleaseEipAddress --RegionId cn-hangzhou --AllocationId eip-bootstrap",
      "aliyun slb DeleteAccessControlList --RegionId cn-hangzhou --AclId acl-bootstrap",
      "pulumi config rm --stack smoke-1 --path registry.pushFromCidrs",
      `pulumi up --stack smoke-1 --yes --exclude ${WORKLOADS_URN} --exclude-dependents`,
    ]);
  });

  it("closes the API server even when phase 2 fails, and fails itself", () => {
    const r = bootstrap(["up", "smoke-1", RUNNER], { STUB_FAIL: "^pulumi up --stack smoke-1 --yes$" });
    expect(r.status).not.toBe(0);
    const after = changes(r.calls).slice(changes(r.calls).indexOf("pulumi up --stack smoke-1 --yes") + 1);
    expect(after).toEqual([
      'aliyun cs PUT /api/v2/clusters/c0123456789abcdef --body {"api_server_eip":false}',
      "aliyun slb SetLoadBalancerTCPListenerAttribute --RegionId cn-hangzhou --LoadBalancerId lb-apiserver --ListenerPort 6443 --AclStatus off",
      "aliyun vpc ReleaseEipAddress --RegionId cn-hangzhou --AllocationId eip-bootstrap",
      "aliyun slb DeleteAccessControlList --RegionId cn-hangzhou --AclId acl-bootstrap",
    ]);
  });

  it("--dry-run prints every step, what each phase creates and a cost estimate, and changes nothing", () => {
    const r = bootstrap(["--dry-run", "up", "smoke-1", RUNNER]);
    expect(r.status, r.stdout).toBe(0);
    expect(changes(r.calls)).toEqual([]);
    expect(r.calls.every((c) => c.startsWith("pulumi "))).toBe(true);
    for (const text of [
      "phase 1 creates (cloud layer only): VPC 10.88.0.0/16, 2 vSwitches",
      `ACR internet endpoint ACL entry ${RUNNER}/32`,
      "phase 2 creates: a white-list ACL",
      `$ pulumi up --stack smoke-1 --yes --exclude ${WORKLOADS_URN} --exclude-dependents`,
      "$ aliyun cs PUT /api/v2/clusters/c0123456789abcdef --body",
      "$ pulumi up --stack smoke-1 --yes\n",
      "$ aliyun vpc ReleaseEipAddress",
      "$ pulumi config rm --stack smoke-1 --path registry.pushFromCidrs",
      "dry run: nothing changed",
    ]) expect(r.stdout).toContain(text);
    expect(r.stdout).toMatch(/estimated cost: [0-9.]+ USD for 1 h \(ACK Pro \+ 2 ECS \+ NAT \+ 2 EIP \+ 6 ACS vCPU; PRICE_\* to override\)/);
  });

  it("estimates the cost as hours x the sum of unit prices per hour of what the phases run", () => {
    const prices = { PRICE_ACK_PRO_HOUR: "1", PRICE_ECS_NODE_HOUR: "1", PRICE_NAT_HOUR: "1", PRICE_EIP_HOUR: "1", PRICE_ACS_VCPU_HOUR: "1", PRICE_TAIR_HOUR: "100", BOOTSTRAP_HOURS: "2" };
    // dev: in-cluster Redis, so no Tair; 1 ACK + 2 nodes + 1 NAT + 2 EIP + 6 ACS vCPU = 12 per hour.
    expect(bootstrap(["--dry-run", "up", "smoke-1", RUNNER], prices).stdout).toContain("estimated cost: 24 USD for 2 h");
  });

  it("refuses a runner address that is not an IPv4 address before touching anything", () => {
    const r = bootstrap(["up", "smoke-1", "my-laptop"]);
    expect(r.status).toBe(2);
    expect(r.calls).toEqual([]);
  });
});

describe("alicloud-bootstrap.sh down", () => {
  it("reopens the API server, destroys with a fresh credential, closes, and finds nothing billable", () => {
    const r = bootstrap(["down", "smoke-1", RUNNER]);
    expect(r.status, r.stdout).toBe(0);
    const c = changes(r.calls);
    expect(c.indexOf("pulumi destroy --stack smoke-1 --yes --run-program")).toBeGreaterThan(c.findIndex((x) => x.startsWith("aliyun cs PUT") && x.includes('"api_server_eip":true')));
    // The cluster (and the API server's CLB) are gone: only the EIP and the ACL are released.
    expect(c.slice(c.indexOf("pulumi destroy --stack smoke-1 --yes --run-program") + 1)).toEqual([
      "aliyun vpc ReleaseEipAddress --RegionId cn-hangzhou --AllocationId eip-bootstrap",
      "aliyun slb DeleteAccessControlList --RegionId cn-hangzhou --AclId acl-bootstrap",
    ]);
    // Then scripts/alicloud-leftovers.sh looks for the stack's cluster, VPC, NAT gateway and EIPs by name.
    const lookups = r.calls.slice(r.calls.indexOf("aliyun slb DeleteAccessControlList --RegionId cn-hangzhou --AclId acl-bootstrap") + 1);
    expect(lookups).toEqual([
      "aliyun cs GET /api/v1/clusters --name smoke-dev",
      "aliyun vpc DescribeVpcs --RegionId cn-hangzhou --VpcName smoke",
      "aliyun vpc DescribeNatGateways --RegionId cn-hangzhou --Name smoke",
      "aliyun vpc DescribeEipAddresses --RegionId cn-hangzhou --EipName smoke-nat",
      "aliyun vpc DescribeEipAddresses --RegionId cn-hangzhou --EipName smoke-dev-apiserver-bootstrap",
    ]);
    expect(r.stdout).toContain("nothing billable left");
  });

  it("fails when something billable is left", () => {
    const r = bootstrap(["down", "smoke-1", RUNNER], { STUB_LEFTOVER: "1" });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("LEFT BEHIND (billable): vpc-left");
  });
});
