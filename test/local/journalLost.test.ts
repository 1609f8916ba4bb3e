/**
 * How the store tells that its journal is no longer its folder's (Store.journalLost): a state
 * folder deleted and replaced by a file is lost as a deleted one is, not an error thrown from the
 * server's watchdog interval or a trial's event, which ended the process with its trials running.
 */
import { rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { StateFolderLost, Store } from "../../local/store";
import { tempDir } from "./helpers";

describe("a journal whose state folder is replaced by a file", () => {
  it("is lost, and a commit refuses with StateFolderLost", () => {
    const dir = tempDir();
    const store = new Store(dir);
    const { id: jobId } = store.createJob("projects/p/locations/l", { displayName: "lost" });
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, "not a folder\n");
    try {
      // ENOTDIR from statSync (throwIfNoEntry spares ENOENT alone) was thrown from both.
      expect(store.journalLost()).toContain(dir);
      expect(() => store.setState(jobId, "JOB_STATE_RUNNING")).toThrow(StateFolderLost);
    } finally {
      store.close();
      rmSync(dir, { force: true });
    }
  });
});
