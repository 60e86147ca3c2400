import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SEED_REQUEST, seedRequestCurl } from "../../components/workload/try-it";

// What a shell makes of the command: its words, as curl would receive them (printf shows each one).
function words(command: string): string[] {
  return execFileSync("sh", ["-c", `set -- ${command.replace(/^curl /, "")}; printf '%s\\n' "$@"`], { encoding: "utf8" }).trimEnd().split("\n");
}

describe("seedRequestCurl", () => {
  it("posts the seed's request to /process with the bearer token, as one pasteable command", () => {
    const cmd = seedRequestCurl("http://agent-friday.agentscope-agents.svc.cluster.local:8080/", "tok-123");
    const w = words(cmd);
    expect(w[0]).toBe("-N");
    expect(w[1]).toBe("http://agent-friday.agentscope-agents.svc.cluster.local:8080/process");
    expect(w.slice(2, 6)).toEqual(["-H", "Authorization: Bearer tok-123", "-H", "Content-Type: application/json"]);
    expect(w[6]).toBe("-d");
    expect(JSON.parse(w[7]!)).toEqual({ input: [{ role: "user", content: [{ type: "text", text: SEED_REQUEST }] }], session_id: "try-it" });
  });

  it("quotes a token with shell metacharacters so it reaches curl unchanged", () => {
    const token = "a'b $(touch /tmp/x) `c` \"d\"";
    expect(words(seedRequestCurl("http://127.0.0.1:8080", token))[3]).toBe(`Authorization: Bearer ${token}`);
  });
});
