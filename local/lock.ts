/**
 * One owner per state folder: `<state>/lock`, holding the owner's pid (on Linux, then its start in
 * clock ticks since boot, which tells it from a later process with its pid). Two servers on one journal
 * would interleave events and both spawn the same trials, so a second server refuses to start. A
 * lock whose pid is dead (the owner was killed) is taken over, and so is one holding this
 * process's own pid that this process never took (a container restarted after a kill gives the
 * new server the old one's pid), and, on Linux, one whose pid another process took since: its
 * start is not the one the lock records (or, in a lock without it, came well after the lock was
 * written), so it cannot be the owner.
 *
 * Two races are closed here, both seen with several servers started at once on a folder whose
 * owner had died (two of them took the lock in most rounds of six):
 * - a lock file is never seen empty: it is written under a temporary name and linked into place,
 *   and link(2), like O_EXCL, fails when the lock exists (on a file system without hard links,
 *   O_EXCL and a write are the fallback, with the old, brief empty window);
 * - a stale lock is removed only by the one process holding `<lock>.takeover-<dead pid>`, and
 *   only while it still holds that dead pid, so a contender that read the stale lock late cannot
 *   remove the fresh lock another contender has just created in its place.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";

/** How long contention may last before giving up (a takeover holds its file for microseconds). */
const CONTENTION_LIMIT_MS = 10_000;

/**
 * The lock files this process holds (a lock with our pid that is not here is a predecessor's), by
 * path, with the acquisition that holds it (a token of its own): a later acquisition in this process
 * of a lock file made anew (its state folder deleted and made again while the first server was
 * closing on the loss) is not let go by the first one's release, which removed the new lock and
 * forgot it, so the new server's watchdog saw its lock "taken" and closed it.
 */
const held = new Map<string, object>();

/**
 * True when a process with this pid runs (EPERM: it exists but belongs to another user). A zombie
 * does not: it has exited, and only its parent has not reaped it yet, which a parent may take
 * seconds to do (a container's init) or never do. Counted alive, a `tune run` killed with -9 kept
 * its lock and its server.json in force meanwhile, and `tune status` or the next run called its
 * closed port and failed with ECONNREFUSED.
 */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // Field 3, after the command name in parentheses (which may hold spaces): Z zombie, X dead.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    // No /proc (not Linux): kill(2)'s answer stands.
    return true;
  }
}

/**
 * What a lock file holds: its pid (0 for content that is no pid) and the start of that pid's
 * process (startTicks) when it records one; undefined when the file is missing.
 */
function readLock(path: string): { pid: number; start?: number } | undefined {
  let words: string[];
  try {
    words = readFileSync(path, "utf8").trim().split(/\s+/);
  } catch {
    return undefined;
  }
  const pid = Number(words[0]);
  const start = words[1] !== undefined && /^\d+$/.test(words[1]) ? Number(words[1]) : undefined;
  return Number.isInteger(pid) && pid > 0 ? { pid, start } : { pid: 0 };
}

/** The pid a lock file holds, 0 for content that is no pid, undefined when the file is missing. */
function readPid(path: string): number | undefined {
  return readLock(path)?.pid;
}

/**
 * How much later than a lock's write a process may seem to have started and still own it: the
 * lock's time is the file system's clock (a network file system's may run behind this machine's).
 */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * When process `pid` started, in clock ticks since boot (`/proc/<pid>/stat`'s field 22), on Linux;
 * undefined elsewhere or when unreadable. Unlike a time of day, it stays put when the clock is set.
 */
function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: the fields are counted after its ")". Field 22 is the start.
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    return Number.isInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When process `pid` started, in epoch ms, on Linux (startTicks, at the kernel's fixed USER_HZ of
 * 100, plus `/proc/stat`'s boot time, which moves with the clock); undefined elsewhere or when unreadable.
 */
function processStart(pid: number): number | undefined {
  const ticks = startTicks(pid);
  if (ticks === undefined) return undefined;
  try {
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    return Number.isFinite(boot) ? boot * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** What this process writes in a lock it takes: its pid, and its start where it is known. */
function lockText(): string {
  const start = startTicks(process.pid);
  return start === undefined ? String(process.pid) : `${process.pid} ${start}`;
}

/**
 * Whether the process `pid` holds `path`: this one when it took it; another while it lives,
 * unless it is not the process that wrote `path` (a pid reused after the owner's kill, as a
 * container's restart does: that lock used to refuse every server, naming an unrelated process).
 * The start the lock records tells; a lock without one (an older server's, or not on Linux) is
 * told by its time, which a clock set forward since it was written makes look older than its owner.
 */
function holds(path: string, pid: number): boolean {
  if (pid === process.pid) return held.has(path);
  if (!isAlive(pid)) return false;
  const lock = readLock(path);
  const recorded = lock?.pid === pid ? lock.start : undefined;
  const current = recorded === undefined ? undefined : startTicks(pid);
  if (current !== undefined) return current === recorded;
  const started = processStart(pid);
  const written = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
  return started === undefined || written === undefined || started <= written + CLOCK_SKEW_MS;
}

/** Creates `path` holding this process's pid (lockText), whole or not at all; false when it already exists. */
function createHoldingPid(path: string): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(temporary, lockText(), { mode: 0o600, flag: "wx" });
    linkSync(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // NFS may answer a retried link that did succeed with EEXIST: the link count tells.
    if (code === "EEXIST") return statSync(temporary, { throwIfNoEntry: false })?.nlink === 2;
    if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS") return createExclusive(path);
    throw error;
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // Never created.
    }
  }
}

/** O_EXCL create and write, for file systems without hard links. */
function createExclusive(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, lockText());
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
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
 * Removes `path` if it still holds `stalePid`, as the only process doing so for that pid: the one
 * that creates `<path>.takeover-<stalePid>`. A takeover file whose holder died is itself a stale
 * lock and is cleared the same way, one level down. Returns without removing anything when
 * another live process holds the takeover; the caller tries again.
 */
function removeStale(path: string, stalePid: number): void {
  const takeover = `${path}.takeover-${stalePid}`;
  if (createHoldingPid(takeover)) {
    try {
      if (readPid(path) === stalePid && !holds(path, stalePid)) unlinkSync(path);
    } finally {
      removeIfHeld(takeover);
    }
    return;
  }
  const holder = readPid(takeover);
  if (holder !== undefined && !holds(takeover, holder)) removeStale(takeover, holder);
}

/** Blocks the thread for `ms` (the server is not serving yet while it takes its lock). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The pid holding the state folder's lock, if a live process holds it. */
export function lockOwner(stateDir: string): number | undefined {
  const path = resolve(stateDir, "lock");
  const pid = readPid(path);
  return pid !== undefined && holds(path, pid) ? pid : undefined;
}

/** Takes the lock for this process, or throws naming the live owner. Returns the release function. */
export function acquireLock(stateDir: string): () => void {
  const path = resolve(stateDir, "lock");
  const deadline = Date.now() + CONTENTION_LIMIT_MS;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (createHoldingPid(path)) {
      const token = {};
      held.set(path, token);
      return () => {
        // Another acquisition in this process took the path since (this one's file was deleted):
        // the lock file there, with this process's pid, is that one's, and so is the entry.
        if (held.get(path) !== token) return;
        held.delete(path);
        removeIfHeld(path);
      };
    }
    const pid = readPid(path);
    if (pid === undefined) continue; // removed in between: try again
    if (pid === process.pid && held.has(path)) throw new Error(`this process already serves the state folder ${stateDir}`);
    if (holds(path, pid)) {
      throw new Error(`the state folder ${stateDir} is in use by another local backend (pid ${pid}); stop it or use another --state`);
    }
    removeStale(path, pid);
    pause(1 + (attempt % 5));
  }
  const takeovers = readdirSync(dirname(path)).filter((f) => f.startsWith(`${basename(path)}.takeover-`));
  throw new Error(`could not take the lock on ${stateDir} within ${CONTENTION_LIMIT_MS / 1000} s${takeovers.length ? ` (takeover files: ${takeovers.join(", ")})` : ""}`);
}
