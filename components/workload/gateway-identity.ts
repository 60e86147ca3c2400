import type * as k8s from "@pulumi/kubernetes";
import { isIpv4Cidr } from "../shared/cidr";
import { requireDnsLabel } from "./validate";

/**
 * Who the gateway (components/assets/gateway.py) says is calling; docs/identity.md.
 *
 * Without per-user credentials (the default, "shared-token"), callers hold the agent's one token and
 * are trusted to name the user. With a per-user token Secret and/or a JWT issuer, the gateway
 * authenticates each caller and sets `X-User-ID`; the agent refuses a body `user_id` naming
 * anyone else.
 */

/** Asymmetric JWS algorithms only: with an HMAC secret, whoever verifies tokens could also mint them. */
export const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
export const DEFAULT_JWT_ALGORITHMS: JwtAlgorithm[] = ["RS256", "ES256"];

/** JWTs signed by the team's identity provider. */
export interface AgentJwtIdentity {
  /** `iss` the tokens must carry, e.g. `https://idp.example.com/realms/team`. */
  issuer: string;
  /** `aud` the tokens must carry (this agent's audience at the identity provider). */
  audience: string;
  /** Claim holding the user id (default `sub`); its value must be 1-128 of [A-Za-z0-9_.@-]. */
  userClaim?: string;
  /** Accepted `alg`s (default RS256, ES256). */
  algorithms?: JwtAlgorithm[];
  /** The provider's JWKS endpoint (https); exactly one of `jwksUrl` and `jwksSecret`. */
  jwksUrl?: string;
  /** Addresses of `jwksUrl`'s host: the agent's NetworkPolicy lets the pod reach them, on the URL's port. */
  jwksCidrs?: string[];
  /** A Secret in the namespace, managed outside the stack, whose key `jwks.json` holds the JWKS. */
  jwksSecret?: string;
}

export const USER_TOKENS_KEY = "tokens.json";
export const USER_TOKENS_DIR = "/etc/agentscope/user-tokens";
export const JWKS_KEY = "jwks.json";
export const JWKS_DIR = "/etc/agentscope/jwks";
/**
 * The runtime's routes whose JSON body names a user (`user_id`): /process, /stop, and the Responses
 * API route, whose adapter copies a body `user_id` into the turn (agentscope-runtime 1.1.6.post2
 * `ResponsesAdapter._extract_common_fields`).
 */
export const RUNTIME_BODY_USER_PATHS = "/process,/stop,/compatible-mode/v1/responses";
/**
 * The runtime's default protocol routes whose sessions no user binds: A2A's JSON-RPC route takes the
 * session from the message's `contextId`, AG-UI's from the `threadId` (agentscope-runtime 1.1.6.post2
 * `A2A_JSON_RPC_URL`, `AGUIAdaptorConfig.route_path`). With per-user identity, a caller who knew
 * another user's context id would read that session, so a user's AgentApp is not reached on them.
 * (Friday serves A2A itself, bound to the vouched user: agent-image/friday/protocols.py.)
 */
export const RUNTIME_UNBOUND_SESSION_PREFIXES = ["/a2a", "/ag-ui"] as const;

/** The JWKS endpoint's port, for its NetworkPolicy (443 unless the URL says otherwise). */
export function jwksPort(url: string): number {
  const u = new URL(url);
  return u.port ? Number(u.port) : 443;
}

/** Checks the identity of `agent.` args; `C` names the component in errors. */
export function requireGatewayIdentity(C: string, userTokensSecret: string | undefined, jwt: AgentJwtIdentity | undefined, gateway: boolean): void {
  if (userTokensSecret !== undefined) requireDnsLabel(C, "agent.userTokensSecret", userTokensSecret, 63);
  if ((userTokensSecret !== undefined || jwt !== undefined) && !gateway) {
    throw new Error(`${C}: agent.userTokensSecret and agent.jwt need the gateway: it is what authenticates each user`);
  }
  if (jwt === undefined) return;
  const k = `${C}: agent.jwt`;
  if (!/^https:\/\/\S+$/.test(jwt.issuer)) throw new Error(`${k}.issuer must be an https:// URL (the \`iss\` of the provider's tokens), got ${JSON.stringify(jwt.issuer)}`);
  if (!jwt.audience.trim()) throw new Error(`${k}.audience must not be empty`);
  if (jwt.userClaim !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(jwt.userClaim)) throw new Error(`${k}.userClaim must be a claim name (1-64 of [A-Za-z0-9_.:-])`);
  if (jwt.algorithms !== undefined && (jwt.algorithms.length === 0 || jwt.algorithms.some((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a)))) {
    throw new Error(`${k}.algorithms must list some of ${JWT_ALGORITHMS.join(", ")} (asymmetric only)`);
  }
  if ((jwt.jwksUrl === undefined) === (jwt.jwksSecret === undefined)) throw new Error(`${k} needs exactly one of jwksUrl and jwksSecret`);
  if (jwt.jwksUrl !== undefined) {
    if (!/^https:\/\/[^\s/]+(\/\S*)?$/.test(jwt.jwksUrl)) throw new Error(`${k}.jwksUrl must be an https:// URL, got ${JSON.stringify(jwt.jwksUrl)}`);
    if (!jwt.jwksCidrs?.length) throw new Error(`${k}.jwksCidrs must list the addresses of ${new URL(jwt.jwksUrl).hostname}: the agent's NetworkPolicy opens egress to them only`);
    for (const c of jwt.jwksCidrs) {
      if (!isIpv4Cidr(c) || c.endsWith("/0")) throw new Error(`${k}.jwksCidrs entry ${JSON.stringify(c)} must be an IPv4 CIDR block narrower than /0`);
    }
  } else {
    if (jwt.jwksCidrs !== undefined) throw new Error(`${k}.jwksCidrs applies only with jwksUrl (a JWKS from jwksSecret needs no egress)`);
    requireDnsLabel(C, "agent.jwt.jwksSecret", jwt.jwksSecret!, 63);
  }
}

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** What the gateway container gets for the agent's identity mode (none in the shared-token mode). */
export interface GatewayIdentityPieces {
  env: EnvVar[];
  /** Path prefixes the gateway must refuse on top of its defaults (per-user identity only). */
  denyPrefixes: string[];
  volumeMounts: VolumeMount[];
  volumes: Volume[];
}

/**
 * The gateway's identity env, mounts and volumes. `builtin`: Friday, which checks the agent's token
 * itself, so the gateway sends it upstream; `bodyUserPaths`: routes whose body names the user
 * (agentscope-runtime apps, Friday among them), bound to the authenticated one.
 */
export function gatewayIdentity(
  userTokensSecret: string | undefined, jwt: AgentJwtIdentity | undefined,
  opts: { secretName: k8s.types.input.core.v1.SecretKeySelector["name"]; builtin: boolean; bodyUserPaths: boolean },
): GatewayIdentityPieces {
  const pieces: GatewayIdentityPieces = { env: [], denyPrefixes: [], volumeMounts: [], volumes: [] };
  if (userTokensSecret === undefined && jwt === undefined) return pieces;
  if (opts.bodyUserPaths && !opts.builtin) pieces.denyPrefixes.push(...RUNTIME_UNBOUND_SESSION_PREFIXES);
  const agentToken = { valueFrom: { secretKeyRef: { name: opts.secretName, key: "AGENT_API_TOKEN" } } };
  pieces.env.push(
    ...(opts.builtin ? [{ name: "GATEWAY_AUTH", value: "bearer" }, { name: "GATEWAY_TOKEN", ...agentToken }, { name: "GATEWAY_UPSTREAM_TOKEN", ...agentToken }] : []),
    ...(opts.bodyUserPaths ? [{ name: "GATEWAY_BODY_USER_PATHS", value: RUNTIME_BODY_USER_PATHS }] : []),
  );
  if (userTokensSecret !== undefined) {
    // Re-read by the gateway when the kubelet updates the mounted Secret: no restart needed.
    pieces.env.push({ name: "GATEWAY_USER_TOKENS_FILE", value: `${USER_TOKENS_DIR}/${USER_TOKENS_KEY}` });
    pieces.volumeMounts.push({ name: "user-tokens", mountPath: USER_TOKENS_DIR, readOnly: true });
    // Group-readable only: the pod's fsGroup is the app's gid (restrictedPodSecurityContext).
    pieces.volumes.push({ name: "user-tokens", secret: { secretName: userTokensSecret, items: [{ key: USER_TOKENS_KEY, path: USER_TOKENS_KEY }], defaultMode: 0o440 } });
  }
  if (jwt !== undefined) {
    pieces.env.push(
      { name: "GATEWAY_JWT_ISSUER", value: jwt.issuer },
      { name: "GATEWAY_JWT_AUDIENCE", value: jwt.audience },
      { name: "GATEWAY_JWT_USER_CLAIM", value: jwt.userClaim ?? "sub" },
      { name: "GATEWAY_JWT_ALGORITHMS", value: (jwt.algorithms ?? DEFAULT_JWT_ALGORITHMS).join(",") },
      jwt.jwksUrl !== undefined ? { name: "GATEWAY_JWT_JWKS_URL", value: jwt.jwksUrl } : { name: "GATEWAY_JWT_JWKS_FILE", value: `${JWKS_DIR}/${JWKS_KEY}` },
    );
    if (jwt.jwksSecret !== undefined) {
      pieces.volumeMounts.push({ name: "jwks", mountPath: JWKS_DIR, readOnly: true });
      pieces.volumes.push({ name: "jwks", secret: { secretName: jwt.jwksSecret, items: [{ key: JWKS_KEY, path: JWKS_KEY }], defaultMode: 0o440 } });
    }
  }
  return pieces;
}
