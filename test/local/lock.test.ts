/**
 * The state folder's lock: a dead owner's lock is taken over, a live owner's is not, and of
 * several servers started at once on a folder whose owner died exactly one takes it (real
 * processes racing on the real file system).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock, lockOwner } from "../../local/lock";
import { deadPid, eventually, holdLock, REPO_ROOT, tempDir } from "./helpers";

/** Runs `count` contenders that all try to take the lock at the same moment; returns what each printed. */
async function race(stateDir: string, count: number): Promise<string[]> {
  const contenders = Array.from({ length: count }, () => {
    const child = spawn(process.execPath, ["--import", join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs"), join(REPO_ROOT, "test/local/lockContender.ts"), stateDir]);
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
        lines.push(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
        waiters.splice(0).forEach((wake) => wake());
      }
    });
    child.stderr.on("data", (chunk: Buffer) => lines.push(`stderr: ${chunk.toString()}`));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const line = async (index: number): Promise<string> => {
      while (lines.length <= index) await new Promise<void>((wake) => waiters.push(wake));
      return lines[index]!;
    };
    return { child, line, exited };
  });
  // Everyone loaded before the start is set, so no contender arrives late.
  for (const c of contenders) expect(await c.line(0)).toBe("ready");
  const startAt = Date.now() + 200;
  for (const c of contenders) c.child.stdin.write(`${startAt}\n`);
  const outcomes = await Promise.all(contenders.map((c) => c.line(1)));
  // Only now, with every outcome in, does the winner let go.
  for (const c of contenders) c.child.stdin.end();
  await Promise.all(contenders.map((c) => c.exited));
  return outcomes;
}

describe("state folder lock", () => {
  it("takes over a dead owner's lock and releases it", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "lock"), String(deadPid()));
    const release = acquireLock(dir);
    // Its pid, then its start in clock ticks since boot (Linux).
    expect(readFileSync(join(dir, "lock"), "utf8")).toMatch(new RegExp(`^${process.pid} \\d+$`));
    expect(lockOwner(dir)).toBe(process.pid);
    expect(() => acquireLock(dir)).toThrow(/already serves/);
    release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("takes over a lock holding its own pid that it never took (a container restarted after a kill)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "lock"), String(process.pid));
    expect(lockOwner(dir)).toBeUndefined();
    const release = acquireLock(dir);
    expect(lockOwner(dir)).toBe(process.pid);
    release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a live owner's lock, naming its pid", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "lock"), String(process.ppid));
    expect(() => acquireLock(dir)).toThrow(new RegExp(`in use by another local backend \\(pid ${process.ppid}\\)`));
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe(String(process.ppid));
  });

  it("takes over a lock whose pid a process started since has taken (a pid reused after the owner's kill)", () => {
    const dir = tempDir();
    const stranger = spawn("sleep", ["30"]);
    try {
      const path = join(dir, "lock");
      writeFileSync(path, String(stranger.pid));
      // Written an hour before the process with that pid started: not its lock.
      const anHourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(path, anHourAgo, anHourAgo);
      expect(lockOwner(dir)).toBeUndefined();
      const release = acquireLock(dir);
      expect(lockOwner(dir)).toBe(process.pid);
      release();
      // Written after it started, the same pid's lock stands.
      writeFileSync(path, String(stranger.pid));
      expect(() => acquireLock(dir)).toThrow(new RegExp(`in use by another local backend \\(pid ${stranger.pid}\\)`));
      // A lock that records another start for the pid is another process's, however recent.
      writeFileSync(path, `${stranger.pid} 1`);
      expect(lockOwner(dir)).toBeUndefined();
      acquireLock(dir)();
    } finally {
      stranger.kill("SIGKILL");
    }
  });

  it("keeps a live owner's lock when the clock is set forward after it was taken (a VM resumed, a clock without a battery synced late)", async () => {
    const dir = tempDir();
    const owner = await holdLock(dir, 30_000);
    try {
      // The clock set an hour forward since the owner took its lock: the lock's time is an hour
      // before its owner's start as the clock now reads it (boot time + start ticks).
      const anHourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(join(dir, "lock"), anHourAgo, anHourAgo);
      expect(lockOwner(dir)).toBe(owner.pid);
      expect(() => acquireLock(dir)).toThrow(new RegExp(`in use by another local backend \\(pid ${owner.pid}\\)`));
    } finally {
      owner.kill("SIGKILL");
    }
  });

  it("takes over the lock of an owner killed and not yet reaped (a zombie: kill -9 of a tune run whose parent reaps late)", async () => {
    const dir = tempDir();
    // `sleep 0` exits at once, and the `sleep 30` its shell becomes never reaps it.
    const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"]);
    try {
      const zombie = Number(await new Promise<string>((resolvePromise) => parent.stdout.once("data", (chunk: Buffer) => resolvePromise(chunk.toString()))));
      const stat = () => readFileSync(`/proc/${zombie}/stat`, "utf8");
      expect(await eventually(() => / Z /.test(stat()))).toBe(true);
      // As its server wrote it: its pid and its start in clock ticks since boot.
      writeFileSync(join(dir, "lock"), `${zombie} ${stat().slice(stat().lastIndexOf(")") + 2).split(" ")[19]}`);
      expect(lockOwner(dir)).toBeUndefined();
      const release = acquireLock(dir);
      expect(lockOwner(dir)).toBe(process.pid);
      release();
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("treats a lock without a pid in it as stale", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "lock"), "");
    acquireLock(dir)();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("clears a takeover left by a contender that died inside it", () => {
    const dir = tempDir();
    const owner = deadPid();
    writeFileSync(join(dir, "lock"), String(owner));
    writeFileSync(join(dir, `lock.takeover-${owner}`), String(deadPid()));
    const release = acquireLock(dir);
    expect(lockOwner(dir)).toBe(process.pid);
    release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("lets exactly one of six servers started at once take a dead owner's lock", async () => {
    // Before the takeover was guarded, two contenders took the lock in most rounds like these.
    for (let round = 0; round < 3; round++) {
      const dir = tempDir();
      writeFileSync(join(dir, "lock"), String(deadPid()));
      const outcomes = await race(dir, 6);
      expect(outcomes.filter((o) => o === "took"), outcomes.join("\n")).toHaveLength(1);
      expect(outcomes.filter((o) => o !== "took").every((o) => /in use by another local backend/.test(o))).toBe(true);
      expect(existsSync(join(dir, "lock"))).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    }
  }, 60_000);
});
