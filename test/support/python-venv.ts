/**
 * Virtualenvs for tests that run Python against the exact, hash-locked packages of an image
 * (agent-image/requirements*.txt): only the packages named, each with its lock's version and
 * hashes. A venv is rebuilt when the requirements it was made from change.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";

export const REPO = join(__dirname, "..", "..");

const norm = (name: string) => name.toLowerCase().replace(/[_.]/g, "-");

/** The `name==version \ --hash=...` blocks of `names` from a pip-compile lock; throws on a missing name. */
export function lockedBlocks(lockFile: string, names: readonly string[]): string {
  const text = readFileSync(join(REPO, lockFile), "utf8");
  const blocks = new Map<string, string>();
  for (const m of text.matchAll(/^([A-Za-z0-9_.-]+)==\S+(?:[ \t]*\\\n[ \t]+--hash=sha256:[0-9a-f]+)+/gm)) blocks.set(norm(m[1]!), m[0]);
  return names
    .map((n) => {
      const block = blocks.get(norm(n));
      if (!block) throw new Error(`${n} is not locked (with hashes) in ${lockFile}`);
      return block;
    })
    .join("\n");
}

export interface VenvSpec {
  /** Directory under .venv/. */
  readonly name: string;
  readonly lockFile: string;
  /** Installed with their dependencies, which must all be in this list (pip --require-hashes checks). */
  readonly packages: readonly string[];
  /** Installed without their dependencies (only a module of theirs is imported). */
  readonly noDeps?: readonly string[];
}

/** Makes (or reuses) the venv and returns its python. Needs python3 with venv, and PyPI. */
export function lockedVenv(spec: VenvSpec): string {
  const dir = join(REPO, ".venv", spec.name);
  const python = join(dir, "bin", "python");
  const withDeps = lockedBlocks(spec.lockFile, spec.packages);
  const noDeps = spec.noDeps?.length ? lockedBlocks(spec.lockFile, spec.noDeps) : "";
  const want = createHash("sha256").update(withDeps).update("\0").update(noDeps).digest("hex");
  const marker = join(dir, ".requirements-sha256");
  if (existsSync(python) && existsSync(marker) && readFileSync(marker, "utf8") === want) return python;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(REPO, ".venv"), { recursive: true });
  execFileSync("python3", ["-m", "venv", dir], { stdio: "pipe" });
  const pip = (file: string, extra: string[]) =>
    execFileSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes", ...extra, "-r", file], { stdio: "pipe", timeout: 900_000 });
  writeFileSync(join(dir, "requirements.txt"), `${withDeps}\n`);
  pip(join(dir, "requirements.txt"), []);
  if (noDeps) {
    writeFileSync(join(dir, "requirements-no-deps.txt"), `${noDeps}\n`);
    pip(join(dir, "requirements-no-deps.txt"), ["--no-deps"]);
  }
  writeFileSync(marker, want);
  return python;
}
