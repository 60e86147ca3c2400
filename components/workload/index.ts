// Workload layer: what runs on any Kubernetes cluster (ACK with ACS placement, or any other).
export * from "./kubernetes-cluster";
export * from "./workloads";
export * from "./namespaces";
export * from "./container-image";
export * from "./agent-runtime";
export * from "./agent-source";
export * from "./sandbox-pool";
export * from "./redis";
export * from "./stand-in-model";
export * from "./network-policies";
export * from "./labels";
export * from "./security-context";
export * from "./resources";
export * from "./psa";
export * from "./validate";
export * from "./acs";
export * from "./sandbox-types";
