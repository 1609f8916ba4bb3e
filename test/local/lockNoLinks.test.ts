/**
 * The state folder's lock on a file system without hard links (link(2) refused with EPERM, as on
 * exFAT or some network mounts): O_EXCL and a write take its place.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { acquireLock, lockOwner } from "../../local/lock";
import { tempDir } from "./helpers";

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const linkSync = (): never => {
    throw Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" });
  };
  return { ...fs, default: { ...fs, linkSync }, linkSync };
});

describe("state folder lock without hard links", () => {
  it("takes, refuses a second taker, takes over a dead owner's and releases", () => {
    const dir = tempDir();
    const release = acquireLock(dir);
    // Its pid, then its start in clock ticks since boot (Linux).
    expect(readFileSync(join(dir, "lock"), "utf8")).toMatch(new RegExp(`^${process.pid} \\d+$`));
    expect(() => acquireLock(dir)).toThrow(/already serves/);
    release();
    expect(readdirSync(dir)).toEqual([]);

    writeFileSync(join(dir, "lock"), "999999999");
    const again = acquireLock(dir);
    expect(lockOwner(dir)).toBe(process.pid);
    again();
    expect(readdirSync(dir)).toEqual([]);
  });
});
