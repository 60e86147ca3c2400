import { requireEgressNames } from "./egress";

/**
 * squid.conf for the sandboxes' egress proxy (Squid 5.7, Debian bookworm's `squid-openssl`), rendered
 * from the allow-list. Directives as Squid documents them (www.squid-cache.org/Doc/config/<name>/, v5):
 *
 * - HTTP and CONNECT only to the listed names (`dstdomain`, exact names), on the listed ports.
 * - Names that resolve into a denied range are refused by address too (`dst`), so an allowed name
 *   whose DNS answer is the metadata service or a private address does not reach it (the proxy's
 *   NetworkPolicy also excepts those ranges: two locks).
 * - The TLS SNI must be the CONNECT name: `ssl_bump peek` at step 1 reads the ClientHello without
 *   decrypting; at step 2 the tunnel is spliced only when the name the client CONNECTed to (kept as a
 *   connection annotation, `annotate_client`, matched by `note`) and the SNI (`ssl::server_name
 *   --client-requested`) are the same listed name; anything else is terminated. Nothing is decrypted.
 * - A denied CONNECT is answered 403. On an `ssl-bump` port Squid delivers that error inside TLS (it
 *   bumps the client to show it: ssl_bump docs), so the port needs a certificate; `bumpCertPath` is a
 *   throwaway self-signed one made at pod start, used for nothing else, so a client sees a TLS
 *   failure rather than a page, and the access log says TCP_DENIED/403.
 * - Access log: one JSON line per request on stdout, the stack's field names (ts, level, logger,
 *   msg) plus the request's; cache log on stderr; nothing written to the root filesystem.
 */
export interface SquidConfigArgs {
  /** Exact host names (egress.ts rules). Empty: the proxy refuses everything. */
  allow: readonly string[];
  /** Port Squid listens on. */
  listenPort: number;
  /** Ports CONNECT may reach (TLS). */
  connectPorts: readonly number[];
  /** Ports plain HTTP may reach. */
  httpPorts: readonly number[];
  /** Address blocks no request may reach, whatever its name resolves to. */
  deniedCidrs: readonly string[];
  /** PEM file with the certificate and key Squid needs on an ssl-bump port (see above). */
  bumpCertPath: string;
}

/**
 * The access log line: the stack's JSON log fields (agent-image/observability/logs.py) and the
 * request's. `status` is a string: Squid prints `-` when there is none (a client gone before a reply).
 */
export const SQUID_JSON_LOGFORMAT =
  '{"ts":"%{%Y-%m-%dT%H:%M:%S}tg.%03tuZ","level":"INFO","logger":"squid.access","msg":"%"rm %"ru %>Hs",' +
  '"client":"%>a","method":"%"rm","url":"%"ru","status":"%>Hs","squid_status":"%Ss","sni":"%"ssl::>sni",' +
  '"bump_mode":"%ssl::bump_mode","error":"%"err_code","bytes":%<st,"duration_ms":%tr}';

export function renderSquidConfig(a: SquidConfigArgs): string {
  requireEgressNames("SquidConfig", "allow", a.allow);
  for (const p of [a.listenPort, ...a.connectPorts, ...a.httpPorts]) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`SquidConfig: port ${p} is not a TCP port`);
  }
  if (a.connectPorts.length === 0 && a.httpPorts.length === 0) throw new Error("SquidConfig: connectPorts and httpPorts are both empty");
  const lines: string[] = [
    "# Rendered by components/workload/squid-config.ts from sandbox.egress (docs/sandbox-egress.md).",
    `http_port ${a.listenPort} ssl-bump tls-cert=${a.bumpCertPath} generate-host-certificates=off`,
    "pid_filename none",
    "pinger_enable off",
    "cache deny all",
    "cache_mem 8 MB",
    "cache_log /dev/stderr",
    `logformat stackjson ${SQUID_JSON_LOGFORMAT}`,
    "access_log stdio:/dev/stdout logformat=stackjson",
    "logfile_rotate 0",
    "via off",
    "forwarded_for delete",
    "",
    "# cache manager counters, read by the exporter beside Squid in the same pod only",
    "http_access allow localhost manager",
    "http_access deny manager",
    "",
    "acl connect_method method CONNECT",
  ];
  if (a.connectPorts.length) lines.push(`acl connect_ports port ${a.connectPorts.join(" ")}`);
  if (a.httpPorts.length) lines.push(`acl http_ports port ${a.httpPorts.join(" ")}`);
  lines.push(
    a.connectPorts.length ? "http_access deny connect_method !connect_ports" : "http_access deny connect_method",
    a.httpPorts.length ? "http_access deny !connect_method !http_ports" : "http_access deny !connect_method",
  );
  if (a.deniedCidrs.length) {
    lines.push(`acl denied_destinations dst ${a.deniedCidrs.join(" ")}`, "http_access deny denied_destinations");
  }
  lines.push("acl step1 at_step SslBump1", "acl step2 at_step SslBump2");
  const splices: string[] = [];
  a.allow.forEach((name, i) => {
    lines.push(
      "",
      `# ${name}`,
      `acl allowed_${i} dstdomain ${name}`,
      `acl remember_${i} annotate_client egress_connect=${name}`,
      `acl connected_${i} note egress_connect ${name}`,
      `acl sni_${i} ssl::server_name --client-requested ${name}`,
      `http_access allow allowed_${i} remember_${i}`,
    );
    splices.push(`ssl_bump splice step2 connected_${i} sni_${i}`);
  });
  lines.push("", "http_access deny all", "", "ssl_bump peek step1", ...splices, "ssl_bump terminate all", "");
  return lines.join("\n");
}
