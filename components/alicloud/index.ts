// Cloud layer: the Alibaba Cloud resources (VPC, ACK Pro cluster, ACR, Tair, ACS image cache).
export * from "./ack-cluster";
export * from "./addon-config";
export * from "./acr-registry";
export * from "./alicloud-platform";
export * from "./image-cache";
export * from "./log-collection";
export * from "./managed-redis";
export * from "./network";
export * from "./network-layout";
