/**
 * Validates rendered Kubernetes objects against the Kubernetes OpenAPI schema with the maintained
 * `kubernetes-models` package (its JSON schemas are generated from the Kubernetes OpenAPI spec).
 * Each object is validated by its own apiVersion/kind model; a kind without a model fails, so
 * nothing slips through unchecked.
 */

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Validatable;

/**
 * Packages with the models of CRD groups: the Prometheus Operator's (generated from its CRDs by the same
 * kubernetes-models project). A group without an entry has no schema here, and fails.
 */
const CRD_PACKAGES: Record<string, string> = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

/** `kubernetes-models/<apiVersion>/<Kind>` for every apiVersion (`v1`, `apps/v1`, `networking.k8s.io/v1`, ...). */
async function modelFor(apiVersion: string, kind: string): Promise<ModelClass> {
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    throw new Error(`not a Kubernetes apiVersion/kind: ${apiVersion} ${kind}`);
  }
  let mod: Record<string, unknown>;
  try {
    const pkg = CRD_PACKAGES[apiVersion.split("/")[0]!] ?? "kubernetes-models";
    mod = (await import(/* @vite-ignore */ `${pkg}/${apiVersion}/${kind}`)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`kubernetes-models has no schema for ${apiVersion} ${kind}`, { cause: e });
  }
  const model = mod[kind];
  if (typeof model !== "function") throw new Error(`kubernetes-models/${apiVersion}/${kind} exports no ${kind} class`);
  return model as ModelClass;
}

/** Strips what the harness adds (names starting with `__`) and Pulumi's own keys. */
function kubernetesFields(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !k.startsWith("__")));
}

/** Throws with every schema error of `obj`, naming the object. */
export async function validateK8sObject(obj: Record<string, unknown>): Promise<void> {
  const apiVersion = String(obj["apiVersion"]);
  const kind = String(obj["kind"]);
  const Model = await modelFor(apiVersion, kind);
  const meta = obj["metadata"] as { name?: string; namespace?: string } | undefined;
  try {
    new Model(kubernetesFields(obj)).validate();
  } catch (e) {
    throw new Error(`${apiVersion} ${kind} ${meta?.namespace ?? ""}/${meta?.name ?? "?"} fails the Kubernetes schema: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Validates every object; resolves to the list of problems (empty when all pass). */
export async function schemaProblems(objects: Record<string, unknown>[]): Promise<string[]> {
  const problems: string[] = [];
  for (const obj of objects) {
    try {
      await validateK8sObject(obj);
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  return problems;
}
