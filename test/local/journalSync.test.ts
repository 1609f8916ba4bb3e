/**
 * What the store syncs to disk: a trainer that reports every step sends hundreds of measurements
 * a second, and an fsync each (milliseconds) held the server's event loop for all of them. A
 * measurement is written at once and synced with the next event that needs it, the trial's end
 * at the latest; every other event is synced before its caller acts on it.
 */
import { describe, expect, it, vi } from "vitest";
import { replayJournal } from "../../local/journal";
import { Store } from "../../local/store";
import { tempDir } from "./helpers";

const syncs = vi.hoisted(() => ({ count: 0 }));

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const fsyncSync = ((fd: number) => {
    syncs.count++;
    fs.fsyncSync(fd);
  }) as typeof fs.fsyncSync;
  return { ...fs, default: { ...fs, fsyncSync }, fsyncSync };
});

describe("store syncs", () => {
  it("writes a measurement at once without an fsync of its own, and syncs it with the trial's end", () => {
    const dir = tempDir();
    const store = new Store(dir);
    const job = store.createJob("projects/p/locations/l", { displayName: "sync", studySpec: { metrics: [{ metricId: "loss", goal: "MINIMIZE" }], parameters: [] } });
    const jobId = job.job.name!.split("/").pop()!;
    const trial = store.startTrial(jobId, [{ parameterId: "x", value: 1 }]);
    const before = syncs.count;
    for (let step = 1; step <= 100; step++) {
      store.addMeasurement(jobId, trial.trial.id!, { stepCount: String(step), elapsedDuration: "1s", metrics: [{ metricId: "loss", value: 1 / step }] });
    }
    expect(syncs.count).toBe(before);
    // Written, not held back: a replay (a new server after a kill) sees every one.
    expect(replayJournal<{ e: string }>(`${dir}/journal.jsonl`).filter((e) => e.e === "measure")).toHaveLength(100);
    store.endTrial(jobId, trial.trial.id!, "succeeded");
    expect(syncs.count).toBe(before + 1);
    store.close();
  });
});
