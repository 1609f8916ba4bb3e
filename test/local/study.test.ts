/**
 * Study-level behaviour with real trial processes: early stopping cuts slow learning curves
 * (median and decay-curve rules), and a grid that runs out ends the job SUCCEEDED early.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VertexJob } from "../../components/spec";
import { startServer, type LocalServer } from "../../local/server";
import { client, maxOverlap, REPO_ROOT, tempDir, testJob } from "./helpers";

let server: LocalServer;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  server = await startServer({ stateDir: tempDir(), repoRoot: REPO_ROOT, pollMs: 50, graceMs: 300 });
  api = client(server);
});
afterAll(() => server.close());

async function run(job: VertexJob): Promise<VertexJob> {
  const created = await api.create(job);
  expect(created.status).toBe(200);
  return api.waitFor(created.body.name.split("/").pop(), undefined, 60_000);
}

/** Three good curves first (grid order), then two that plateau far lower. */
function curvesJob(stopping: Partial<NonNullable<VertexJob["studySpec"]>>, log: string): VertexJob {
  return testJob([`--log=${log}`, "--steps=8", "--sleep=0.1", "--tau=2"], { maxTrialCount: 5, parallelTrialCount: 1 }, {
    algorithm: "GRID_SEARCH",
    parameters: [{ parameterId: "x", categoricalValueSpec: { values: ["0.9", "0.85", "0.8", "0.1", "0.2"] } }],
    ...stopping,
  });
}

type Trial = NonNullable<VertexJob["trials"]>[number] & { earlyStopped?: boolean };

describe("early stopping", () => {
  it("median rule: stops the poor curves once 3 trials completed, as SUCCEEDED with their measurements", async () => {
    const log = join(tempDir(), "overlap.log");
    const job = await run(curvesJob({ medianAutomatedStoppingSpec: { useElapsedDuration: false } }, log));
    expect(job.state).toBe("JOB_STATE_SUCCEEDED");
    const trials = job.trials as Trial[];
    expect(trials.map((t) => t.parameters![0].value)).toEqual(["0.9", "0.85", "0.8", "0.1", "0.2"]);
    for (const t of trials.slice(0, 3)) {
      expect(t.earlyStopped).toBeUndefined();
      expect(t.measurements).toHaveLength(8);
    }
    for (const t of trials.slice(3)) {
      expect(t.state).toBe("SUCCEEDED");
      expect(t.earlyStopped).toBe(true);
      expect(t.measurements!.length).toBeGreaterThanOrEqual(2);
      expect(t.measurements!.length).toBeLessThan(8);
      expect(t.finalMeasurement).toEqual(t.measurements![t.measurements!.length - 1]);
    }
    expect(maxOverlap(log)).toBe(1);
  });

  it("decay-curve rule: stops a curve whose fitted plateau cannot reach the best trial", async () => {
    const job = await run(curvesJob({ decayCurveStoppingSpec: { useElapsedDuration: false } }, join(tempDir(), "overlap.log")));
    expect(job.state).toBe("JOB_STATE_SUCCEEDED");
    const trials = job.trials as Trial[];
    expect(trials.map((t) => t.parameters![0].value)).toEqual(["0.9", "0.85", "0.8", "0.1", "0.2"]);
    expect(trials.slice(0, 3).every((t) => !t.earlyStopped && t.measurements!.length === 8)).toBe(true);
    for (const t of trials.slice(3)) {
      expect(t.earlyStopped).toBe(true);
      expect(t.measurements!.length).toBeGreaterThanOrEqual(3);
      expect(t.measurements!.length).toBeLessThan(8);
    }
  });

  it("shows a trial a rule stopped as STOPPING, as Vertex does, until its process ends, then SUCCEEDED", async () => {
    // A trainer that keeps running on SIGTERM (it saves a checkpoint first): killed after the grace period.
    const slow = await startServer({ stateDir: tempDir(), repoRoot: REPO_ROOT, pollMs: 50, graceMs: 2000 });
    try {
      const api = client(slow);
      const saving = curvesJob({ medianAutomatedStoppingSpec: { useElapsedDuration: false } }, join(tempDir(), "overlap.log"));
      saving.trialJobSpec!.workerPoolSpecs![0].containerSpec!.args!.push("--term=count");
      const created = await api.create(saving);
      const id = created.body.name.split("/").pop();
      const stopping = await api.waitFor(id, (j) => (j.trials ?? []).some((t) => t.state === "STOPPING"), 60_000);
      const trial = stopping.trials!.find((t) => t.state === "STOPPING")!;
      expect(["4", "5"]).toContain(trial.id);
      expect(trial.endTime).toBeUndefined();
      const job = await api.waitFor(id, undefined, 60_000);
      expect(job.trials!.find((t) => t.id === trial.id)).toMatchObject({ state: "SUCCEEDED", earlyStopped: true });
    } finally {
      await slow.close();
    }
  });

  it("fails a trial that reported NaN though a rule stopped it first, as it fails at its end", async () => {
    // The two poor curves (0.1, 0.2) report NaN at step 2, then on: the median rule stops them.
    const job = await run(testJob(["--steps=8", "--sleep=0.1", "--tau=2", "--nan-below=0.5"], { maxTrialCount: 5, parallelTrialCount: 1 }, {
      algorithm: "GRID_SEARCH",
      parameters: [{ parameterId: "x", categoricalValueSpec: { values: ["0.9", "0.85", "0.8", "0.1", "0.2"] } }],
      medianAutomatedStoppingSpec: { useElapsedDuration: false },
    }));
    const trials = job.trials as Trial[];
    expect(trials.map((t) => t.parameters![0].value)).toEqual(["0.9", "0.85", "0.8", "0.1", "0.2"]);
    expect(trials.slice(0, 3).every((t) => t.state === "SUCCEEDED")).toBe(true);
    for (const t of trials.slice(3)) {
      expect(t.measurements!.length).toBeLessThan(7); // stopped early: 7 finite reports make a full run
      expect(t).toMatchObject({ state: "INFEASIBLE", infeasibleReason: 'the trial reported NaN for the metric "accuracy" at step 2' });
    }
  });

  it("leaves every trial alone without a stopping spec", async () => {
    const job = await run(curvesJob({}, join(tempDir(), "overlap.log")));
    expect(job.trials).toHaveLength(5);
    expect((job.trials as Trial[]).every((t) => !t.earlyStopped && t.measurements!.length === 8)).toBe(true);
  });
});

describe("grid search", () => {
  it("ends SUCCEEDED with fewer trials when the grid is exhausted, last parameter fastest", async () => {
    const job = await run(testJob(["--steps=1", "--sleep=0"], { maxTrialCount: 10, parallelTrialCount: 2 }, {
      algorithm: "GRID_SEARCH",
      parameters: [
        { parameterId: "x", discreteValueSpec: { values: [0.2, 0.4] } },
        { parameterId: "tau", integerValueSpec: { minValue: "1", maxValue: "2" } },
      ],
    }));
    expect(job.state).toBe("JOB_STATE_SUCCEEDED");
    expect(job.trials!.map((t) => t.parameters!.map((p) => p.value))).toEqual([[0.2, 1], [0.2, 2], [0.4, 1], [0.4, 2]]);
  });
});
