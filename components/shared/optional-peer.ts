import { createRequire } from "node:module";

/**
 * Loads an optional peer dependency (`@pulumi/alicloud`, `@pulumi/docker`, `@pulumi/random`) when a
 * component first needs it, not when the package is imported: a stack that uses only the workload
 * layer installs none of them, and Pulumi's Node.js host then asks for none of their plugins.
 */
export function requireOptionalPeer<T>(name: string, neededBy: string): T {
  try {
    return createRequire(__filename)(name) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw e;
    throw new Error(`${neededBy} needs the optional peer dependency ${name}: install it in your stack (npm install ${name})`, { cause: e });
  }
}
