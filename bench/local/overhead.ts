/**
 * The local backend's own cost per trial, against the raw cost of spawning the same process.
 *
 *   npx tsx bench/local/overhead.ts [trials=30]
 *
 * The trainer does nothing but write one hypertune line (a shell one-liner), trials run one at
 * a time, so the job's wall time per trial = the process's own cost + the backend's. Reported:
 * - raw: spawn → exit of the same command from Node, sequentially, no backend;
 * - per trial: the job's wall time (create → last trial's end) / trials;
 * - span: a trial's start → end as the journal records them (intent fsync, spawn, pid fsync,
 *   the process, exit, last metrics read, measurement and end fsyncs);
 * - gap: one trial's end → the next trial's start (the scheduler's decision, the optimizer's
 *   suggestion);
 * - overhead: per trial − raw.
 * Once with RANDOM_SEARCH (the backend's machinery alone) and once with the default Bayesian
 * optimizer (whose suggestion cost grows with the number of completed trials).
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VertexJob } from "../../components/spec";
import { startServer } from "../../local/server";

const TRIALS = Number(process.argv[2] ?? 30);
const REPORT = `echo "{\\"accuracy\\": \\"0.5\\", \\"global_step\\": \\"1\\", \\"timestamp\\": $(date +%s), \\"trial\\": \\"$CLOUD_ML_TRIAL_ID\\"}" > "$CLOUD_ML_HP_METRIC_FILE"`;
const COMMAND = ["/bin/sh", "-c", REPORT];

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `mean ${mean.toFixed(1)} ms, median ${p(0.5).toFixed(1)} ms, p90 ${p(0.9).toFixed(1)} ms`;
}

async function rawSpawns(n: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), "bench-raw-"));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(COMMAND[0], COMMAND.slice(1), {
        detached: true,
        stdio: "ignore",
        env: { ...process.env, CLOUD_ML_HP_METRIC_FILE: join(dir, `m${i}`), CLOUD_ML_TRIAL_ID: String(i) },
      });
      child.on("exit", () => resolve());
      child.on("error", reject);
    });
    times.push(performance.now() - started);
  }
  return times;
}

async function backendRun(algorithm: string): Promise<{ perTrial: number; gaps: number[]; spans: number[] }> {
  const server = await startServer({ stateDir: mkdtempSync(join(tmpdir(), "bench-state-")), repoRoot: process.cwd() });
  const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json" };
  const base = `${server.url}v1/projects/p/locations/l/hyperparameterTuningJobs`;
  const job: VertexJob = {
    displayName: "overhead",
    maxTrialCount: TRIALS,
    parallelTrialCount: 1,
    studySpec: {
      metrics: [{ metricId: "accuracy", goal: "MAXIMIZE" }],
      parameters: [
        { parameterId: "x", doubleValueSpec: { minValue: 0, maxValue: 1 }, scaleType: "UNIT_LINEAR_SCALE" },
        { parameterId: "y", doubleValueSpec: { minValue: 0, maxValue: 1 }, scaleType: "UNIT_LINEAR_SCALE" },
      ],
      algorithm,
    },
    trialJobSpec: { workerPoolSpecs: [{ machineSpec: { machineType: "n1-standard-4" }, replicaCount: "1", containerSpec: { imageUri: "none", command: COMMAND } }] },
  };
  const created = (await (await fetch(base, { method: "POST", headers, body: JSON.stringify(job) })).json()) as VertexJob;
  let done: VertexJob;
  for (;;) {
    done = (await (await fetch(`${base}/${created.name!.split("/").pop()}`, { headers })).json()) as VertexJob;
    if (done.state !== "JOB_STATE_RUNNING" && done.state !== "JOB_STATE_PENDING") break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const wall = Date.parse(done.trials![done.trials!.length - 1].endTime!) - Date.parse(done.createTime!);
  await server.close();
  if (done.state !== "JOB_STATE_SUCCEEDED") throw new Error(`the job ended ${done.state}: ${JSON.stringify(done.error)}`);
  const trials = done.trials!;
  const gaps = trials.slice(1).map((t, i) => Date.parse(t.startTime!) - Date.parse(trials[i].endTime!));
  const spans = trials.map((t) => Date.parse(t.endTime!) - Date.parse(t.startTime!));
  return { perTrial: wall / trials.length, gaps, spans };
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${TRIALS} trials, one at a time, trainer: /bin/sh -c '<write one hypertune line>'`);
  const raw = await rawSpawns(TRIALS);
  const rawMean = raw.reduce((s, v) => s + v, 0) / raw.length;
  console.log(`raw spawn → exit (no backend):        ${stats(raw)}`);
  for (const algorithm of ["RANDOM_SEARCH", "ALGORITHM_UNSPECIFIED"]) {
    const { perTrial, gaps, spans } = await backendRun(algorithm);
    console.log(`${algorithm}: per trial ${perTrial.toFixed(1)} ms, overhead ${(perTrial - rawMean).toFixed(1)} ms`);
    console.log(`  trial start → end (journal): ${stats(spans)}`);
    console.log(`  trial end → next start:      ${stats(gaps)}`);
  }
}

void main();
