/**
 * Shared fixtures of the provider tests: a real local backend on loopback over a temporary
 * state folder, a small job for the quadratic trainer, and a fast clock.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { startServer, type FaultRule, type LocalServer, type RequestLogEntry } from "../../local/server";
import { createVertexClient, type VertexClient } from "../../components/vertex/client";
import { specHash, type VertexJob } from "../../components/spec";
import type { Clock } from "../../components/vertex/clock";
import type { TuningJobInputs, TuningJobOutputs } from "../../components/tuningJobTypes";

export const REPO_ROOT = resolve(__dirname, "../..");
export { testJob, type TestJobOptions } from "./testJob";

/** A local backend for one test, and its cleanup. */
export interface LocalBackend {
  server: LocalServer;
  stop(): Promise<void>;
}

/** Starts the real local server over a fresh state folder. */
export async function startLocalBackend(faults: FaultRule[] = []): Promise<LocalBackend> {
  const stateDir = mkdtempSync(join(tmpdir(), "tuning-job-test-"));
  const server = await startServer({ stateDir, repoRoot: REPO_ROOT, faults, pollMs: 50, graceMs: 500 });
  return {
    server,
    async stop() {
      await server.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The provider inputs for a job on the given local server. */
export function testInputs(server: LocalServer, job: VertexJob, identity = "test-identity", extra: Partial<TuningJobInputs> = {}): TuningJobInputs {
  return {
    project: "p",
    location: "us-central1",
    job,
    backend: "local",
    apiEndpoint: server.url,
    localStateDir: server.stateDir,
    identity,
    specHash: specHash(job),
    ...extra,
  };
}

/**
 * The inputs the resource class gives the provider on the local backend: no API root, the path
 * of `local/embedded.ts`, and the state folder. The provider finds the running test server
 * through `<state>/server.json`, as it finds `tune serve`'s.
 */
export function embeddedInputs(server: LocalServer, job: VertexJob, identity: string): TuningJobInputs {
  const { apiEndpoint: _none, ...inputs } = testInputs(server, job, identity);
  return { ...inputs, localRepoRoot: REPO_ROOT, localBackendModule: join(REPO_ROOT, "local", "embedded.ts") };
}

/**
 * A clock for tests: its time jumps by what is slept, while the real wait is a sliver of it,
 * so a poll interval of a minute costs milliseconds and the local server still makes progress.
 */
export function fastClock(realFraction = 1 / 200): Clock & { elapsedMs(): number } {
  const start = Date.now();
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    async sleep(ms) {
      const real = Math.min(ms, Math.max(5, ms * realFraction));
      offset += ms - real;
      await new Promise((r) => setTimeout(r, real));
    },
    elapsedMs: () => Date.now() + offset - start,
  };
}

/** A Vertex client on the test server (the tests' own view of what exists), or through a proxy at `apiEndpoint`. */
export function testClient(server: LocalServer, clock: Clock = fastClock(), apiEndpoint = server.url): VertexClient {
  return createVertexClient({ project: "p", location: "us-central1", apiEndpoint, token: server.token, clock });
}

/** The requests of the log that match a method and a path pattern. */
export function requests(server: LocalServer, method: string, path: RegExp): RequestLogEntry[] {
  return server.requestLog.filter((r) => r.method === method && path.test(r.path));
}

/** Paths of the API (a fault rule sees the query too), for fault rules and request counts. */
export const PATHS = {
  collection: /\/hyperparameterTuningJobs(\?.*)?$/,
  job: /\/hyperparameterTuningJobs\/\d+(\?.*)?$/,
  cancel: /:cancel$/,
  operation: /\/operations\//,
};

/**
 * Checks the outputs' best trial against their trials: one of the trials that succeeded, with its
 * parameters and final measurement (which holds its metric value), and no succeeded trial better
 * toward the study's goal. Checking only that it is there passed another trial's, or the worst.
 */
export function expectBestTrial(outs: Pick<TuningJobOutputs, "job" | "trials" | "bestTrial">): void {
  const { metricId, goal } = outs.job.studySpec!.metrics![0]!;
  const succeeded = outs.trials.filter((t) => t.state === "SUCCEEDED");
  const best = outs.bestTrial;
  const trial = succeeded.find((t) => t.id === best?.id);
  expect(trial, `best trial ${best?.id} among the succeeded trials ${succeeded.map((t) => t.id).join(", ")}`).toBeDefined();
  expect(best).toMatchObject({ parameters: trial!.parameters, metricValue: trial!.metricValue, finalMeasurement: trial!.finalMeasurement });
  expect(best!.finalMeasurement.metrics).toEqual([{ metricId, value: best!.metricValue }]);
  const sign = goal === "MINIMIZE" ? -1 : 1;
  for (const t of succeeded) expect(sign * t.metricValue!, `trial ${t.id}'s ${metricId} beats the best trial's`).toBeLessThanOrEqual(sign * best!.metricValue);
}

/** Runs `promise` and returns what it threw (fails the test when it did not throw). */
export async function thrown<T = Error & Record<string, unknown>>(promise: Promise<unknown>): Promise<T> {
  try {
    await promise;
  } catch (error) {
    return error as T;
  }
  throw new Error("expected a failure, but the call succeeded");
}

/** A loopback proxy in front of a test server; see `startProxy`. */
export interface TestProxy {
  /** Root URL for clients. */
  url: string;
  /** Stops listening and drops its connections: a client's next connection is refused (ECONNREFUSED). */
  refuse(): Promise<void>;
  /** Listens again on the same port (if it does not). */
  accept(): Promise<void>;
  close(): Promise<void>;
}

/**
 * An HTTP proxy on loopback that passes every request to `server` and its answer back, after
 * `rewrite` has seen each job in it (a get's, or a list's): what a state the local backend never
 * reports (JOB_STATE_PAUSED, JOB_STATE_UPDATING) does to a client.
 */
export async function startProxy(server: LocalServer, rewrite: (job: VertexJob) => void = () => {}): Promise<TestProxy> {
  const target = new URL(server.url);
  const proxy = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on("data", (chunk: Buffer) => body.push(chunk));
    req.on("end", () => {
      const headers = { ...req.headers, host: target.host };
      const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("end", () => {
          let text = Buffer.concat(chunks).toString("utf8");
          try {
            const data = JSON.parse(text) as VertexJob & { hyperparameterTuningJobs?: VertexJob[] };
            for (const job of [data, ...(data.hyperparameterTuningJobs ?? [])]) if (job.state) rewrite(job);
            text = JSON.stringify(data);
          } catch {
            // Not JSON: passed as it came.
          }
          res.writeHead(answer.statusCode ?? 502, { "content-type": answer.headers["content-type"] ?? "application/json" }).end(text);
        });
      });
      upstream.end(Buffer.concat(body));
    });
  });
  const listen = (port: number) => new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
  await listen(0);
  const port = (proxy.address() as AddressInfo).port;
  const refuse = async () => {
    if (!proxy.listening) return;
    await new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      proxy.closeAllConnections();
    });
    // A moment for clients to see their kept-alive connections closed: a request sent on one
    // would fail with ECONNRESET, not be refused.
    await new Promise((resolve) => setTimeout(resolve, 50));
  };
  return { url: `http://127.0.0.1:${port}/`, refuse, accept: async () => void (proxy.listening || (await listen(port))), close: refuse };
}
