/** The seed article's request, which the stand-in model answers too (and the real model for real). */
export const SEED_REQUEST = "请帮我使用python生成一段冒泡排序算法,并执行";

/** POSIX shell single-quoting: the token and URL go into a command a person pastes. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A copy-paste `curl` that sends the seed's request to an agent's `/process` and streams the answer.
 * `baseUrl` is where the caller reaches the agent: its in-cluster URL from a pod, a load balancer,
 * or a port-forward's `http://127.0.0.1:<port>`.
 */
export function seedRequestCurl(baseUrl: string, token: string): string {
  const body = JSON.stringify({ input: [{ role: "user", content: [{ type: "text", text: SEED_REQUEST }] }], session_id: "try-it" });
  return [
    "curl -N",
    shellQuote(`${baseUrl.replace(/\/+$/, "")}/process`),
    "-H", shellQuote(`Authorization: Bearer ${token}`),
    "-H", shellQuote("Content-Type: application/json"),
    "-d", shellQuote(body),
  ].join(" ");
}
