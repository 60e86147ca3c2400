// Public API of the package: every component and its Args, for use from other stacks.
// Cloud layer (Alibaba Cloud).
export * from "./ack-cluster";
export * from "./acr-registry";
export * from "./alicloud-platform";
export * from "./image-cache";
export * from "./managed-redis";
export * from "./network";
export * from "./network-layout";
export * from "./cidr";
// Workload layer (any Kubernetes cluster).
export * from "./kubernetes-cluster";
export * from "./workloads";
export * from "./namespaces";
export * from "./container-image";
export * from "./agent-runtime";
export * from "./sandbox-pool";
export * from "./redis";
export * from "./stand-in-model";
export * from "./network-policies";
export * from "./pod-security";
export * from "./acs";
export * from "./sandbox-types";
