/**
 * Rule group 6: pods sent to ACS (Alibaba Cloud Container Compute Service) through the ACK
 * virtual node. ACS serves sizes in 0.5 vCPU / 1 GiB steps and expects requests equal to limits;
 * anything else is rounded up (and billed) or refused. ACS labels are placement, not identity: in a
 * selector they would tie the workload's identity to where it runs, and changing placement would
 * orphan its pods.
 *
 * The label keys and steps repeat components/workload/acs.ts (ACS pod docs, see platform-facts.md); the pack
 * stays self-contained so it can run against any stack, and test/policy/acs-constants.test.ts keeps
 * the two in step.
 */
import type { Props } from "./common";
import {
  GIB,
  K8S,
  asArray,
  asObject,
  asString,
  asStringMap,
  containersOf,
  describe,
  parseQuantity,
  podTemplateOf,
  workloadSelector,
} from "./common";

export const ACS_LABEL = "alibabacloud.com/acs";
export const ACS_LABEL_KEYS: readonly string[] = [ACS_LABEL, "alibabacloud.com/compute-class", "alibabacloud.com/compute-qos"];
export const ACS_CPU_STEP = 0.5;
export const ACS_MEMORY_STEP_GIB = 1;

/** A pod goes to ACS when it carries the ACS label (or picks a compute class, which only ACS reads). */
export function isAcsPod(labels: Readonly<Record<string, string>>): boolean {
  return labels[ACS_LABEL] === "true" || labels["alibabacloud.com/compute-class"] !== undefined;
}

function isStep(value: number, step: number): boolean {
  const ratio = value / step;
  return value > 0 && Math.abs(ratio - Math.round(ratio)) < 1e-9;
}

function fmtCpu(cores: number): string {
  return `${Number(cores.toFixed(3))} vCPU`;
}

function fmtGiB(bytes: number): string {
  return `${Number((bytes / GIB).toFixed(3))} GiB`;
}

/** Violations of the ACS rules for one resource; empty for other types. */
export function checkAcsPlacement(type: string, props: Props): string[] {
  const out: string[] = [];
  const what = describe(type, props);
  out.push(...selectorViolations(type, props, what));

  const template = podTemplateOf(type, props);
  if (!template) return out;
  const labels = asStringMap(template.metadata.labels);
  if (!isAcsPod(labels)) return out;

  let cpu = 0;
  let memory = 0;
  let complete = true;
  for (const ref of containersOf(template.spec)) {
    // Plain init containers run before the others and do not add to the pod's size.
    if (ref.kind === "initContainer" && !ref.sidecar) continue;
    const where = `${what} ${ref.kind} ${JSON.stringify(asString(ref.container.name) ?? "(unnamed)")}`;
    const resources = asObject(ref.container.resources);
    const requests = asObject(resources?.requests) ?? {};
    const limits = asObject(resources?.limits) ?? {};
    for (const r of ["cpu", "memory"] as const) {
      const req = parseQuantity(requests[r]);
      const lim = parseQuantity(limits[r]);
      if (req === undefined || lim === undefined) {
        complete = false;
        out.push(`${where}: runs on ACS but does not set both requests.${r} and limits.${r}. Fix: set requests.${r} equal to limits.${r}, in ACS steps (0.5 vCPU, 1 GiB).`);
      } else if (Math.abs(req - lim) > 1e-9 * Math.max(1, lim)) {
        out.push(
          `${where}: runs on ACS with requests.${r} ${JSON.stringify(requests[r])} different from limits.${r} ${JSON.stringify(limits[r])}; ACS sizes the pod by one value. ` +
            `Fix: set requests.${r} equal to limits.${r}.`,
        );
      }
      if (lim !== undefined) {
        if (r === "cpu") cpu += lim;
        else memory += lim;
      }
    }
  }
  if (complete && (cpu > 0 || memory > 0)) {
    const badCpu = !isStep(cpu, ACS_CPU_STEP);
    const badMem = !isStep(memory / GIB, ACS_MEMORY_STEP_GIB);
    if (badCpu || badMem) {
      out.push(
        `${what}: runs on ACS with ${fmtCpu(cpu)} and ${fmtGiB(memory)} per pod, which is not an ACS size (${[badCpu ? "cpu must be a multiple of 0.5 vCPU" : "", badMem ? "memory a multiple of 1 GiB" : ""].filter(Boolean).join(", ")}). ` +
          `Fix: size the containers so the pod totals ${fmtCpu(Math.max(ACS_CPU_STEP, Math.ceil(cpu / ACS_CPU_STEP) * ACS_CPU_STEP))} and ${Math.max(1, Math.ceil(memory / GIB))} GiB.`,
      );
    }
  }
  return out;
}

function selectorViolations(type: string, props: Props, what: string): string[] {
  const selectors: { where: string; keys: string[] }[] = [];
  const sel = workloadSelector(type, props);
  if (sel) {
    const keys = [
      ...Object.keys(asStringMap(sel.matchLabels)),
      ...asArray(sel.matchExpressions).map((e) => asString(asObject(e)?.key)).filter((k): k is string => k !== undefined),
    ];
    selectors.push({ where: "spec.selector", keys });
  }
  if (type === K8S.service) selectors.push({ where: "spec.selector", keys: Object.keys(asStringMap(asObject(props.spec)?.selector)) });
  const out: string[] = [];
  for (const s of selectors) {
    const acs = s.keys.filter((k) => ACS_LABEL_KEYS.includes(k));
    if (acs.length > 0) {
      out.push(
        `${what}: ${s.where} uses the ACS placement label${acs.length > 1 ? "s" : ""} ${acs.join(", ")}; moving the pods on or off ACS would then change which pods it selects. ` +
          `Fix: select on identity labels (app.kubernetes.io/name, app.kubernetes.io/instance) and keep ACS labels on the pod template only.`,
      );
    }
  }
  return out;
}
