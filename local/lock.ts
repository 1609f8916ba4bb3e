/**
 * One owner per state folder: `<state>/lock`, holding the owner's pid. Two servers on one journal
 * would interleave events and both spawn the same trials, so a second server refuses to start. A
 * lock whose pid is dead (the owner was killed) is taken over.
 *
 * Two races are closed here, both seen with several servers started at once on a folder whose
 * owner had died (two of them took the lock in most rounds of six):
 * - a lock file is never seen empty: it is written under a temporary name and linked into place,
 *   and link(2), like O_EXCL, fails when the lock exists;
 * - a stale lock is removed only by the one process holding `<lock>.takeover-<dead pid>`, and
 *   only while it still holds that dead pid, so a contender that read the stale lock late cannot
 *   remove the fresh lock another contender has just created in its place.
 */
import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid a lock file holds, 0 for content that is no pid, undefined when the file is missing. */
function readPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}

/** Creates `path` holding this process's pid, whole or not at all; false when it already exists. */
function createHoldingPid(path: string): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(temporary, String(process.pid), { mode: 0o600, flag: "wx" });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

/** Removes `path` if it still holds this process's pid. */
function removeIfHeld(path: string): void {
  try {
    if (readPid(path) === process.pid) unlinkSync(path);
  } catch {
    // Already gone: nothing to remove.
  }
}

/**
 * Removes `path` if it still holds `deadPid`, as the only process doing so for that pid: the one
 * that creates `<path>.takeover-<deadPid>`. A takeover file whose holder died is itself a stale
 * lock and is cleared the same way, one level down. Returns without removing anything when
 * another live process holds the takeover; the caller tries again.
 */
function removeStale(path: string, deadPid: number): void {
  const takeover = `${path}.takeover-${deadPid}`;
  if (createHoldingPid(takeover)) {
    try {
      if (readPid(path) === deadPid) unlinkSync(path);
    } finally {
      removeIfHeld(takeover);
    }
    return;
  }
  const holder = readPid(takeover);
  if (holder !== undefined && !isAlive(holder)) removeStale(takeover, holder);
}

/** Blocks the thread for `ms` (lock contention lasts microseconds; the server is not serving yet). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The pid holding the state folder's lock, if a live process holds it. */
export function lockOwner(stateDir: string): number | undefined {
  const pid = readPid(join(stateDir, "lock"));
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** Takes the lock for this process, or throws naming the live owner. Returns the release function. */
export function acquireLock(stateDir: string): () => void {
  const path = join(stateDir, "lock");
  for (let attempt = 0; attempt < 100; attempt++) {
    if (createHoldingPid(path)) return () => removeIfHeld(path);
    const pid = readPid(path);
    if (pid === undefined) continue; // removed in between: try again
    if (pid === process.pid) throw new Error(`this process already serves the state folder ${stateDir}`);
    if (isAlive(pid)) {
      throw new Error(`the state folder ${stateDir} is in use by another local backend (pid ${pid}); stop it or use another --state`);
    }
    removeStale(path, pid);
    pause(1 + (attempt % 5));
  }
  throw new Error(`could not take the lock on ${stateDir}`);
}
