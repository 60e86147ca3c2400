// Public API of the package: every component and its Args, for use from other stacks.
// Cloud layer (Alibaba Cloud): components/alicloud/.
export * from "./alicloud";
// Workload layer (any Kubernetes cluster): components/workload/.
export * from "./workload";
// IPv4 CIDR arithmetic both layers use: components/shared/.
export * from "./shared/cidr";
