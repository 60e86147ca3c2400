import { z } from "zod";
import { isIpv4Cidr } from "../components/shared/cidr";
import { DEFAULT_JWT_ALGORITHMS, JWT_ALGORITHMS } from "../components/workload/gateway-identity";

/** A Secret's name in the agents namespace (managed outside the stack). */
const secretName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Secret name: lower-case letters, digits and '-'")
  .max(63, "must be at most 63 characters");
const https = (example: string) => z.url({ protocol: /^https$/, error: `must be an https:// URL such as ${example}` });

/** JWTs signed by the team's identity provider, verified by the agent's gateway. */
const jwtSchema = z.strictObject({
  issuer: https("https://idp.example.com/realms/team"),
  audience: z.string().min(1, "must name the audience the tokens are issued for"),
  userClaim: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be a claim name, e.g. sub or preferred_username").default("sub"),
  algorithms: z.array(z.enum(JWT_ALGORITHMS, { error: `must be one of ${JWT_ALGORITHMS.join(", ")} (asymmetric only)` })).min(1).default(DEFAULT_JWT_ALGORITHMS),
  jwksUrl: https("https://idp.example.com/realms/team/protocol/openid-connect/certs").optional(),
  jwksCidrs: z.array(z.string().refine((c) => isIpv4Cidr(c) && !c.endsWith("/0"), "must be an IPv4 CIDR block narrower than /0, e.g. 203.0.113.10/32")).min(1).optional(),
  jwksSecret: secretName.optional(),
}).superRefine((j, ctx) => {
  if ((j.jwksUrl === undefined) === (j.jwksSecret === undefined)) {
    ctx.addIssue({ code: "custom", path: ["jwksUrl"], message: "set exactly one of jwksUrl (the provider's JWKS endpoint) and jwksSecret (a Secret whose key jwks.json holds the JWKS)" });
  }
  if (j.jwksUrl !== undefined && j.jwksCidrs === undefined) {
    ctx.addIssue({ code: "custom", path: ["jwksCidrs"], message: "is required with jwksUrl: the addresses of its host, the only ones the agent's NetworkPolicy lets the gateway reach for it" });
  }
  if (j.jwksSecret !== undefined && j.jwksCidrs !== undefined) {
    ctx.addIssue({ code: "custom", path: ["jwksCidrs"], message: "applies only with jwksUrl (a JWKS from jwksSecret needs no egress)" });
  }
});

/**
 * `agents[i].identity` (docs/identity.md): `shared-token` (default): callers hold the agent's one
 * token and are trusted to name the user; `per-user`: the gateway authenticates each user with a
 * token from `userTokensSecret` and/or a JWT, and the user id is the one it vouches for.
 */
export const identitySchema = z.strictObject({
  mode: z.enum(["shared-token", "per-user"], { error: "must be shared-token (the caller names the user) or per-user (the gateway authenticates each user)" }).default("shared-token"),
  userTokensSecret: secretName.optional(),
  jwt: jwtSchema.optional(),
}).superRefine((i, ctx) => {
  const credentials = i.userTokensSecret !== undefined || i.jwt !== undefined;
  if (i.mode === "per-user" && !credentials) {
    ctx.addIssue({ code: "custom", path: ["mode"], message: "per-user needs userTokensSecret, jwt, or both: the credentials the gateway checks" });
  }
  if (i.mode === "shared-token" && credentials) {
    ctx.addIssue({ code: "custom", path: ["mode"], message: "is shared-token, yet userTokensSecret or jwt is set: set mode per-user to use them" });
  }
});
export type IdentityConfig = z.infer<typeof identitySchema>;
