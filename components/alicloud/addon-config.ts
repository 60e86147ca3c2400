import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";

/**
 * Managed add-on config is JSON whose keys only the add-on's own schema names: ACK serves it through
 * cs.getKubernetesAddonMetadata for the version the cluster runs (or would install), and public docs
 * often do not list it. These helpers read that schema at deploy time instead of guessing keys.
 */
export function addonConfigSchema(clusterId: pulumi.Input<string>, addon: string, opts: pulumi.InvokeOptions): pulumi.Output<string> {
  // The data source keeps an add-on only when `ids` holds `<cluster id>:<name>` (its typings,
  // cs/getKubernetesAddons.d.ts; terraform-provider-alicloud data_source_alicloud_cs_kubernetes_addons.go).
  const ids = [pulumi.interpolate`${clusterId}:${addon}`];
  const installed = alicloud.cs.getKubernetesAddonsOutput({ clusterId, ids }, opts).addons;
  return installed.apply((list) => {
    const found = list.find((a) => a.name === addon);
    if (!found) throw new Error(`add-on ${addon} is not offered by this cluster`);
    return alicloud.cs.getKubernetesAddonMetadataOutput({ clusterId, name: addon, version: found.currentVersion || found.nextVersion }, opts).configSchema;
  });
}

/**
 * The top-level keys of an add-on's config schema. An empty schema means the add-on takes no custom
 * configuration: the provider passes an empty DescribeAddon schema on as "" (data source
 * cs_kubernetes_addon_metadata, fetchJsonSchema).
 */
function schemaProperties(addon: string, schemaText: string): Record<string, unknown> {
  if (schemaText.trim() === "") return {};
  try {
    return (JSON.parse(schemaText) as { properties?: Record<string, unknown> }).properties ?? {};
  } catch {
    throw new Error(`the ${addon} add-on's config schema is not JSON`);
  }
}

/** The top-level keys an add-on's config schema defines (none for an empty schema). */
export function schemaKeys(addon: string, schemaText: string): string[] {
  return Object.keys(schemaProperties(addon, schemaText));
}

/**
 * The add-on config as JSON, after checking every top-level key against the add-on's own JSON schema:
 * a misspelt key would otherwise be ignored silently.
 */
export function checkedAddonConfig(addon: string, schemaText: string, config: Record<string, unknown>): string {
  const known = Object.keys(schemaProperties(addon, schemaText));
  const unknown = Object.keys(config).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new Error(`AckCluster: ${addon} config has key(s) ${unknown.join(", ")} that its schema does not define (known: ${known.join(", ") || "none"})`);
  }
  return JSON.stringify(config);
}

/**
 * A setting that docs name in dotted Helm style (e.g. `rbac.secret`), as the add-on's schema spells
 * it: nested objects (`{rbac: {secret: v}}`) or one dotted key. Undefined when the schema has neither.
 */
export function settingBySchema(addon: string, schemaText: string, dotted: string, value: unknown): Record<string, unknown> | undefined {
  const properties = schemaProperties(addon, schemaText);
  if (dotted in properties) return { [dotted]: value };
  const path = dotted.split(".");
  let level = properties;
  for (const [i, key] of path.entries()) {
    const node = level[key] as { properties?: Record<string, unknown> } | undefined;
    if (node === undefined) return undefined;
    if (i < path.length - 1) {
      if (node.properties === undefined) return undefined;
      level = node.properties;
    }
  }
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}
