// The stack: validate config, then compose components. All logic lives in config/ and components/.
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config";
import { alicloudPlatformArgs } from "./config/cloud-args";
import { AlicloudPlatform, KubernetesCluster } from "./components";

const { config, secrets } = loadStackConfig();

const cloud = config.platform === "alicloud"
  ? new AlicloudPlatform(config.namePrefix, alicloudPlatformArgs(config, secrets), { protect: config.protect })
  : undefined;
const cluster = cloud ?? new KubernetesCluster(config.namePrefix, {
  context: config.kubernetes.context,
  kubeconfig: config.kubernetes.kubeconfigPath,
});

export const environment = config.environment;
export const clusterId = cloud?.cluster.clusterId;
export const kubeconfig = cloud?.cluster.kubeconfig;
export const registryLoginServer = cloud?.registry.loginServer;
export const registryVpcLoginServer = cloud?.registry.vpcLoginServer;
export const registryRepositories = cloud?.registry.repositoryUrls;
export const registryPushUsername = cloud?.registry.pushUsername;
export const registryPushPassword = cloud?.registry.pushPassword;
export const kubeContext = cloud ? undefined : (cluster as KubernetesCluster).context;
export const managedRedisHost = cloud?.redis?.host;
export const stackName = pulumi.getStack();
