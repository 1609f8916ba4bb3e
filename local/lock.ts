/**
 * One owner per state folder: `<state>/lock`, created with O_EXCL and holding the owner's pid.
 * Two servers on one journal would interleave events and both spawn the same trials, so a second
 * server refuses to start. A lock whose pid is dead (the owner was killed) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid holding the state folder's lock, if a live process holds it. */
export function lockOwner(stateDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(stateDir, "lock"), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock for this process, or throws naming the live owner. Returns the release function. */
export function acquireLock(stateDir: string): () => void {
  const path = join(stateDir, "lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = lockOwner(stateDir);
      if (owner !== undefined && owner !== process.pid) {
        throw new Error(`the state folder ${stateDir} is in use by another local backend (pid ${owner}); stop it or use another --state`);
      }
      if (owner === process.pid) throw new Error(`this process already serves the state folder ${stateDir}`);
      // Stale: its owner died. Remove it and try once more (O_EXCL settles a race with another taker).
      try {
        unlinkSync(path);
      } catch {
        // Another taker removed it first.
      }
    }
  }
  throw new Error(`could not take the lock on ${stateDir}`);
}
