// The pack repeats the ACS facts of components/workload/acs.ts so it runs without the components; keep them in step.
import { describe, expect, it } from "vitest";
import * as components from "../../components/workload/acs";
import * as pack from "../../policy/rules/acs";

describe("ACS facts shared by the components and the policy pack", () => {
  it("uses the same label keys", () => {
    const keys = Object.keys(components.acsPodLabels({ enabled: true, computeClass: "gpu", computeQos: "best-effort", imageCache: false }));
    expect([...pack.ACS_LABEL_KEYS].sort()).toEqual(keys.sort());
    expect(pack.isAcsPod(components.acsPodLabels({ ...components.NO_ACS, enabled: true }))).toBe(true);
    expect(pack.isAcsPod(components.acsPodLabels(components.NO_ACS))).toBe(false);
  });

  it("uses the same size steps", () => {
    expect(pack.ACS_CPU_STEP).toBe(components.ACS_CPU_STEP);
    expect(pack.ACS_MEMORY_STEP_GIB).toBe(components.ACS_MEMORY_STEP_GIB);
  });
});
