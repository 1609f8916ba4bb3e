/**
 * `kill -9` of the server mid-study, then a new server on the same state folder: nothing that
 * finished is lost (not even a trial that finished while no server ran), trials still running
 * are followed to their end, trials that died with the server (or a clean stop ended) are kept as
 * INFEASIBLE "interrupted" and run again under new ids, and the job completes its budget. The
 * server runs as a child process (`tune serve`), exactly as a user would run it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { VertexJob } from "../../components/spec";
import { startServer } from "../../local/server";
import { suggest } from "../../optimizer";
import { alive, client, eventually, holdLock, REPO_ROOT, tempDir, testJob } from "./helpers";

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Starts `tune serve` on `stateDir` and resolves with its URL and token once it listens. */
function serve(stateDir: string): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "serve", "--state", stateDir, "--port", "0"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolvePromise, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (\S+)/.exec(output);
      if (m) resolvePromise({ child, url: m[1], token: readFileSync(join(stateDir, "token"), "utf8").trim() });
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => reject(new Error(`tune serve exited with ${code}: ${output}`)));
  });
}

type Trial = NonNullable<VertexJob["trials"]>[number];

/**
 * Starts `tune serve` on a fresh state folder, creates `jobs` one-trial jobs whose trainer hangs,
 * waits until every trainer runs, and kills the server with -9: the trials run on without it.
 * Returns the folder, the job ids and the trainers' pids, in creation order.
 */
async function hangingTrialsOfKilledServer(jobs = 1, stateDir = tempDir()): Promise<{ stateDir: string; ids: string[]; pids: number[] }> {
  const server = await serve(stateDir);
  const ids: string[] = [];
  for (let i = 0; i < jobs; i++) ids.push((await client(server).create(testJob(["--mode=hang"], { maxTrialCount: 1 }))).body.name.split("/").pop());
  const seen = (id: string) => join(stateDir, "jobs", id, "trials", "1", "seen.json");
  expect(await eventually(() => ids.every((id) => existsSync(seen(id))), 20_000)).toBe(true);
  const pids = ids.map((id) => JSON.parse(readFileSync(seen(id), "utf8")).pid as number);
  server.child.kill("SIGKILL");
  await new Promise((r) => server.child.once("exit", r));
  return { stateDir, ids, pids };
}


/**
 * Trainer flags for a 12-step study whose trials pause after their first measurement until the
 * test releases them (the test trainer's --hold): trials 3 and 4 must outlive the first server's
 * kill and, in the first test, the second server's start. Left to run on their own (3 s), they
 * ended before a second server that took that long to start under load, and the test failed.
 */
function heldTrials(): { args: string[]; release: (...trialIds: string[]) => void } {
  const dir = tempDir("held-trials-");
  return {
    args: ["--steps=12", "--sleep=0.25", `--hold=${dir}`],
    release: (...trialIds) => trialIds.forEach((trialId) => writeFileSync(join(dir, trialId), "")),
  };
}

/** The process group of a process (Linux: the fifth field of /proc/<pid>/stat). */
function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

/**
 * Waits until two trials of the job finished and the next two run and have reported (held there:
 * heldTrials), then kills the server with -9. Returns the finished trials, the running ones and
 * their trainers' pids.
 */
async function killMidStudy(server: { child: ChildProcess; url: string; token: string }, stateDir: string, id: string) {
  const before = await client(server).waitFor(id, (j) => {
    const trials = j.trials ?? [];
    return trials.filter((t) => t.state === "SUCCEEDED").length === 2 && trials.filter((t) => t.state === "ACTIVE" && (t.measurements?.length ?? 0) > 0).length === 2;
  });
  const finished = before.trials!.filter((t) => t.state === "SUCCEEDED");
  const running = before.trials!.filter((t) => t.state === "ACTIVE");
  const pids = running.map((t) => JSON.parse(readFileSync(join(stateDir, "jobs", id, "trials", t.id!, "seen.json"), "utf8")).pid as number);
  server.child.kill("SIGKILL");
  await new Promise((r) => server.child.once("exit", r));
  // The trials are their own process groups: they outlive the server.
  expect(pids.every(alive)).toBe(true);
  return { finished, running, pids };
}

describe("restart after kill -9", () => {
  it("keeps finished trials, follows the running ones to their end, and completes the job with nothing run twice", async () => {
    const stateDir = tempDir();
    // The first server reaches the folder through a symlink (as a working directory reported
    // through one would), the second by its real path: the second must still find the first
    // one's trials.
    const link = join(tempDir(), "state-link");
    symlinkSync(stateDir, link);
    const first = await serve(link);
    const held = heldTrials();
    held.release("1", "2");
    const created = await client(first).create(testJob(held.args, { maxTrialCount: 4, parallelTrialCount: 2, maxFailedTrialCount: 1 }));
    expect(created.status).toBe(200);
    const id = created.body.name.split("/").pop();
    const { finished, running, pids } = await killMidStudy(first, stateDir, id);

    const second = await serve(stateDir);
    // The running trials go on under the new server...
    expect(pids.every(alive)).toBe(true);
    held.release("3", "4");
    const after = await client(second).waitFor(id, undefined, 30_000);
    expect(after.state).toBe("JOB_STATE_SUCCEEDED");
    const byId = new Map(after.trials!.map((t) => [t.id, t] as [string, Trial]));
    // Nothing that finished was lost, nothing ran twice, and the budget is the job's own.
    for (const t of finished) expect(byId.get(t.id!)).toEqual(t);
    expect(after.trials!.map((t) => [t.id, t.state])).toEqual([["1", "SUCCEEDED"], ["2", "SUCCEEDED"], ["3", "SUCCEEDED"], ["4", "SUCCEEDED"]]);
    // ...to their end (12 steps), every measurement recorded once.
    for (const t of running) {
      expect(readFileSync(join(stateDir, "jobs", id, "trials", t.id!, "stdout.log"), "utf8")).toContain("step 12 ");
      expect(byId.get(t.id!)!.measurements!.map((m) => m.stepCount)).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
    }
    expect(readFileSync(join(stateDir, "jobs", id, "job.log"), "utf8")).toContain(`trial ${running[0]!.id} still runs: followed to its end`);
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.once("exit", r));
  });

  it("ends and reruns under new ids the trials that died with the server, counting them in no budget", async () => {
    const stateDir = tempDir();
    const first = await serve(stateDir);
    // Trials 3 and 4 die with the server (held until then); their reruns, 5 and 6, run through.
    const held = heldTrials();
    held.release("1", "2", "5", "6");
    // maxFailedTrialCount 1: were the two interrupted trials counted as failures, the job would fail.
    const created = await client(first).create(testJob(held.args, { maxTrialCount: 4, parallelTrialCount: 2, maxFailedTrialCount: 1 }));
    const id = created.body.name.split("/").pop();
    const { running, pids } = await killMidStudy(first, stateDir, id);
    // A machine's restart, say: the trials end with the server, before they could record an exit.
    for (const pid of pids) process.kill(-processGroup(pid), "SIGKILL");
    expect(await eventually(() => !pids.some(alive), 2000)).toBe(true);

    const second = await serve(stateDir);
    const after = await client(second).waitFor(id, undefined, 30_000);
    expect(after.state).toBe("JOB_STATE_SUCCEEDED");
    const trials = after.trials!;
    for (const t of running) {
      const kept = trials.find((k) => k.id === t.id)!;
      expect(kept.state).toBe("INFEASIBLE");
      expect(kept.infeasibleReason).toBe("interrupted by a restart of the local backend");
      const reruns = trials.filter((r) => Number(r.id) > Number(t.id) && JSON.stringify(r.parameters) === JSON.stringify(t.parameters));
      expect(reruns).toHaveLength(1);
      expect(reruns[0].state).toBe("SUCCEEDED");
    }
    // Ids are never reused, and the interrupted trials count toward neither budget: 4 counted trials + 2 interrupted.
    expect(trials.map((t) => t.id)).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(trials.filter((t) => t.infeasibleReason !== "interrupted by a restart of the local backend")).toHaveLength(4);
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.once("exit", r));
  });

  it("after a graceful stop, records the trials it ended as interrupted and runs them again, not as failed", async () => {
    const stateDir = tempDir();
    const first = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500 });
    const created = await client(first).create(testJob(["--mode=hang"], { maxTrialCount: 1, maxFailedTrialCount: 1 }));
    const id = created.body.name.split("/").pop();
    await client(first).waitFor(id, (j) => (j.trials ?? []).length === 1);
    // The trainer runs, so its shell has set its trap: a stop before that ends the shell too,
    // with no exit status to show ("a stop for a shutdown that ended the trial's shell too"), which made this one fail under load.
    expect(await eventually(() => existsSync(join(stateDir, "jobs", id, "trials", "1", "seen.json")), 20_000)).toBe(true);
    await first.close();
    // The trial ended by the stop's SIGTERM, and its folder says why.
    expect(readFileSync(join(stateDir, "jobs", id, "trials", "1", "exit.status"), "utf8")).toBe("143\n");

    const second = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500 });
    const job = await client(second).waitFor(id, (j) => (j.trials ?? []).length === 2);
    expect(job.trials![0]).toMatchObject({ id: "1", state: "INFEASIBLE", infeasibleReason: "interrupted by a restart of the local backend" });
    expect(job.state).not.toBe("JOB_STATE_FAILED");
    await client(second).cancel(id);
    await client(second).waitFor(id);
    await second.close();
  });

  it("records trials that finished while no server ran as they ended, with every measurement, and runs them not again", async () => {
    const stateDir = tempDir();
    const first = await serve(stateDir);
    const created = await client(first).create(testJob(["--steps=8", "--sleep=0.15"], { maxTrialCount: 2, parallelTrialCount: 2 }));
    const id = created.body.name.split("/").pop();
    await client(first).waitFor(id, (j) => (j.trials ?? []).filter((t) => (t.measurements?.length ?? 0) > 0).length === 2);
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    // The trials run on without a server, to their end.
    const status = (trial: string) => join(stateDir, "jobs", id, "trials", trial, "exit.status");
    expect(await eventually(() => ["1", "2"].every((t) => existsSync(status(t))), 10_000)).toBe(true);

    const second = await serve(stateDir);
    const after = await client(second).waitFor(id, undefined, 30_000);
    expect(after.state).toBe("JOB_STATE_SUCCEEDED");
    expect(after.trials!.map((t) => t.id)).toEqual(["1", "2"]);
    for (const t of after.trials!) {
      expect(t.state).toBe("SUCCEEDED");
      expect(t.measurements).toHaveLength(8);
      expect(t.finalMeasurement?.stepCount).toBe("8");
    }
    expect(readFileSync(join(stateDir, "jobs", id, "job.log"), "utf8")).toMatch(/trial 1 ended while no server ran \(exit code 0\)/);
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.once("exit", r));
  });

  it("carries on a cancel the last server journaled but died before it stopped the trials", async () => {
    const { stateDir, ids: [id], pids: [pid] } = await hangingTrialsOfKilledServer();
    // What the folder holds when the kill comes right after the cancel's CANCELLING is journaled,
    // before the trial's stop (its stop.reason, its SIGTERM): the job CANCELLING, the trial running.
    const cancelling = { e: "state", jobId: id, state: "JOB_STATE_CANCELLING", time: new Date().toISOString() };
    appendFileSync(join(stateDir, "journal.jsonl"), `${JSON.stringify(cancelling)}\n`);
    expect(alive(pid)).toBe(true);

    const second = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500 });
    try {
      // A hung trial left to end on its own would keep the job CANCELLING (and a second cancel
      // is a no-op on a CANCELLING job): the new server must stop it.
      const after = await client(second).waitFor(id, undefined, 20_000);
      expect(after.state).toBe("JOB_STATE_CANCELLED");
      expect(after.trials).toHaveLength(1);
      expect(after.trials![0]).toMatchObject({ id: "1", state: "INFEASIBLE", infeasibleReason: "cancelled with the job" });
      expect(await eventually(() => !alive(pid), 5000)).toBe(true);
    } finally {
      await second.close();
    }
  });
});

describe("a stop for a shutdown that ended the trial's shell too", () => {
  it("records the trial interrupted and runs it again, though its folder has no exit status", async () => {
    const { stateDir, ids: [id], pids: [pid] } = await hangingTrialsOfKilledServer();
    const trialDir = join(stateDir, "jobs", id!, "trials", "1");
    // A shutdown's stop that came before the trial's shell had set its trap (a stop right after the
    // start) ends the shell with the trainer: no exit status, the reason in the folder. Made here
    // by hand: the reason, then the whole group killed.
    writeFileSync(join(trialDir, "stop.reason"), "shutdown\n");
    process.kill(-processGroup(pid!), "SIGKILL");
    expect(await eventually(() => !alive(pid), 5000)).toBe(true);

    const second = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500 });
    try {
      const job = await client(second).waitFor(id, (j) => (j.trials ?? []).length === 2, 20_000);
      expect(job.trials![0]).toMatchObject({ id: "1", state: "INFEASIBLE", infeasibleReason: "interrupted by a restart of the local backend" });
      expect(job.trials![1]).toMatchObject({ id: "2", state: "ACTIVE" });
      await client(second).cancel(id);
      await client(second).waitFor(id, undefined, 20_000);
    } finally {
      await second.close();
    }
  });
});

describe("a trial left running in a state folder whose path is not ASCII (/home/josé)", () => {
  it("is followed by the next server, not ended as interrupted and run again", async () => {
    const { stateDir, ids: [id], pids: [pid] } = await hangingTrialsOfKilledServer(1, tempDir("state-josé-"));
    const next = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500 });
    try {
      // Recovery is done before the server answers: the trial is kept, its trainer alive.
      const job = (await client(next).get(id)).body as VertexJob;
      expect(job.trials!.map((t) => [t.id, t.state])).toEqual([["1", "ACTIVE"]]);
      expect(alive(pid!)).toBe(true);
      await client(next).cancel(id);
      await client(next).waitFor(id, undefined, 20_000);
    } finally {
      await next.close();
    }
  });
});

describe("a server started only to cancel a job (tune cancel)", () => {
  it("leaves the other jobs' running trials running for the next server, which follows them", async () => {
    const { stateDir, ids: [kept, cancelled], pids: [pid] } = await hangingTrialsOfKilledServer(2);

    const canceller = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500, resumeJobs: false });
    await client(canceller).cancel(cancelled);
    expect((await client(canceller).waitFor(cancelled, undefined, 20_000)).state).toBe("JOB_STATE_CANCELLED");
    await canceller.close();
    // The kept job's trial runs on (it was stopped as a shutdown, to run again from the start), unended.
    expect(alive(pid)).toBe(true);
    expect(existsSync(join(stateDir, "jobs", kept, "trials", "1", "stop.reason"))).toBe(false);

    const next = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500 });
    try {
      // Trial 1 is followed, not ended as interrupted and run again as trial 2.
      const job = await client(next).waitFor(kept, (j) => j.trials?.[0]?.state === "ACTIVE", 20_000);
      expect(job.trials!.map((t) => [t.id, t.state])).toEqual([["1", "ACTIVE"]]);
      expect(alive(pid)).toBe(true);
      await client(next).cancel(kept);
      await client(next).waitFor(kept, undefined, 20_000);
    } finally {
      await next.close();
    }
  });
});

describe("a state folder deleted while its server runs (rm -rf .tune/state)", () => {
  /** `tune serve` on a fresh folder running a job of 2 s trials, once its first trial runs: the server, its stderr, the folder and the trial's pid. */
  async function servingFolder() {
    const stateDir = tempDir();
    const server = await serve(stateDir);
    let stderr = "";
    server.child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((r) => server.child.once("exit", r));
    const id = (await client(server).create(testJob(["--steps=8", "--sleep=0.25"], { maxTrialCount: 4 }))).body.name.split("/").pop();
    const seen = join(stateDir, "jobs", id, "trials", "1", "seen.json");
    expect(await eventually(() => existsSync(seen), 20_000)).toBe(true);
    return { server, stderr: () => stderr, exited, stateDir, pid: JSON.parse(readFileSync(seen, "utf8")).pid as number };
  }

  /** The server's exit code: it closes by itself; one still running after 10 s is stopped as a person would (then a test fails on its code). */
  async function exitCode(server: { child: ChildProcess }, exited: Promise<number | null>): Promise<number | null> {
    if (!(await eventually(() => server.child.exitCode !== null, 10_000))) server.child.kill("SIGTERM");
    return exited;
  }

  it("stops its trials and closes, saying so on stderr (tune serve exits 1), and makes nothing there again", async () => {
    const { server, stderr, exited, stateDir, pid } = await servingFolder();
    rmSync(stateDir, { recursive: true, force: true });
    expect(await exitCode(server, exited), stderr()).toBe(1);
    expect(stderr()).toContain(`the state folder ${stateDir} was deleted`);
    expect(alive(pid)).toBe(false);
    // No trial started after, no job.log line: the folder stays deleted (it came back as a skeleton of trial folders).
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(stateDir)).toBe(false);
  });

  it("stops even the trials a server started only to look or cancel (tune status) leaves running: no server could follow them", async () => {
    const { stateDir, pids: [pid] } = await hangingTrialsOfKilledServer(1);
    let lost: Error | undefined;
    const looker = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500, resumeJobs: false, onLost: (error) => (lost = error) });
    try {
      rmSync(stateDir, { recursive: true, force: true });
      expect(await eventually(() => lost !== undefined, 5000)).toBe(true);
      expect(lost!.message).toContain(`the state folder ${stateDir} was deleted`);
      expect(await eventually(() => !alive(pid), 5000)).toBe(true);
    } finally {
      await looker.close();
      // Not left to outlive the test when the server did not stop it.
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Stopped already.
      }
    }
  });

  it("leaves alone the server that took the folder anew: its server.json and lock stay", async () => {
    const { server, exited, stateDir } = await servingFolder();
    rmSync(stateDir, { recursive: true, force: true });
    mkdirSync(stateDir);
    // The next server (a stand-in process): its lock, token and server.json, no journal yet.
    const next = await holdLock(stateDir, 20_000, 0);
    children.push(next);
    await eventually(() => existsSync(join(stateDir, "server.json")));
    // The first server's close removed the next one's server.json: tune status and the next run no longer found it.
    expect(await exitCode(server, exited)).toBe(1);
    expect(JSON.parse(readFileSync(join(stateDir, "server.json"), "utf8")).pid).toBe(next.pid);
    expect(readFileSync(join(stateDir, "lock"), "utf8")).toMatch(new RegExp(`^${next.pid}\\b`));
    next.kill("SIGKILL");
  });

  it("leaves alone a server of this same process that took the folder anew before the loss was seen: its lock stays its own", async () => {
    const stateDir = tempDir();
    let lostFirst: Error | undefined;
    const first = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500, onLost: (error) => (lostFirst = error) });
    const id = (await client(first).create(testJob(["--steps=8", "--sleep=0.25"], { maxTrialCount: 4 }))).body.name.split("/").pop();
    expect(await eventually(() => existsSync(join(stateDir, "jobs", id, "trials", "1", "seen.json")), 20_000)).toBe(true);
    rmSync(stateDir, { recursive: true, force: true });
    mkdirSync(stateDir);
    // Within the first server's watchdog interval: the lock file is gone, so this process takes it again.
    let lostNext: Error | undefined;
    const next = await startServer({ stateDir, repoRoot: REPO_ROOT, pollMs: 50, onLost: (error) => (lostNext = error) });
    try {
      expect(await eventually(() => lostFirst !== undefined, 5000)).toBe(true);
      await first.close();
      // The first server's release removed the next one's lock and forgot it, and the next one's watchdog then closed it as lost.
      expect(readFileSync(join(stateDir, "lock"), "utf8")).toMatch(new RegExp(`^${process.pid}\\b`));
      await new Promise((r) => setTimeout(r, 300));
      expect(lostNext?.message).toBeUndefined();
    } finally {
      await next.close();
    }
  });

  it("ends no process when the job's failure cannot be recorded either (the optimizer throws as the folder goes)", async () => {
    const stateDir = tempDir();
    let calls = 0;
    let lost: Error | undefined;
    const server = await startServer({
      stateDir,
      repoRoot: REPO_ROOT,
      pollMs: 50,
      graceMs: 300,
      onLost: (error) => (lost = error),
      suggest: (request) => {
        if (++calls === 1) return suggest(request);
        rmSync(stateDir, { recursive: true, force: true });
        throw new Error("an optimizer bug");
      },
    });
    try {
      await client(server).create(testJob(["--steps=2"], { maxTrialCount: 3 }));
      // The second suggestion comes from the pump after the first trial's end (setImmediate): the
      // job's FAILED state was refused there with StateFolderLost, an uncaught exception.
      expect(await eventually(() => lost !== undefined, 20_000)).toBe(true);
      expect(calls).toBe(2);
    } finally {
      await server.close();
    }
  });
});
