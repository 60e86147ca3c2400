// The package as another stack consumes it (issue 14): `npm pack` (its prepack builds bin/), the
// tarball installed into a fresh project under the OS temp directory, outside the repository, with
// npm from its cache (--prefer-offline; no install scripts, so nothing but the npm registry could be
// asked), the example program compiled there by that project's own `tsc` (strict, no path mapping)
// and run under Pulumi mocks: it must register exactly what the same program registers from the
// source tree. Then the tarball's file list against the allow-list, a scan for secret-looking
// values, the runtime assets next to the compiled JavaScript, and the policy pack served from the
// installed package. Slow (a build, an install of ~180 MB, a strict compile of the SDK typings):
// run by `npm run test:package` (and .ci/run), not by `npm test`.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { type Tokens, lexer, walkTokens } from "marked";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackResource } from "../../policy/rules";
import { RULES, SECRET_VALUES, runRules } from "../../policy/rules";
import { deployment, goodContainer, podSpec } from "../policy/fixtures";
import { EXAMPLE_DIR, EXAMPLE_PROJECT, exampleConfig, exampleSecretKeys } from "../support/example-config";
import type { MockResource } from "../support/mocks";
import { runWithMocks } from "../support/mocks";
import type { RunningPolicyPack } from "../support/policy-pack-server";
import { startPolicyPack } from "../support/policy-pack-server";
import { REPO_ROOT, TEST_SECRETS } from "../support/stack-config";

const PACKAGE = "@agentscope-ack/components";
/** Optional peers: only the Alibaba Cloud layer, image builds and generated secrets need them. */
const OPTIONAL_PEERS = ["@pulumi/alicloud", "@pulumi/docker", "@pulumi/random"];
const ASSETS_DIR = join(REPO_ROOT, "components", "assets");
const timings: string[] = [];

/** Runs a command to its end; throws with its output unless it exits 0. */
function sh(cmd: string, args: string[], cwd: string, what: string): string {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: "false" } });
  timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}\n${r.stdout.slice(-5000)}\n${r.stderr.slice(-5000)}`);
  return r.stdout;
}

/** The version of a package installed at the repository root (the consumer pins the same, so npm's cache has it). */
function repoVersion(name: string): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? filesUnder(join(dir, e)) : [join(dir, e)]));
}

/** Every directory named `node_modules/<name>` that holds a package.json, at any depth. */
function copiesOf(nodeModules: string, name: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (existsSync(join(dir, name, "package.json"))) found.push(join(dir, name));
    for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
      const scoped = entry.startsWith("@") ? readdirSync(join(dir, entry)).map((e) => join(dir, entry, e)) : [join(dir, entry)];
      for (const pkg of scoped) if (existsSync(join(pkg, "node_modules"))) walk(join(pkg, "node_modules"));
    }
  };
  walk(nodeModules);
  return found;
}

/**
 * Resolves a module as code in the consumer project would. (The test's own `require.resolve` would
 * not do: inside the repository, Node resolves the package's name to the repository itself.)
 */
function resolveInConsumer(id: string, from = consumer): string {
  return createRequire(join(from, "package.json")).resolve(id);
}

/** What a resource list looks like for comparison: order-free, plain JSON. */
function canonical(resources: readonly MockResource[]): string[] {
  return resources.map((r) => JSON.stringify({ type: r.type, name: r.name, custom: r.custom, read: r.read, inputs: r.inputs, secretPaths: [...r.secretPaths].sort() })).sort();
}

const work = mkdtempSync(join(tmpdir(), "agentscope-package-"));
const consumer = join(work, "consumer");
// A runtime asset made only for this test: the build must copy components/assets/** next to the
// compiled JavaScript, whether or not the repository has assets yet.
const probe = { name: `package-test-probe-${randomBytes(4).toString("hex")}.txt`, text: `probe ${randomBytes(8).toString("hex")}\n` };
const createdAssetsDir = !existsSync(ASSETS_DIR);
let tarballFiles: string[] = [];
let extracted = "";
let consumerResources: MockResource[] = [];

beforeAll(() => {
  mkdirSync(ASSETS_DIR, { recursive: true });
  writeFileSync(join(ASSETS_DIR, probe.name), probe.text);
  try {
    // `npm pack` runs prepack (scripts/build-package.sh); --json keeps the script's output off stdout.
    const packed = JSON.parse(sh("npm", ["pack", "--json", "--pack-destination", work], REPO_ROOT, "npm pack (prepack build)")) as { filename: string; entryCount: number; size: number; unpackedSize: number; files: { path: string }[] }[];
    tarballFiles = packed[0]!.files.map((f) => f.path).sort();
    timings.push(`tarball: ${packed[0]!.entryCount} files, ${packed[0]!.size} bytes packed, ${packed[0]!.unpackedSize} unpacked`);
    const tarball = join(work, packed[0]!.filename);
    extracted = join(work, "extracted");
    mkdirSync(extracted);
    sh("tar", ["-xzf", tarball, "-C", extracted], work, "tar -x");

    mkdirSync(consumer);
    const pin = (name: string) => [name, repoVersion(name)] as const;
    writeFileSync(join(consumer, "package.json"), JSON.stringify({
      name: "consumer-stack",
      private: true,
      dependencies: Object.fromEntries([[PACKAGE, `file:${tarball}`], pin("@pulumi/pulumi"), pin("@pulumi/kubernetes"), pin("@pulumi/policy")]),
      devDependencies: Object.fromEntries([pin("typescript"), pin("@types/node")]),
    }, null, 2));
    // Tarballs from npm's cache, which the repository's `npm ci` filled (same pinned versions); npm
    // asks the npm registry only for metadata it has not cached (the `^` ranges of the package's
    // dependencies). No lifecycle scripts: the Kubernetes SDK's would fetch its plugin from GitHub.
    sh("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], consumer, "npm install (consumer)");
  } finally {
    rmSync(join(ASSETS_DIR, probe.name));
    if (createdAssetsDir) rmdirSync(ASSETS_DIR);
  }

  cpSync(join(EXAMPLE_DIR, "index.ts"), join(consumer, "index.ts"));
  cpSync(join(REPO_ROOT, "test", "support", "mocks.ts"), join(consumer, "mocks.ts"));
  for (const f of ["tsconfig.json", "run-mocked.ts"]) cpSync(join(__dirname, "consumer", f), join(consumer, f));
  sh(join(consumer, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], consumer, "tsc --strict (consumer)");
  // The same program under the resolutions that read package.json "exports" (node16, bundler);
  // the build above, with moduleResolution node, reads "typesVersions" for the subpath.
  for (const [module, resolution] of [["node16", "node16"], ["esnext", "bundler"]] as const) {
    sh(join(consumer, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json", "--noEmit", "--module", module, "--moduleResolution", resolution], consumer, `tsc --strict --moduleResolution ${resolution} (consumer)`);
  }

  const config = exampleConfig();
  const input = { project: EXAMPLE_PROJECT, stack: "example", config, secretKeys: exampleSecretKeys(config) };
  writeFileSync(join(work, "input.json"), JSON.stringify(input));
  sh(process.execPath, [join(consumer, "bin", "run-mocked.js"), join(work, "input.json"), join(work, "resources.json")], consumer, "the example under mocks (consumer)");
  consumerResources = JSON.parse(readFileSync(join(work, "resources.json"), "utf8")) as MockResource[];
  console.log(`[package] ${timings.join(", ")}`);
}, 600_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("the tarball", () => {
  const allowed = [
    /^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/,
    // The two layers and what both use (components/alicloud, workload, shared) and the index.
    /^bin\/components\/((alicloud|workload|shared)\/)?[a-z0-9-]+\.(js|d\.ts)$/,
    /^bin\/components\/assets\/.+$/,
    /^bin\/policy\/(index\.js|rules\/[a-z0-9-]+\.js|PulumiPolicy\.yaml|package\.json|README\.md|config\/[a-z0-9-]+\.json)$/,
    // The image build context (scripts/build-package.sh): the Dockerfiles, their ignore files, the
    // dependency step, the hash locks and the Python packages they copy; no tests, .in files or caches.
    /^bin\/agent-image\/(Dockerfile|user-agent\.Dockerfile|\.containerignore|\.dockerignore|install-deps\.sh|requirements(-[a-z0-9-]+)?\.txt)$/,
    /^bin\/agent-image\/(friday|stand_in_model|sandbox_server|sandbox_manager_ext|one_ssl_context|agent_launcher|agentscope2_launcher|observability|workspace_reaper)\/[a-z0-9_]+\.py$/,
    // The images command (package.json "bin").
    /^bin\/cli\/(images|images-args|build-push)\.js$/,
  ];

  it("holds nothing outside the allow-list, and the entry points it names", () => {
    expect(tarballFiles.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(extracted, "package", "package.json"), "utf8")) as { main: string; types: string; exports: Record<string, string | { types: string; default: string }> };
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === "string" ? [t] : [t.types, t.default])).filter((t) => !t.includes("*"));
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining([".", "./workload", "./alicloud", "./policy"]));
    for (const entry of [pkg.main, pkg.types, ...targets]) {
      expect(tarballFiles).toContain(entry.replace(/^\.\//, ""));
    }
    // Every source component is there as JavaScript and typings.
    const sourceDir = join(REPO_ROOT, "components");
    const components = filesUnder(sourceDir).map((f) => relative(sourceDir, f)).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""));
    expect(components).toEqual(expect.arrayContaining(["index", "alicloud/index", "workload/index", "shared/cidr"]));
    for (const c of components) expect(tarballFiles).toEqual(expect.arrayContaining([`bin/components/${c}.js`, `bin/components/${c}.d.ts`]));
  });

  it("ships every runtime asset next to the compiled components (the repository's and the test's probe)", () => {
    const sourceAssets = existsSync(ASSETS_DIR) ? filesUnder(ASSETS_DIR).map((f) => relative(ASSETS_DIR, f)) : [];
    for (const a of [...sourceAssets, probe.name]) expect(tarballFiles).toContain(`bin/components/assets/${a}`);
    for (const a of sourceAssets) {
      expect(readFileSync(join(extracted, "package", "bin", "components", "assets", a))).toEqual(readFileSync(join(ASSETS_DIR, a)));
    }
  });

  it("holds no secret-looking value", () => {
    const shapes = [
      ...SECRET_VALUES,
      { what: "an npm token", re: /\bnpm_[A-Za-z0-9]{36}\b|_authToken\s*=/ },
      { what: "a Pulumi secret or state", re: /\bsecure:\s*v1:|encryptionsalt|PULUMI_CONFIG_PASSPHRASE=/ },
      // The fake secrets the repository's tests and e2e stacks use.
      ...Object.values(TEST_SECRETS).map((s) => ({ what: "a test secret", re: new RegExp(s) })),
      { what: "an e2e secret", re: /e2e-[a-z]+-(agent-api-token|sandbox-manager-tok|redis-password|model-key)/ },
    ];
    // The scan finds what it looks for.
    expect(shapes.filter((s) => s.re.test("redis://user:hunter2@redis:6379/0")).map((s) => s.what)).toEqual(["a URL with a password"]);
    const found = filesUnder(join(extracted, "package")).flatMap((file) => {
      const text = readFileSync(file, "utf8");
      return shapes.filter((s) => s.re.test(text)).map((s) => `${relative(extracted, file)}: ${s.what}`);
    });
    expect(found).toEqual([]);
  });
});

describe("the image build context in the tarball", () => {
  const context = join(REPO_ROOT, "agent-image");
  const shipped = (f: string) => `bin/agent-image/${f}`;
  // The Dockerfile's COPY sources (without --from): paths in the context; the last word is the destination.
  const sources = [...readFileSync(join(context, "Dockerfile"), "utf8").matchAll(/^COPY (?!--)(.+)$/gm)]
    .flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1).map((src) => src.replace(/\/$/, "")));

  it("holds every file the Dockerfile copies, whole directories included, byte for byte", () => {
    expect(sources).toEqual(expect.arrayContaining(["install-deps.sh", "requirements.txt", "friday", "sandbox_manager_ext"]));
    for (const src of sources) {
      const files = statSync(join(context, src)).isDirectory()
        ? filesUnder(join(context, src)).filter((f) => !f.includes("__pycache__")).map((f) => relative(context, f))
        : [src];
      for (const f of files) expect(tarballFiles, f).toContain(shipped(f));
    }
    for (const f of ["Dockerfile", "user-agent.Dockerfile", ".containerignore", ".dockerignore"]) expect(tarballFiles).toContain(shipped(f));
    for (const f of tarballFiles.filter((t) => t.startsWith("bin/agent-image/"))) {
      expect(readFileSync(join(extracted, "package", f))).toEqual(readFileSync(join(context, f.slice("bin/agent-image/".length))));
    }
  });

  it("has docker and podman read the same ignore file (docker reads .dockerignore only)", () => {
    expect(readFileSync(join(extracted, "package", shipped(".dockerignore")), "utf8")).toBe(readFileSync(join(extracted, "package", shipped(".containerignore")), "utf8"));
  });
});

describe("the package README", () => {
  const shippedReadme = () => readFileSync(join(extracted, "package", "README.md"), "utf8");

  it("is PACKAGE_README.md, not the repository's README", () => {
    expect(shippedReadme()).toBe(readFileSync(join(REPO_ROOT, "PACKAGE_README.md"), "utf8"));
    // postpack put the repository's back.
    expect(readFileSync(join(REPO_ROOT, "README.md"), "utf8")).not.toBe(shippedReadme());
    expect(existsSync(join(REPO_ROOT, ".README.repository.md"))).toBe(false);
  });

  it("links only to absolute URLs or to files in the tarball", () => {
    const hrefs: string[] = [];
    void walkTokens(lexer(shippedReadme()), (t) => {
      if (t.type === "link" || t.type === "image") hrefs.push((t as Tokens.Link).href);
    });
    expect(hrefs.length).toBeGreaterThan(3);
    const relativeLinks = hrefs.filter((h) => !/^[a-z][a-z0-9+.-]*:/i.test(h) && !h.startsWith("#"));
    expect(relativeLinks).toEqual(expect.arrayContaining(["CHANGELOG.md", "bin/policy/README.md"]));
    const outside = relativeLinks.filter((h) => {
      const target = posix.normalize(h.split("#")[0]!);
      return target.startsWith("../") || target.startsWith("/") || !tarballFiles.some((f) => f === target || f.startsWith(`${target.replace(/\/$/, "")}/`));
    });
    expect(outside).toEqual([]);
    for (const h of hrefs.filter((x) => /^[a-z]+:/i.test(x))) expect(h, "an absolute link").toMatch(/^https:\/\//);
  });

  it("has TypeScript examples that type-check against the package (strict)", () => {
    const blocks: string[] = [];
    void walkTokens(lexer(shippedReadme()), (t) => {
      if (t.type === "code" && (t as Tokens.Code).lang === "ts") blocks.push((t as Tokens.Code).text);
    });
    expect(blocks).toHaveLength(2);
    // Virtual files at the repository root, so @pulumi/* resolve from its node_modules; the
    // package's name is mapped to its source, as the repository's tsconfig does.
    const files = new Map(blocks.map((text, i) => [join(REPO_ROOT, `readme-example-${i}.ts`), `${text}\nexport {};\n`]));
    const options: ts.CompilerOptions = {
      strict: true, noEmit: true, module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, skipLibCheck: true,
      types: ["node"], noUnusedLocals: false,
      paths: {
        [`${PACKAGE}/workload`]: [join(REPO_ROOT, "components", "workload", "index.ts")],
        [`${PACKAGE}/alicloud`]: [join(REPO_ROOT, "components", "alicloud", "index.ts")],
      },
    };
    const disk = ts.createCompilerHost(options);
    const host: ts.CompilerHost = {
      ...disk,
      fileExists: (f) => files.has(f) || disk.fileExists(f),
      readFile: (f) => files.get(f) ?? disk.readFile(f),
      getSourceFile: (f, lang, ...rest) => (files.has(f) ? ts.createSourceFile(f, files.get(f)!, lang) : disk.getSourceFile(f, lang, ...rest)),
    };
    const program = ts.createProgram([...files.keys()], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => `${d.file ? relative(REPO_ROOT, d.file.fileName) : ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    expect(problems).toEqual([]);
  }, 300_000);
});

describe("a stack of another team, built from the installed tarball", () => {
  it("gets one copy of @pulumi/pulumi and of @pulumi/kubernetes: the SDKs are peer dependencies", () => {
    const nodeModules = join(consumer, "node_modules");
    expect(copiesOf(nodeModules, "@pulumi/pulumi")).toEqual([join(nodeModules, "@pulumi", "pulumi")]);
    expect(copiesOf(nodeModules, "@pulumi/kubernetes")).toEqual([join(nodeModules, "@pulumi", "kubernetes")]);
    // The package resolves from the project, to the installed copy, not to the repository.
    const entry = resolveInConsumer(PACKAGE);
    expect(entry).toBe(join(nodeModules, "@agentscope-ack", "components", "bin", "components", "index.js"));
  });

  it("has none of the optional peers installed: the workload-only program needs no Alibaba Cloud, Docker or random SDK", () => {
    const nodeModules = join(consumer, "node_modules");
    for (const peer of OPTIONAL_PEERS) expect(copiesOf(nodeModules, peer), peer).toEqual([]);
    expect(readFileSync(join(consumer, "index.ts"), "utf8")).toContain(`from "${PACKAGE}/workload"`);
    expect(resolveInConsumer(`${PACKAGE}/workload`)).toBe(join(nodeModules, "@agentscope-ack", "components", "bin", "components", "workload", "index.js"));
    // The root entry re-exports the Alibaba Cloud layer, so there it needs its optional peer.
    const root = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(PACKAGE)})`], { cwd: consumer, encoding: "utf8" });
    expect(root.status).not.toBe(0);
    expect(root.stderr).toContain("Cannot find module '@pulumi/alicloud'");
  });

  it("finds the image build context inside the installed package, from any working directory", () => {
    const r = spawnSync(process.execPath, ["-p", `require(${JSON.stringify(`${PACKAGE}/workload`)}).agentImageContext()`], { cwd: consumer, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(consumer, "node_modules", "@agentscope-ack", "components", "bin", "agent-image"));
    expect(existsSync(join(r.stdout.trim(), "Dockerfile"))).toBe(true);
  });

  it("has the images command in node_modules/.bin: --help, and a bad registry refused before any build", () => {
    const bin = join(consumer, "node_modules", ".bin", "agentscope-ack-images");
    const help = spawnSync(bin, ["--help"], { cwd: consumer, encoding: "utf8" });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("usage: agentscope-ack-images --registry HOST[:PORT][/PATH]");
    const bad = spawnSync(bin, ["--registry", "https://registry.example.com"], { cwd: consumer, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain(`agentscope-ack-images: --registry "https://registry.example.com" has a scheme: give the host without http:// or https://`);
  });

  it("finds the runtime assets relative to the compiled module", () => {
    const assets = join(dirname(resolveInConsumer(PACKAGE)), "assets");
    expect(readFileSync(join(assets, probe.name), "utf8")).toBe(probe.text);
  });

  it("registers exactly what examples/existing-cluster registers from the source tree", async () => {
    const config = exampleConfig();
    pulumi.runtime.setAllConfig(config, exampleSecretKeys(config));
    const inRepo = await runWithMocks(() => import(join(EXAMPLE_DIR, "index.ts")), { project: EXAMPLE_PROJECT, stack: "example" });
    expect(consumerResources.filter((r) => r.type === "kubernetes:apps/v1:Deployment")).toHaveLength(2);
    expect(canonical(consumerResources)).toEqual(canonical(inRepo.resources));
  });
});

describe("the policy pack, from the installed package", () => {
  it("finds nothing to report in the example's resources, with the example's pack config", () => {
    const config = JSON.parse(readFileSync(join(EXAMPLE_DIR, "policy-config", "example.json"), "utf8")) as Record<string, unknown>;
    const resources: StackResource[] = consumerResources.filter((r) => !r.read)
      .map((r) => ({ type: r.type, name: r.name, urn: `urn:pulumi:example::${EXAMPLE_PROJECT}::${r.type}::${r.name}`, props: r.inputs }));
    expect(resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy").length).toBeGreaterThan(0);
    expect(runRules(resources, config).map((v) => `[${v.policy}] ${v.message}`)).toEqual([]);
  });


  let pack: RunningPolicyPack | undefined;
  let client: AnalyzerClient | undefined;
  // Found by module resolution through package.json "exports" ("./policy"), as docs/package.md says.
  const packDir = () => dirname(resolveInConsumer(`${PACKAGE}/policy`));

  it("is reachable through the package's exports, with its config files", () => {
    expect(packDir()).toBe(join(consumer, "node_modules", "@agentscope-ack", "components", "bin", "policy"));
    expect(existsSync(resolveInConsumer(`${PACKAGE}/policy/config/prod.json`))).toBe(true);
    expect((JSON.parse(readFileSync(resolveInConsumer(`${PACKAGE}/policy/package.json`), "utf8")) as { version: string }).version)
      .toBe((JSON.parse(readFileSync(join(extracted, "package", "package.json"), "utf8")) as { version: string }).version);
  });

  beforeAll(async () => {
    // As the engine starts a Node.js pack: the consumer's @pulumi/pulumi runs the pack's directory.
    const runner = resolveInConsumer("@pulumi/pulumi/cmd/run-policy-pack", packDir());
    expect(runner.startsWith(join(consumer, "node_modules"))).toBe(true);
    pack = await startPolicyPack(runner, packDir());
    client = pack.client;
  }, 120_000);

  afterAll(() => {
    pack?.stop();
  });

  it("announces every rule and reports a deliberate violation as mandatory", async () => {
    const c = client!;
    const info = await new Promise<analyzer.AnalyzerInfo>((resolve, reject) => c.getAnalyzerInfo(new Empty(), (e, r) => (e ? reject(e) : resolve(r))));
    expect(info.getName()).toBe("agentscope-ack");
    expect(info.getPoliciesList().map((p) => p.getName())).toEqual(RULES.map((r) => r.name));

    const type = "kubernetes:apps/v1:Deployment";
    const bad = deployment(podSpec({}, goodContainer({ image: "nginx:1.27" })));
    const request = new analyzer.AnalyzeRequest().setType(type).setName("friday").setUrn(`urn:pulumi:test::consumer::${type}::friday`)
      .setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(bad)) as never))
      .setOptions(new analyzer.AnalyzerResourceOptions().setCustomtimeouts(new analyzer.AnalyzerResourceOptions.CustomTimeouts()));
    const res = await new Promise<analyzer.AnalyzeResponse>((resolve, reject) => c.analyze(request, (e, r) => (e ? reject(e) : resolve(r))));
    const diagnostics = res.getDiagnosticsList();
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics.every((d) => d.getPolicyname() === "workload-containers" && d.getEnforcementlevel() === analyzer.EnforcementLevel.MANDATORY)).toBe(true);
    expect(diagnostics.map((d) => d.getMessage()).join("\n")).toContain("image nginx:1.27 is not pinned by digest");
  });
});
