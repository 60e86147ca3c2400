// The probe pods' image (netpol-packets.test.ts, sandbox-egress-packets.test.ts): the debootstrap
// base with python3, pushed to the e2e registry, consumed by digest.
import { env, ok, run } from "../support";

export function pushProbeImage(): string {
  const base = process.env.BASE_IMAGE ?? "localhost/bookworm-python:3.11";
  const id = ok(run("podman", ["image", "inspect", "--format", "{{.Id}}", base]), "podman image inspect").stdout.trim().slice(0, 16);
  const ref = `${env.registry}/agentscope/netpol-probe:${id}`;
  const creds = `${env.registryUser}:${env.registryPassword}`;
  ok(run("podman", ["push", "--quiet", "--tls-verify=false", "--creds", creds, base, `docker://${ref}`]), "podman push probe image");
  const digest = ok(run("skopeo", ["inspect", "--tls-verify=false", "--creds", creds, "--format", "{{.Digest}}", `docker://${ref}`]), "skopeo inspect").stdout.trim();
  return `${env.registry}/agentscope/netpol-probe@${digest}`;
}
