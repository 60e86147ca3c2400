// Public API of the package: every component and its Args, for use from other stacks.
export * from "./acs";
export * from "./ack-cluster";
export * from "./acr-registry";
export * from "./alicloud-platform";
export * from "./cidr";
export * from "./image-cache";
export * from "./kubernetes-cluster";
export * from "./managed-redis";
export * from "./network";
export * from "./network-layout";
export * from "./sandbox-types";
