import { describe, expect, it } from "vitest";
import { K8S, checkRbac, checkSecretReadScope } from "../../policy/rules";
import { res, violation } from "./fixtures";

const managerRole = {
  metadata: { name: "sandbox-manager", namespace: "sandboxes" },
  rules: [
    { apiGroups: [""], resources: ["pods", "pods/log", "services"], verbs: ["create", "get", "list", "delete"] },
  ],
};

describe("rbac-least-privilege", () => {
  it("passes roles that name their verbs and resources, and bindings to them", () => {
    expect(checkRbac(K8S.role, managerRole)).toEqual([]);
    expect(checkRbac(K8S.roleBinding, { metadata: { name: "b", namespace: "sandboxes" }, roleRef: { kind: "Role", name: "sandbox-manager" }, subjects: [] })).toEqual([]);
  });

  it("rejects wildcard verbs and resources", () => {
    const wild = { metadata: { name: "wild" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["*"] }, { apiGroups: ["apps"], resources: ["*"], verbs: ["get"] }] };
    expect(checkRbac(K8S.clusterRole, wild)).toEqual([
      'ClusterRole wild: rule 1 grants every verb ("*") on pods. Fix: list only the verbs the component calls, e.g. ["get", "list", "watch"].',
      'ClusterRole wild: rule 2 grants access to every resource (*). Fix: list the resources by name, e.g. ["pods", "pods/log", "services"].',
    ]);
  });

  it("rejects bindings to cluster-admin", () => {
    const b = { metadata: { name: "admin" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: "manager", namespace: "agents" }] };
    expect(checkRbac(K8S.clusterRoleBinding, b)).toEqual([
      "ClusterRoleBinding admin: binds ServiceAccount agents/manager to cluster-admin, which can do anything in the cluster. Fix: bind a Role (or ClusterRole) that lists only the verbs and resources the component needs.",
    ]);
  });
});

describe("rbac-secret-read-scope", () => {
  const secretReader = res(K8S.clusterRole, { metadata: { name: "secret-reader" }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }] });
  const nsSecretReader = res(K8S.role, { metadata: { name: "read-secrets", namespace: "agents" }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] });
  const namespacesLister = res(K8S.clusterRole, { metadata: { name: "ns-lister" }, rules: [{ apiGroups: [""], resources: ["namespaces"], verbs: ["list"] }] });

  it("passes Secret read inside the ServiceAccount's own namespace, and cluster-wide read of other resources", () => {
    const own = res(K8S.roleBinding, { metadata: { name: "own", namespace: "agents" }, roleRef: { kind: "Role", name: "read-secrets" }, subjects: [{ kind: "ServiceAccount", name: "agent" }] });
    const crb = res(K8S.clusterRoleBinding, { metadata: { name: "ns" }, roleRef: { kind: "ClusterRole", name: "ns-lister" }, subjects: [{ kind: "ServiceAccount", name: "m", namespace: "agents" }] });
    expect(checkSecretReadScope([nsSecretReader, namespacesLister, own, crb])).toEqual([]);
  });

  it("rejects a ClusterRoleBinding to a role that reads Secrets, built-in ones included", () => {
    const crb = res(K8S.clusterRoleBinding, { metadata: { name: "read-all" }, roleRef: { kind: "ClusterRole", name: "secret-reader" }, subjects: [{ kind: "ServiceAccount", name: "m", namespace: "agents" }] });
    expect(checkSecretReadScope([secretReader, crb])).toEqual([
      {
        message:
          "ClusterRoleBinding read-all: binds ServiceAccount agents/m cluster-wide to ClusterRole secret-reader, which reads Secrets, so they can read every namespace's Secrets. " +
          "Fix: grant Secret access with a Role and RoleBinding in the component's own namespace, and drop secrets from the ClusterRole.",
        urn: crb.urn,
      },
    ]);
    const edit = res(K8S.clusterRoleBinding, { metadata: { name: "edit" }, roleRef: { kind: "ClusterRole", name: "edit" }, subjects: [{ kind: "Group", name: "devs" }] });
    expect(checkSecretReadScope([edit])).toEqual([violation("binds Group devs cluster-wide to ClusterRole edit, which reads Secrets", edit.urn)]);
  });

  it("rejects a RoleBinding that lets another namespace's ServiceAccount read Secrets", () => {
    const rb = res(K8S.roleBinding, { metadata: { name: "cross", namespace: "agents" }, roleRef: { kind: "ClusterRole", name: "secret-reader" }, subjects: [{ kind: "ServiceAccount", name: "manager", namespace: "sandboxes" }] });
    expect(checkSecretReadScope([secretReader, rb])).toEqual([
      {
        message:
          'RoleBinding agents/cross: lets ServiceAccount sandboxes/manager read Secrets in namespace "agents" through ClusterRole secret-reader, outside its own namespace. ' +
          "Fix: keep the Secrets the component needs in its own namespace, or bind a role without Secret access.",
        urn: rb.urn,
      },
    ]);
  });
});
