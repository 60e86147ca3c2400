// The agent image's hash locks are for one CPython minor version: the stack's default base image
// must be that version, or a cloud stack's first build installs wheels for the wrong Python.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imagesSchema } from "../config/schema";
import { REPO_ROOT } from "./support/stack-config";

const pythonMinor = (image: string): string | undefined => /python:(\d+\.\d+)/.exec(image)?.[1];

describe("images.baseImage", () => {
  it("defaults to the CPython version the Dockerfile's locks are made for", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, "agent-image", "Dockerfile"), "utf8");
    const arg = /^ARG BASE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(arg, "agent-image/Dockerfile declares ARG BASE_IMAGE").toBeDefined();
    const defaultBase = imagesSchema().parse({}).baseImage;
    expect(pythonMinor(defaultBase)).toBe("3.11");
    expect(pythonMinor(defaultBase)).toBe(pythonMinor(arg!));
  });
});
