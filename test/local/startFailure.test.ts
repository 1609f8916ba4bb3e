/**
 * A server whose start fails on a full disk lets go of the state folder, so the process can exit
 * with its error and another server can take the folder: before it listens (its token cannot be
 * written), and after (its recovery cannot journal, or cannot note a trial it follows), when it
 * ends as a killed one would, its trials left for the next server, and stops listening.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { lockOwner } from "../../local/lock";
import { startServer } from "../../local/server";
import { Store } from "../../local/store";
import { deadPid, eventually, REPO_ROOT, tempDir, testJob } from "./helpers";

/** Whether writes fail as on a full disk: every writeSync, or writeFileSync and appendFileSync of files with this name. */
const disk = vi.hoisted(() => ({ full: false, fullFor: undefined as string | undefined }));

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  const writeSync = ((...args: unknown[]): number => {
    if (disk.full) throw enospc();
    return (fs.writeSync as (...a: unknown[]) => number)(...args);
  }) as typeof fs.writeSync;
  /** `write` (a whole-file write: its first argument the file), failing for files named disk.fullFor. */
  const fullFor = <W>(write: W): W =>
    ((file: unknown, ...args: unknown[]): void => {
      if (disk.fullFor !== undefined && String(file).endsWith(`/${disk.fullFor}`)) throw enospc();
      return (write as (...a: unknown[]) => void)(file, ...args);
    }) as W;
  const writeFileSync = fullFor(fs.writeFileSync);
  const appendFileSync = fullFor(fs.appendFileSync);
  return { ...fs, default: { ...fs, writeSync, writeFileSync, appendFileSync }, writeSync, writeFileSync, appendFileSync };
});

/** Servers listening in this process. */
const listening = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

/** A RUNNING job of the folder with its trial 1 started (`pid` its recorded process, if given), as a server that died left it; returns its id. */
function jobWithStartedTrial(stateDir: string, pid?: number): string {
  const store = new Store(stateDir);
  const id = store.createJob("projects/p/locations/l", testJob(["--mode=hang"])).id;
  store.setState(id, "JOB_STATE_RUNNING");
  store.startTrial(id, [{ parameterId: "x", value: 0.5 }]);
  if (pid !== undefined) store.setPid(id, "1", pid);
  store.close();
  return id;
}

/** Starts a server on the folder while the disk is `full` as given, and expects the start to fail with ENOSPC; the disk has room again after. */
async function expectStartOnFullDisk(stateDir: string, full: Partial<typeof disk>): Promise<void> {
  Object.assign(disk, full);
  try {
    await expect(startServer({ stateDir, repoRoot: REPO_ROOT })).rejects.toThrow(/ENOSPC/);
  } finally {
    Object.assign(disk, { full: false, fullFor: undefined });
  }
}

describe("a server whose start fails on a full disk", () => {
  it("stops listening and releases the state folder's lock, so its process exits with the error", async () => {
    const stateDir = tempDir();
    // A job whose trial died with the last server: recovery journals it as interrupted.
    const id = jobWithStartedTrial(stateDir, deadPid());

    const before = listening();
    await expectStartOnFullDisk(stateDir, { full: true });
    // A closed server's handle is freed a little later.
    expect(await eventually(() => listening() === before)).toBe(true);
    expect(lockOwner(stateDir)).toBeUndefined();
    // Once there is room, the next server starts on the folder and records what the failed one could not.
    const server = await startServer({ stateDir, repoRoot: REPO_ROOT, resumeJobs: false });
    await server.close();
    const after = new Store(stateDir);
    expect(after.get(id)!.trials[0]!.outcome).toBe("interrupted");
    after.close();
  });

  it("releases the state folder's lock when its token cannot be written, so a server can start on it later in this process", async () => {
    const stateDir = tempDir();
    await expectStartOnFullDisk(stateDir, { fullFor: "token" });
    expect(lockOwner(stateDir)).toBeUndefined();
    const server = await startServer({ stateDir, repoRoot: REPO_ROOT });
    await server.close();
  });

  it("releases the state folder's lock when the disk is too full for the note of a trial it leaves to the next server", async () => {
    const stateDir = tempDir();
    const id = jobWithStartedTrial(stateDir);
    // It ended while no server ran: the server follows it (to record its end), noting so in its log.
    const trialDir = join(stateDir, "jobs", id, "trials", "1");
    mkdirSync(trialDir, { recursive: true });
    writeFileSync(join(trialDir, "exit.status"), "0\n");
    await expectStartOnFullDisk(stateDir, { fullFor: "trial.log" });
    expect(lockOwner(stateDir)).toBeUndefined();
  });
});
