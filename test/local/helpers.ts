/** Shared pieces of the local backend's tests: a job request, an HTTP caller, waiting, overlap, other processes. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { VertexJob } from "../../components/spec";

/** The repository root (tests run from it): trial commands run here. */
export const REPO_ROOT = resolve(__dirname, "..", "..");
export const TRIAL_SCRIPT = "test/local/trainers/trial.py";
export const PARENT = "projects/p/locations/us-central1";

/** A fresh state folder. */
export function tempDir(prefix = "local-backend-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A valid job running the test trainer; `args` are its fixed flags. */
export function testJob(args: string[], overrides: Partial<VertexJob> = {}, studySpec: Partial<NonNullable<VertexJob["studySpec"]>> = {}): VertexJob {
  return {
    displayName: "test-job",
    maxTrialCount: 2,
    parallelTrialCount: 1,
    studySpec: {
      metrics: [{ metricId: "accuracy", goal: "MAXIMIZE" }],
      parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 0.1, maxValue: 0.9 }, scaleType: "UNIT_LINEAR_SCALE" }],
      algorithm: "RANDOM_SEARCH",
      ...studySpec,
    },
    trialJobSpec: {
      workerPoolSpecs: [
        {
          machineSpec: { machineType: "n1-standard-4" },
          replicaCount: "1",
          containerSpec: { imageUri: "local/test", command: ["python3", TRIAL_SCRIPT], args },
        },
      ],
    },
    ...overrides,
  };
}

/** The answer of one request. */
export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** Calls the server with node:http (so Host and Content-Type can be set freely). */
export function call(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer> {
  const target = new URL(path, url);
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (payload !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  Object.assign(headers, options.headers ?? {});
  return new Promise((resolvePromise, reject) => {
    const req = request(target, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolvePromise({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * Writes `parts` to the server as raw bytes over one connection (node:http sends only requests it
 * thinks well-formed) and resolves with all the server sent back: when it closes the connection,
 * or after `idleMs` of silence (a server that never answers).
 */
export function rawExchange(url: string, parts: (string | Buffer)[], idleMs = 5000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolvePromise) => {
    const received: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => parts.forEach((part) => socket.write(part)));
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    // A server that answers before it has read everything may reset the connection: what it sent
    // before is still here.
    socket.on("error", () => undefined);
    socket.on("close", () => resolvePromise(Buffer.concat(received).toString("utf8")));
  });
}

/** A client bound to one server. */
export function client(server: { url: string; token: string }) {
  const jobs = `v1/${PARENT}/hyperparameterTuningJobs`;
  return {
    create: (job: VertexJob) => call(server.url, "POST", jobs, { token: server.token, body: job }),
    get: (id: string) => call(server.url, "GET", `${jobs}/${id}`, { token: server.token }),
    list: (query = "") => call(server.url, "GET", `${jobs}${query}`, { token: server.token }),
    cancel: (id: string) => call(server.url, "POST", `${jobs}/${id}:cancel`, { token: server.token, body: {} }),
    remove: (id: string) => call(server.url, "DELETE", `${jobs}/${id}`, { token: server.token }),
    /** Polls the job until `done(job)` (default: a terminal state). */
    async waitFor(id: string, done: (job: VertexJob) => boolean = terminal, timeoutMs = 30_000): Promise<VertexJob> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { status, body } = await this.get(id);
        if (status === 200 && done(body)) return body;
        if (Date.now() > deadline) throw new Error(`job ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(body).slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** True for SUCCEEDED, FAILED, CANCELLED. */
export function terminal(job: VertexJob): boolean {
  return ["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"].includes(job.state ?? "");
}

/** The largest number of trials that ran at once, from the test trainer's start/end log. */
export function maxOverlap(logPath: string): number {
  const events = readFileSync(logPath, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" "))
    .map(([kind, , time]) => ({ delta: kind === "start" ? 1 : -1, time: Number(time) }))
    .sort((a, b) => a.time - b.time || a.delta - b.delta);
  let now = 0;
  let max = 0;
  for (const e of events) {
    now += e.delta;
    max = Math.max(max, now);
  }
  return max;
}

/** True when a process with this pid is alive (a zombie, dead but not yet reaped, is not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

/** Waits until `check` holds, up to `timeoutMs`; returns whether it did. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** The pid of a process that has exited. */
export function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
}

/**
 * Another process that takes the folder's lock as a starting server does and holds it for `ms`;
 * with `announceMs`, it writes a token and server.json naming itself after that long
 * (test/local/holdLock.ts). Resolves once the lock is taken.
 */
export async function holdLock(stateDir: string, ms: number, announceMs?: number): Promise<ChildProcess> {
  const args = [join(REPO_ROOT, "test/local/holdLock.ts"), stateDir, String(ms), ...(announceMs === undefined ? [] : [String(announceMs)])];
  const holder = spawn(process.execPath, ["--import", join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs"), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolvePromise) => holder.stdout!.once("data", resolvePromise));
  return holder;
}
