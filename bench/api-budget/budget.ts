/**
 * The API budget of one tuning job: how many requests the `HyperparameterTuningJob` provider
 * sends while `pulumi up` waits for a job that runs two hours. Counted at the real local
 * backend's HTTP server (`requestLog`), with the provider on a simulated clock: sleeping a
 * minute costs 50 ms of real time, and the job's only trial waits for a file that the clock
 * creates when two simulated hours have passed.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { makeTuningJobProvider } from "../../components/tuningJob";
import { specHash } from "../../components/spec";
import type { Clock } from "../../components/vertex/clock";
import { startServer } from "../../local/server";
import { testJob } from "../../test/provider/testJob";

/** What one measurement found. */
export interface ApiBudget {
  /** Simulated hours the job ran before its trial could finish. */
  simulatedHours: number;
  /** Requests from create through the end of the wait. */
  requests: number;
  /** The same, by method and route. */
  byRoute: Record<string, number>;
  /** Requests of destroying the finished job (cancel check, delete, operation). */
  destroyRequests: number;
  /** Real time the measurement took, seconds. */
  realSeconds: number;
}

const REPO_ROOT = resolve(__dirname, "../..");
/** Real milliseconds per simulated millisecond. */
const REAL_PER_SIMULATED = 50 / 60_000;

/** A simulated clock that runs `onTime` once its time has advanced by `afterMs`. */
function simulatedClock(afterMs: number, onTime: () => void): Clock {
  const start = Date.now();
  let offset = 0;
  let fired = false;
  return {
    now: () => start + offset,
    async sleep(ms) {
      offset += ms;
      if (!fired && offset >= afterMs) {
        fired = true;
        onTime();
      }
      await new Promise((r) => setTimeout(r, ms * REAL_PER_SIMULATED));
    },
  };
}

/** Measures the requests of a job that runs `hours` simulated hours. */
export async function measureApiBudget(hours = 2): Promise<ApiBudget> {
  const started = Date.now();
  const stateDir = mkdtempSync(join(tmpdir(), "api-budget-"));
  const server = await startServer({ stateDir, repoRoot: REPO_ROOT });
  try {
    const release = join(stateDir, "release");
    const clock = simulatedClock(hours * 3_600_000, () => writeFileSync(release, ""));
    const provider = makeTuningJobProvider({ clock, log: () => {} });
    const spec = testJob({ displayName: "api-budget", maxTrialCount: 1, env: { TRAINER_WAIT_FOR_FILE: release } });
    const inputs = { project: "p", location: "us-central1", job: spec, backend: "local" as const, apiEndpoint: server.url, localStateDir: stateDir, identity: "api-budget", specHash: specHash(spec) };
    const { id, outs } = await provider.create(inputs);
    if (outs.state !== "JOB_STATE_SUCCEEDED") throw new Error(`the job ended ${outs.state}`);
    const requests = server.requestLog.length;
    const byRoute: Record<string, number> = {};
    for (const r of server.requestLog) {
      const route = `${r.method} ${r.path.replace(/\/\d+(?=$|:|\/)/g, "/{id}").replace(/^\/v1\/projects\/[^/]+\/locations\/[^/]+/, "")}`;
      byRoute[route] = (byRoute[route] ?? 0) + 1;
    }
    await provider.delete(id, outs);
    return { simulatedHours: hours, requests, byRoute, destroyRequests: server.requestLog.length - requests, realSeconds: (Date.now() - started) / 1000 };
  } finally {
    await server.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
