import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { coversPublicInternet, parseIpv4Cidr } from "../shared/cidr";

/** An ACR Enterprise Edition registry (new, or a shared existing instance), its namespace, repos and VPC link. */
export interface AcrRegistryArgs {
  /** Use this existing instance (EE is a paid subscription teams share) instead of buying one. */
  existingInstanceId?: pulumi.Input<string>;
  /** Name of a new instance. */
  instanceName?: string;
  /** Edition of a new instance (default Standard). */
  instanceType?: "Basic" | "Standard" | "Advanced";
  /** Subscription months of a new instance (default 1). */
  periodMonths?: number;
  /** Login password of a new instance (a secret). */
  password?: pulumi.Input<string>;
  /** Namespace for our repositories (default agentscope); always private. */
  namespace?: string;
  /** Repositories to create in the namespace, e.g. ["agent", "sandbox-manager"]. */
  repositories: string[];
  /** Refuse overwriting an existing tag (default true). */
  tagImmutability?: boolean;
  /** Link the registry's VPC endpoint to this VPC, so the cluster pulls without the internet. */
  vpcId: pulumi.Input<string>;
  /** vSwitch for the VPC endpoint. */
  vswitchId: pulumi.Input<string>;
  /**
   * CIDRs that push over the internet endpoint (e.g. a CI runner's egress /32). Omit to push over the
   * VPC endpoint, from a runner inside the VPC: the internet endpoint then stays off.
   */
  pushFromCidrs?: string[];
  tags?: Record<string, string>;
  /** Pulumi `protect` on a new instance (default false); namespace, repositories and ACL entries stay unprotected. */
  protect?: boolean;
}

export function resolveAcrRegistryArgs(args: AcrRegistryArgs) {
  if (args.existingInstanceId === undefined) {
    if (!args.instanceName) throw new Error("AcrRegistry: instanceName is required to create an instance (or give existingInstanceId)");
    if (args.password === undefined) throw new Error("AcrRegistry: password is required to create an instance");
  }
  if (args.repositories.length === 0) throw new Error("AcrRegistry: repositories must name at least one repository");
  const pushFromCidrs = args.pushFromCidrs ?? [];
  for (const block of pushFromCidrs) parseIpv4Cidr(block);
  if (pushFromCidrs.length > 0 && coversPublicInternet(pushFromCidrs)) {
    throw new Error(`AcrRegistry: pushFromCidrs ${pushFromCidrs.join(", ")} together admit every internet address; list the pushers' egress ranges`);
  }
  return {
    instanceType: args.instanceType ?? "Standard",
    periodMonths: args.periodMonths ?? 1,
    namespace: args.namespace ?? "agentscope",
    tagImmutability: args.tagImmutability ?? true,
    pushFromCidrs,
    tags: args.tags ?? {},
  };
}

export class AcrRegistry extends pulumi.ComponentResource {
  public readonly instanceId: pulumi.Output<string>;
  /** Where pushes go: the internet endpoint with pushFromCidrs, else the VPC endpoint. */
  public readonly loginServer: pulumi.Output<string>;
  /** VPC login server, for pulls from the cluster. */
  public readonly vpcLoginServer: pulumi.Output<string>;
  public readonly namespace: string;
  /** Repository URL (on the push login server) per repository name. */
  public readonly repositoryUrls: Record<string, pulumi.Output<string>>;
  /** Temporary push credentials (secrets), re-read on every run. */
  public readonly pushUsername: pulumi.Output<string>;
  public readonly pushPassword: pulumi.Output<string>;

  constructor(name: string, args: AcrRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agentscope:alicloud:AcrRegistry", name, {}, opts);
    const r = resolveAcrRegistryArgs(args);
    const parent = { parent: this };

    this.instanceId = args.existingInstanceId !== undefined
      ? pulumi.output(args.existingInstanceId)
      : new alicloud.cr.RegistryEnterpriseInstance(`${name}-instance`, {
        instanceName: args.instanceName!,
        instanceType: r.instanceType,
        paymentType: "Subscription",
        period: r.periodMonths,
        renewalStatus: "AutoRenewal",
        renewPeriod: r.periodMonths,
        password: args.password,
        imageScanner: "ACR",
        tags: r.tags,
      }, { ...parent, protect: args.protect ?? false }).id;

    const namespace = new alicloud.cs.RegistryEnterpriseNamespace(`${name}-namespace`, {
      instanceId: this.instanceId,
      name: r.namespace,
      // Only declared repositories exist; nobody creates one by pushing to a typo.
      autoCreate: false,
      defaultVisibility: "PRIVATE",
    }, parent);
    this.namespace = r.namespace;

    const repos = args.repositories.map((repo) => new alicloud.cs.RegistryEnterpriseRepo(`${name}-${repo}`, {
      instanceId: this.instanceId,
      namespace: namespace.name,
      name: repo,
      repoType: "PRIVATE",
      summary: `AgentScope ${repo} image`,
      tagImmutability: r.tagImmutability,
    }, parent));

    const vpcLink = new alicloud.cr.VpcEndpointLinkedVpc(`${name}-vpc-link`, {
      instanceId: this.instanceId,
      vpcId: args.vpcId,
      vswitchId: args.vswitchId,
      moduleName: "Registry",
      enableCreateDnsRecordInPvzt: true,
    }, parent);

    // A new EE instance has no internet access. Pushing from outside the VPC turns the internet endpoint
    // on with an allow-list, as a resource: cr.InternetEndpoint enables it on create
    // (UpdateInstanceEndpointStatus Enable=true), keeps `entries` in place on update, and disables it on
    // delete (resource_alicloud_cr_internet_endpoint.go Create/Update/Delete), so removing pushFromCidrs
    // or `pulumi destroy` switches it off. A data-source read (cr.getEndpointAclService) would switch it
    // on and leave it on. Caution: on an adopted instance, destroy switches it off for its other users too.
    const endpoints: pulumi.Resource[] = [];
    if (r.pushFromCidrs.length > 0) {
      endpoints.push(new alicloud.cr.InternetEndpoint(`${name}-internet`, {
        instanceId: this.instanceId,
        entries: r.pushFromCidrs.map((entry) => ({ entry, comment: "pulumi image push" })),
      }, parent));
    }

    // Read the endpoints only after the VPC link (and the internet endpoint) exist: the data source lists
    // only enabled endpoints (data_source_alicloud_cr_ee_instances.go), so a first run would see none.
    const details = alicloud.cs.getRegistryEnterpriseInstancesOutput(
      { ids: [this.instanceId], enableDetails: true },
      { parent: this, dependsOn: [vpcLink, ...endpoints] },
    ).instances.apply((list) => {
      const instance = list[0];
      if (!instance) throw new Error("AcrRegistry: the registry instance was not found");
      return instance;
    });
    this.vpcLoginServer = details.apply((d) => firstEndpoint(d.vpcEndpoints, "VPC"));
    this.loginServer = r.pushFromCidrs.length > 0 ? details.apply((d) => firstEndpoint(d.publicEndpoints, "public")) : this.vpcLoginServer;
    this.pushUsername = pulumi.secret(details.tempUsername);
    this.pushPassword = pulumi.secret(details.authorizationToken);
    this.repositoryUrls = Object.fromEntries(args.repositories.map((repo, i) => [
      repo,
      pulumi.interpolate`${this.loginServer}/${r.namespace}/${repos[i]!.name}`,
    ]));

    this.registerOutputs({
      instanceId: this.instanceId,
      loginServer: this.loginServer,
      vpcLoginServer: this.vpcLoginServer,
      repositoryUrls: this.repositoryUrls,
      pushUsername: this.pushUsername,
      pushPassword: this.pushPassword,
    });
  }
}

function firstEndpoint(endpoints: readonly string[], kind: string): string {
  const endpoint = endpoints[0];
  if (!endpoint) throw new Error(`AcrRegistry: the instance has no ${kind} endpoint enabled`);
  return endpoint;
}
