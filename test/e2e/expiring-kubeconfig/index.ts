// The credential problem of issue 10, item 10, in miniature: the provider's kubeconfig is read
// from a file when the program runs, as AckCluster reads a fresh temporary credential from
// cs.getClusterCredential. Refresh and destroy without --run-program use the copy in state.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";

const config = new pulumi.Config();
const kubeconfig = pulumi.secret(readFileSync(config.require("kubeconfigPath"), "utf8"));
const namespace = config.require("namespace");
const provider = new k8s.Provider("cluster", { kubeconfig });

new k8s.core.v1.ConfigMap("marker", {
  metadata: { name: "expiring-kubeconfig-marker", namespace },
  data: { purpose: "refresh and destroy with an expired credential" },
}, { provider });
