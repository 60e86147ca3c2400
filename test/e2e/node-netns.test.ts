// Issue 27: the real node deletes its pods whatever `ip netns` has done on the machine. The first
// `ip netns add` bind-mounts /run/netns over itself (shared propagation); a pod network namespace
// mounted there before it is then hidden under that mount and can never be unlinked, so its pod
// stays Terminating for ever. The node keeps its pods' namespaces under containerd's state
// directory, on a private mount of its own (e2e/cluster/node.sh, docs/embedded-node.md).
//
// Here: 20 pods run, then test hosts are made with `ip netns add` (on a machine where nothing
// ran `ip netns add` yet, this is the very sequence that used to strand the pods), with listeners
// in `ip netns exec` (processes in mount namespaces of their own); then all 20 pods are deleted at
// once and each must be gone within 30 s.
import { readFileSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutsideHost } from "./netpol/outside";
import { Outside } from "./netpol/outside";
import { kubectl, ok, recordTime, run } from "./support";

const NAMESPACE = "e2e-node-netns";
const PODS = 20;
const DELETE_BOUND_S = 30;
/** The pause image node.sh imports into the node's containerd (no registry needed). */
const PAUSE_IMAGE = "localhost/agentscope-e2e/pause:1";
/** Where containerd mounts the pods' namespaces (netns_mounts_under_state_dir, node.sh's netns_dir). */
const nodeNetnsDir = (): string => join(realpathSync(process.env.E2E_CLUSTER_DIR ?? "."), "containerd/state/io.containerd.grpc.v1.cri/netns");
/** Two test hosts like the flow table's (documentation addresses), one with a listener. */
const HOSTS: readonly OutsideHost[] = [
  { id: "nn1", name: "netns test host 1", ip: "198.51.100.91", ports: [443] },
  { id: "nn2", name: "netns test host 2", ip: "198.51.100.92", ports: [] },
];
const outside = new Outside(HOSTS);

interface Mount { readonly point: string; readonly propagation: readonly string[]; readonly fsType: string }

/** This process's mount table (the node's: the suite runs in the host's mount namespace). */
function mounts(): Mount[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean).map((line) => {
    const [left = "", right = ""] = line.split(" - ");
    const f = left.split(" ");
    const point = (f[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    return { point, propagation: f.slice(6), fsType: right.split(" ")[0] ?? "" };
  });
}

/** The mount visible at a path (the last one made there). */
const mountAt = (point: string): Mount | undefined => mounts().filter((m) => m.point === point).pop();

/** The network namespaces mounted in the node's netns directory. */
const nodeNamespaces = (): Set<string> =>
  new Set(mounts().filter((m) => m.fsType === "nsfs" && m.point.startsWith(`${nodeNetnsDir()}/`)).map((m) => m.point));

function pod(i: number): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `netns-${i}`, namespace: NAMESPACE },
    spec: {
      nodeSelector: { "agentscope.e2e/node": "real" },
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
      containers: [{
        name: "pause",
        image: PAUSE_IMAGE,
        imagePullPolicy: "Never",
        resources: { requests: { cpu: "1m", memory: "8Mi" }, limits: { cpu: "50m", memory: "16Mi" } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
      }],
    },
  };
}

const podNames = (): string[] =>
  ok(kubectl(["get", "pods", "-n", NAMESPACE, "-o", "jsonpath={.items[*].metadata.name}"]), "kubectl get pods").stdout.split(" ").filter(Boolean);

/** The kubelet's errors for pods it failed to kill (FailedKillPod events carry containerd's error). */
const killErrors = (): string =>
  kubectl(["get", "events", "-n", NAMESPACE, "--field-selector", "reason=FailedKillPod", "-o", "jsonpath={range .items[*]}{.involvedObject.name}: {.message}{\"\\n\"}{end}"]).stdout;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

describe("the real node's pod network namespaces (issue 27)", () => {
  beforeAll(() => {
    expect(process.env.E2E_CLUSTER_DIR, "E2E_CLUSTER_DIR (set by scripts/test-e2e.sh)").toBeTruthy();
    ok(kubectl(["create", "namespace", NAMESPACE]), "kubectl create namespace");
  });

  afterAll(() => {
    outside.down();
    kubectl(["delete", "namespace", NAMESPACE, "--wait=true", "--timeout=120s"]);
  });

  it(`deletes ${PODS} pods within ${DELETE_BOUND_S}s each with ip netns test hosts on the machine`, async () => {
    const before = nodeNamespaces();
    const items = Array.from({ length: PODS }, (_, i) => pod(i));
    ok(run("kubectl", ["--kubeconfig", process.env.KUBECONFIG ?? "", "apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items }) }), "kubectl apply pods");
    ok(kubectl(["wait", "-n", NAMESPACE, "--for=condition=Ready", "pod", "--all", "--timeout=240s"]), "pods Ready");

    // The test hosts, after the pods: `ip netns add` leaves /run/netns a shared bind mount.
    const wasMountPoint = mountAt("/run/netns") !== undefined;
    await outside.up();
    const runNetns = mountAt("/run/netns");
    expect(runNetns?.propagation.some((p) => p.startsWith("shared:")), "/run/netns is a shared mount after ip netns add").toBe(true);
    console.log(`[e2e] /run/netns was ${wasMountPoint ? "already" : "not yet"} a mount point before the test hosts`);

    // Where the pods' namespaces are (checked after the deletions, whose failure says more).
    const own = mountAt(nodeNetnsDir());
    const ours = [...nodeNamespaces()].filter((p) => !before.has(p));
    const inRunNetns = readdirSync("/run/netns").filter((n) => n.startsWith("cni-"));

    // Delete all at once; note when each one is gone from the API.
    const started = Date.now();
    ok(kubectl(["delete", "pods", "-n", NAMESPACE, "--all", "--wait=false"]), "kubectl delete pods");
    const gone = new Map<string, number>();
    const all = items.map((_, i) => `netns-${i}`);
    while (gone.size < PODS && Date.now() - started < (DELETE_BOUND_S + 15) * 1000) {
      const left = new Set(podNames());
      const now = (Date.now() - started) / 1000;
      for (const n of all) if (!left.has(n) && !gone.has(n)) gone.set(n, now);
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = [...gone.values()];
    if (seconds.length > 0) {
      recordTime("node netns: pod deletion, median of 20", median(seconds));
      recordTime("node netns: pod deletion, slowest of 20", Math.max(...seconds));
    }
    const late = all.filter((n) => (gone.get(n) ?? Infinity) > DELETE_BOUND_S);
    expect(late, `pods not gone within ${DELETE_BOUND_S}s; the kubelet's errors:\n${killErrors()}`).toEqual([]);
    // The pods' namespaces were on the node's own private mount, none in /run/netns.
    expect(own, `${nodeNetnsDir()} is a mount point`).toBeDefined();
    expect(own?.propagation.filter((p) => /^(shared|master|propagate_from):/.test(p)), "its propagation (none: private)").toEqual([]);
    expect(ours.length, "namespaces of the new pods in the node's netns directory").toBe(PODS);
    expect(inRunNetns, "pod namespaces in /run/netns").toEqual([]);
    // Every namespace went with its pod.
    const after = nodeNamespaces();
    expect(ours.filter((p) => after.has(p)), "namespaces left of the deleted pods").toEqual([]);
  });
});
