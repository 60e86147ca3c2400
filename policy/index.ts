// The policy pack: wiring only. Each rule lives in rules/ as a pure function over plain values.
import type { Policies, PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { PolicyPack } from "@pulumi/policy";
import type { StackResource } from "./rules";
import { RULES, asObject, asString, readKnown } from "./rules";

/** A resource as the stack rules see it; the Kubernetes provider's default namespace is kept. */
function toStackResource(r: PolicyResource): StackResource {
  const provider = r.provider;
  const read = provider?.type === "pulumi:providers:kubernetes" ? readKnown(() => asString(asObject(provider.props)?.namespace)) : undefined;
  const providerNamespace = read?.known ? read.value : undefined;
  return { type: r.type, urn: r.urn, name: r.name, props: r.props, ...(providerNamespace !== undefined ? { providerNamespace } : {}) };
}

const policies: Policies = RULES.map((rule) => {
  const common = {
    name: rule.name,
    description: rule.description,
    severity: rule.severity,
    remediationSteps: rule.remediationSteps,
    ...(rule.configSchema ? { configSchema: rule.configSchema } : {}),
  };
  if (rule.kind === "resource") {
    return {
      ...common,
      validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const ctx = { config: args.getConfig<Record<string, unknown>>(), stackTags: args.stackTags };
        for (const message of rule.check(args.type, args.props, ctx)) report(message);
      },
    };
  }
  return {
    ...common,
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      const ctx = { config: args.getConfig<Record<string, unknown>>(), stackTags: args.stackTags };
      for (const v of rule.check(args.resources.map(toStackResource), ctx)) report(v.message, v.urn);
    },
  };
});

new PolicyPack("agentscope-ack", {
  description: "Security and reliability rules for AgentScope on ACK Pro / ACS and on any Kubernetes cluster.",
  enforcementLevel: "mandatory",
  policies,
});
