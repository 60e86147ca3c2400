/**
 * Rule group 7: RBAC least privilege.
 * - Roles and ClusterRoles name their verbs and resources: no `*`.
 * - Nothing is bound to cluster-admin.
 * - Secrets are read only inside a component's own namespace: no ClusterRoleBinding to a role that
 *   reads Secrets (that reads every namespace's), and no RoleBinding that lets a ServiceAccount of
 *   another namespace read this namespace's Secrets.
 */
import type { Props, StackResource, StackViolation } from "./common";
import { K8S, asArray, asObject, asString, asStringArray, describe, namespaceOf } from "./common";

const READ_VERBS = ["get", "list", "watch", "*"];
/** Built-in ClusterRoles that can read Secrets (Kubernetes' default user-facing roles). */
export const BUILTIN_SECRET_READERS: readonly string[] = ["cluster-admin", "admin", "edit"];

function rulesOf(props: Props): Props[] {
  return asArray(props.rules).map(asObject).filter((r): r is Props => r !== undefined);
}

/** Violations of the RBAC rules for one resource; empty for other types. */
export function checkRbac(type: string, props: Props): string[] {
  const what = describe(type, props);
  const out: string[] = [];
  if (type === K8S.role || type === K8S.clusterRole) {
    rulesOf(props).forEach((rule, i) => {
      const verbs = asStringArray(rule.verbs);
      const resources = asStringArray(rule.resources);
      if (verbs.includes("*")) {
        out.push(`${what}: rule ${i + 1} grants every verb ("*") on ${resources.join(", ") || "(no resources)"}. Fix: list only the verbs the component calls, e.g. ["get", "list", "watch"].`);
      }
      const wild = resources.filter((r) => r.includes("*"));
      if (wild.length > 0) {
        out.push(`${what}: rule ${i + 1} grants access to every resource (${wild.join(", ")}). Fix: list the resources by name, e.g. ["pods", "pods/log", "services"].`);
      }
    });
  }
  if (type === K8S.roleBinding || type === K8S.clusterRoleBinding) {
    const roleRef = asObject(props.roleRef);
    if (asString(roleRef?.name) === "cluster-admin") {
      out.push(
        `${what}: binds ${subjectsText(props, undefined)} to cluster-admin, which can do anything in the cluster. ` +
          `Fix: bind a Role (or ClusterRole) that lists only the verbs and resources the component needs.`,
      );
    }
  }
  return out;
}

/** Whether a role's rules allow reading Secrets. */
export function readsSecrets(props: Props): boolean {
  return rulesOf(props).some((rule) => {
    const groups = asStringArray(rule.apiGroups);
    const resources = asStringArray(rule.resources);
    const verbs = asStringArray(rule.verbs);
    return (groups.includes("") || groups.includes("*")) &&
      (resources.includes("secrets") || resources.includes("*")) &&
      verbs.some((v) => READ_VERBS.includes(v));
  });
}

function subjectsText(binding: Props, bindingNs: string | undefined): string {
  const subjects = asArray(binding.subjects).map(asObject).filter((s): s is Props => s !== undefined);
  if (subjects.length === 0) return "no subjects";
  return subjects
    .map((s) => {
      const kind = asString(s.kind) ?? "?";
      const name = asString(s.name) ?? "?";
      const ns = asString(s.namespace) ?? (kind === "ServiceAccount" ? bindingNs : undefined);
      return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
    })
    .join(", ");
}

export function checkSecretReadScope(resources: readonly StackResource[]): StackViolation[] {
  const clusterRoles = new Map<string, StackResource>();
  const roles = new Map<string, StackResource>();
  for (const r of resources) {
    const name = asString(asObject(r.props.metadata)?.name);
    if (name === undefined) continue;
    if (r.type === K8S.clusterRole) clusterRoles.set(name, r);
    if (r.type === K8S.role) roles.set(`${namespaceOf(r)}/${name}`, r);
  }
  const roleReadsSecrets = (kind: string | undefined, name: string, ns: string): boolean => {
    if (kind === "ClusterRole") {
      const cr = clusterRoles.get(name);
      return cr ? readsSecrets(cr.props) : BUILTIN_SECRET_READERS.includes(name);
    }
    const role = roles.get(`${ns}/${name}`);
    return role ? readsSecrets(role.props) : false;
  };

  const out: StackViolation[] = [];
  for (const b of resources) {
    if (b.type !== K8S.clusterRoleBinding && b.type !== K8S.roleBinding) continue;
    const roleRef = asObject(b.props.roleRef);
    const kind = asString(roleRef?.kind);
    const roleName = asString(roleRef?.name);
    if (roleName === undefined) continue;
    const what = describe(b.type, b.props, b.name);

    if (b.type === K8S.clusterRoleBinding) {
      if (roleReadsSecrets("ClusterRole", roleName, "")) {
        out.push({
          message:
            `${what}: binds ${subjectsText(b.props, undefined)} cluster-wide to ClusterRole ${roleName}, which reads Secrets, so they can read every namespace's Secrets. ` +
            `Fix: grant Secret access with a Role and RoleBinding in the component's own namespace, and drop secrets from the ClusterRole.`,
          urn: b.urn,
        });
      }
      continue;
    }

    const ns = namespaceOf(b);
    if (!roleReadsSecrets(kind, roleName, ns)) continue;
    const foreign = asArray(b.props.subjects)
      .map(asObject)
      .filter((s): s is Props => s !== undefined && asString(s.kind) === "ServiceAccount" && (asString(s.namespace) ?? ns) !== ns);
    for (const s of foreign) {
      out.push({
        message:
          `${what}: lets ServiceAccount ${asString(s.namespace)}/${asString(s.name) ?? "?"} read Secrets in namespace "${ns}" through ${kind ?? "Role"} ${roleName}, outside its own namespace. ` +
          `Fix: keep the Secrets the component needs in its own namespace, or bind a role without Secret access.`,
        urn: b.urn,
      });
    }
  }
  return out;
}
