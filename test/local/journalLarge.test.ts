/**
 * A journal past the longest string V8 can hold (~512 MiB: a few million measurements of a
 * trainer that reports every step): reading it whole throws ERR_STRING_TOO_LONG, and no server
 * could start on its state folder again. Replay reads it in chunks and the journal looks at its
 * last byte only; here reading a journal whole throws as it would for one that big.
 */
import { appendFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { Journal, replayJournal } from "../../local/journal";
import { tempDir } from "./helpers";

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const readFileSync = ((path: unknown, ...rest: unknown[]) => {
    if (String(path).endsWith("journal.jsonl")) {
      throw Object.assign(new Error("Cannot create a string longer than 0x1fffffe8 characters"), { code: "ERR_STRING_TOO_LONG" });
    }
    return (fs.readFileSync as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

describe("journal too big to read whole", () => {
  it("replays in chunks, decoding characters cut by a chunk border, and ignores a torn last line", () => {
    const path = join(tempDir(), "journal.jsonl");
    const events = [{ n: 1, text: "héllo wörld" }, { n: 2, text: "日本語のテキスト" }, {}, { n: 3, text: "🙂🙃 emoji" }];
    writeFileSync(path, `${events.map((e) => JSON.stringify(e)).join("\n")}\n\n{"n": 4, "text": "tö`);
    // Every chunk size from one byte up cuts lines and characters at every place.
    for (const chunkBytes of [1, 2, 3, 7, 64, 1024]) expect(replayJournal(path, chunkBytes)).toEqual(events);
    expect(replayJournal(path)).toEqual(events);
    expect(replayJournal(join(tempDir(), "journal.jsonl"))).toEqual([]);
  });

  it("reads a last line that lacks only its newline, as before", () => {
    const path = join(tempDir(), "journal.jsonl");
    writeFileSync(path, '{"n":1}\n{"n":2}');
    expect(replayJournal(path, 3)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("opens for appending by looking at the last byte only, ending a torn line", () => {
    const path = join(tempDir(), "journal.jsonl");
    const journal = new Journal<{ n: number }>(path);
    journal.append({ n: 1 });
    journal.close();
    appendFileSync(path, '{"n": 2, "torn ö');
    const reopened = new Journal<{ n: number }>(path);
    reopened.append({ n: 3 });
    reopened.close();
    // A journal that ends on a newline gets no empty line.
    const size = statSync(path).size;
    new Journal<{ n: number }>(path).close();
    expect(statSync(path).size).toBe(size);
    expect(replayJournal(path, 5)).toEqual([{ n: 1 }, { n: 3 }]);
  });
});
