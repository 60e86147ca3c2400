// The CIDR helper both layers use: the public-internet check behind the registry's push allow-list.
import { describe, expect, it } from "vitest";
import { coversPublicInternet } from "../../components/shared/cidr";

describe("coversPublicInternet", () => {
  it("sees through splits and ignores non-public space", () => {
    expect(coversPublicInternet(["0.0.0.0/0"])).toBe(true);
    expect(coversPublicInternet(["0.0.0.0/1", "128.0.0.0/1"])).toBe(true);
    // All public space in four blocks; drop 216.0.0.0/5 from the last one and it is no longer all.
    expect(coversPublicInternet(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/4", "208.0.0.0/4"])).toBe(true);
    expect(coversPublicInternet(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/4", "208.0.0.0/5"])).toBe(false);
    expect(coversPublicInternet(["172.20.0.0/16"])).toBe(false);
    expect(coversPublicInternet([])).toBe(false);
  });
});
