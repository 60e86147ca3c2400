/** Argument checks the workload components share; each throws an error naming the component and argument. */

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Throws unless `value` is an RFC 1035 label of at most `max` characters; the message names `arg`. */
export function requireDnsLabel(component: string, arg: string, value: string, max = 63): void {
  if (!DNS_LABEL.test(value) || value.length > max) {
    throw new Error(`${component}: ${arg} must be a DNS label of at most ${max} characters (lower-case letters, digits, '-', starting with a letter), got ${JSON.stringify(value)}`);
  }
}

/** Throws unless `value` is a whole number in [min, max]. */
export function requireInt(component: string, arg: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${component}: ${arg} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}

/** Throws unless `value` is a positive number. */
export function requirePositive(component: string, arg: string, value: number): void {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new Error(`${component}: ${arg} must be a positive number, got ${value}`);
  }
}

const DIGEST_REF = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/** True when `ref` is pinned by digest: `<repository>@sha256:<64 hex>`. */
export function isDigestRef(ref: string): boolean {
  return DIGEST_REF.test(ref);
}

/** Throws unless `ref` is pinned by digest. */
export function requireDigestRef(component: string, arg: string, ref: string): void {
  if (!isDigestRef(ref)) {
    throw new Error(`${component}: ${arg} must be pinned by digest (<repository>@sha256:<64 hex digits>), got ${JSON.stringify(ref)}`);
  }
}
