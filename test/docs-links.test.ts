// Every relative link in the README and docs/ resolves: to a file or directory of the repository,
// and, when it names an anchor in a Markdown page, to one of that page's headings as GitHub slugs
// them. Links are read with marked's lexer (code blocks and inline code hold no links) and heading
// ids come from github-slugger, the slug algorithm github.com uses.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import GithubSlugger from "github-slugger";
import { type Token, type Tokens, lexer, walkTokens } from "marked";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./support/stack-config";

/** The pages whose links are checked: the README, every page of docs/, and the policy pack's README. */
function pages(): string[] {
  const docs = readdirSync(join(REPO_ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  return ["README.md", "policy/README.md", ...docs.sort()];
}

interface Link { readonly href: string; readonly line: number }

function tokensOf(file: string): { tokens: Token[]; text: string } {
  const text = readFileSync(join(REPO_ROOT, file), "utf8");
  return { tokens: lexer(text), text };
}

/** The links and images of a page, with the line each is on (for the failure message). */
function linksOf(file: string): Link[] {
  const { tokens, text } = tokensOf(file);
  const found: Link[] = [];
  let from = 0;
  void walkTokens(tokens, (t) => {
    if (t.type !== "link" && t.type !== "image") return;
    const at = text.indexOf(t.raw, from);
    if (at >= 0) from = at;
    found.push({ href: (t as Tokens.Link).href, line: text.slice(0, Math.max(at, 0)).split("\n").length });
  });
  return found;
}

/** The plain text of a heading as GitHub renders it: inline markup gone, code spans kept as text. */
function plain(tokens: readonly Token[] | undefined, raw: string): string {
  if (!tokens) return raw;
  return tokens.map((t) => ("tokens" in t && t.tokens ? plain(t.tokens, t.raw) : "text" in t ? String(t.text) : "")).join("");
}

const anchorCache = new Map<string, Set<string>>();
/** The heading ids of a Markdown page, duplicates numbered as GitHub numbers them (`-1`, `-2`). */
function anchorsOf(file: string): Set<string> {
  const cached = anchorCache.get(file);
  if (cached) return cached;
  const slugger = new GithubSlugger();
  const ids = new Set<string>();
  void walkTokens(tokensOf(file).tokens, (t) => {
    if (t.type === "heading") ids.add(slugger.slug(plain((t as Tokens.Heading).tokens, (t as Tokens.Heading).text)));
  });
  anchorCache.set(file, ids);
  return ids;
}

/** Why a link does not resolve, or undefined when it does. */
export function brokenReason(file: string, href: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("//")) return undefined; // absolute URL
  const [pathPart = "", anchor] = href.split("#", 2) as [string, string | undefined];
  const path = decodeURIComponent(pathPart);
  const target = path === "" ? file : relative(REPO_ROOT, resolve(dirname(join(REPO_ROOT, file)), path));
  if (target.startsWith("..")) return `points outside the repository (${target})`;
  if (!existsSync(join(REPO_ROOT, target))) {
    return `no such file: ${target}`;
  }
  if (anchor !== undefined && anchor !== "" && target.endsWith(".md") && !anchorsOf(target).has(anchor)) {
    return `no heading #${anchor} in ${target}`;
  }
  return undefined;
}

describe("the documentation's relative links", () => {
  it.each(pages())("%s: every relative link resolves, anchors included", (file) => {
    const broken = linksOf(file)
      .map((l) => ({ ...l, why: brokenReason(file, l.href) }))
      .filter((l) => l.why !== undefined)
      .map((l) => `${file}:${l.line}: ${l.href}: ${l.why}`);
    expect(broken).toEqual([]);
  });

  it("reads links, anchors and headings as GitHub does (the checker itself)", () => {
    expect(brokenReason("README.md", "docs/configuration.md#the-keys")).toBeUndefined();
    expect(brokenReason("README.md", "docs/configuration.md#no-such-heading")).toBe("no heading #no-such-heading in docs/configuration.md");
    expect(brokenReason("docs/README.md", "../scripts/local.sh")).toBeUndefined();
    expect(brokenReason("docs/README.md", "scripts/local.sh")).toBe("no such file: docs/scripts/local.sh");
    expect(brokenReason("docs/README.md", "../../elsewhere.md")).toMatch(/^points outside the repository/);
    expect(brokenReason("README.md", "https://example.com/x.md#y")).toBeUndefined();
    // A heading with a code span: GitHub drops the backticks and the punctuation.
    expect(brokenReason("docs/own-agents.md", "#tasks-agent_apptask-on-a-worker")).toBeUndefined();
    expect(linksOf("README.md").length).toBeGreaterThan(10);
  });
});
