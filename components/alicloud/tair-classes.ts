/**
 * 1 GB Redis Open-Source Edition, cloud-native, standard (master-replica) architecture: Alibaba Cloud
 * "Instance types for Redis Open-Source Edition cloud native instances"
 * (help.aliyun.com/en/redis/product-overview/instance-types-of-cloud-native-community-edition-instances,
 * standard architecture table).
 */
export const DEFAULT_TAIR_INSTANCE_CLASS = "redis.shard.small.2.ce";
