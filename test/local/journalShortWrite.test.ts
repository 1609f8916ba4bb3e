/**
 * The journal on a disk that fills up: write(2) writes part of an event and returns how much,
 * and the next write fails (ENOSPC). An append that did not commit whole must throw (its caller
 * must not act on it), and the next append, once there is room again, must not be glued to the
 * part left behind (replay would drop it with the torn line).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { Journal, replayJournal } from "../../local/journal";
import { tempDir } from "./helpers";

/** The disk's state: how many bytes the next write may write (undefined: any), then none fit. */
const disk = vi.hoisted(() => ({ room: undefined as number | undefined }));

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const writeSync = ((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number => {
    if (disk.room === undefined) return (fs.writeSync as (...args: unknown[]) => number)(fd, data, ...rest);
    if (disk.room === 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const offset = typeof rest[0] === "number" ? rest[0] : 0;
    const part = bytes.subarray(offset, offset + disk.room);
    disk.room -= part.length;
    return fs.writeSync(fd, part);
  }) as typeof fs.writeSync;
  return { ...fs, default: { ...fs, writeSync }, writeSync };
});

describe("journal on a full disk", () => {
  it("throws for an event written in part, and starts the next event on a fresh line", () => {
    const path = join(tempDir(), "journal.jsonl");
    const journal = new Journal<{ n: number; text: string }>(path);
    journal.append({ n: 1, text: "kept" });
    disk.room = 10;
    // Naming the file: the state folder may be on another disk than the one a user would look at.
    expect(() => journal.append({ n: 2, text: "half written" })).toThrow(`could not write the journal ${path}: ENOSPC: no space left on device, write`);
    disk.room = undefined;
    journal.append({ n: 3, text: "after room was made" });
    journal.close();
    expect(replayJournal(path)).toEqual([
      { n: 1, text: "kept" },
      { n: 3, text: "after room was made" },
    ]);
  });

  it("names the journal when the next server, the disk still full, cannot end the torn line a failed append left", () => {
    const path = join(tempDir(), "journal.jsonl");
    writeFileSync(path, '{"n":1,"text":"kept"}\n{"n":2,"te');
    disk.room = 0;
    try {
      expect(() => new Journal<{ n: number; text: string }>(path)).toThrow(`could not write the journal ${path}: ENOSPC: no space left on device, write`);
    } finally {
      disk.room = undefined;
    }
    const journal = new Journal<{ n: number; text: string }>(path);
    journal.append({ n: 3, text: "after room was made" });
    journal.close();
    expect(replayJournal(path)).toEqual([
      { n: 1, text: "kept" },
      { n: 3, text: "after room was made" },
    ]);
  });
});
