/**
 * Progress of a running study: one plain line per finished trial (id, parameters, value, state),
 * and on a terminal a bar under them (trials done/total, best so far) redrawn in place.
 */
import { join } from "node:path";
import { bestTrial, endedTrialCount, finalValue, hasEnded, printable, reasonLine, type BestTrial, type VertexJob, type VertexTrial } from "../components/spec";
import { localGcsPath } from "../local/command";

/** Where progress goes. */
export interface ProgressOutput {
  write(text: string): void;
  /** Draw the in-place bar (a TTY). */
  tty: boolean;
  /** Columns of the terminal (bar width). */
  columns?: number;
}

/**
 * A parameter's value for people, numbers as formatMetric writes them less trailing zeros:
 * rounding every number to four significant digits showed an integer of 10,000 or more as one
 * the study never tried (12345 and 12346 both as 12350). The trial lines and the best trial's
 * line both use it: the best trial written exactly under its own rounded line read as another
 * trial's values (exact values are in result.json).
 */
function parameterValue(value: unknown): string {
  return String(typeof value === "number" ? Number(formatMetric(value)) : value);
}

/** Parameters as `id=value`, separated by spaces: a trial's, and the best trial's. */
function parameterText(parameters: [string | null | undefined, unknown][]): string {
  return parameters.map(([id, value]) => `${id}=${parameterValue(value)}`).join(" ");
}

/** The id of the study's metric, as the lines name it ("metric" for a job that names none). */
export function metricIdOf(job: VertexJob): string {
  return job.studySpec?.metrics?.[0]?.metricId ?? "metric";
}

/**
 * A metric value for people: four significant digits, so a loss of 0.00012 is not shown as
 * 0.0000 (an accuracy such as 0.9622 reads as before), and 0.99996 as 1.000, not 1; from 10,000
 * up, the whole number (toPrecision would write 1.235e+4).
 */
export function formatMetric(value: number): string {
  return Math.abs(value) >= 1e4 ? value.toFixed(0) : value.toPrecision(4);
}

/** One line for a finished trial. */
export function trialLine(trial: VertexTrial & { earlyStopped?: boolean }, metricId: string): string {
  const value = finalValue(trial, metricId);
  const outcome = trial.state === "SUCCEEDED" ? `${metricId}=${value === undefined ? "?" : formatMetric(value)}${trial.earlyStopped ? " (stopped early)" : ""}` : `(${reasonLine(trial.infeasibleReason)})`;
  return printable(`trial ${trial.id} ${trial.state} ${outcome}  ${parameterText((trial.parameters ?? []).map((p) => [p.parameterId, p.value]))}`);
}

/** Whether a trial's process runs: ACTIVE, or STOPPING (early stopping asked it to end, and it has not yet). */
export function isRunning(trial: VertexTrial): boolean {
  return trial.state === "ACTIVE" || trial.state === "STOPPING";
}

/** The best trial's line: its id, value and parameters, written as the trial lines write them. */
export function bestLine(best: BestTrial, metricId: string): string {
  return printable(`best trial ${best.id}: ${metricId} ${formatMetric(best.metricValue)}  ${parameterText(Object.entries(best.parameters))}`);
}

/**
 * Where a local job's trials keep their files: the end of `tune run` and `tune status JOB` named
 * the best trial and the result files, but not the folders that hold its model and every trial's
 * logs (a failed trial's whole stderr), which only the README told. A job that sets
 * `baseOutputDirectory` (one created through the API with that field) has its trials' models under
 * that prefix's local folder, not beside their logs: the line names both folders then.
 */
export function trialFilesLine(stateDir: string, job: VertexJob): string {
  const trials = `${join(stateDir, "jobs", job.name!.split("/").pop()!, "trials")}/<trial id>/`;
  const base = job.trialJobSpec?.baseOutputDirectory?.outputUriPrefix;
  if (!base) return `trial files: ${trials} (model/, stdout.log, stderr.log, trial.log)`;
  return `trial files: ${trials} (stdout.log, stderr.log, trial.log); models: ${join(localGcsPath(stateDir, base), "<trial id>", "model")}/`;
}

/**
 * What `tune run` reads of a polled job, as Google's `fields` selector: `update` and the wait loop
 * (its state, trials and metric), and the report rewritten as trials end (`renderReport`: the
 * job's names, error and parameter specs too). Only trials' intermediate measurements and the
 * job's trial spec are left out: `tune` polls every 500 ms, and the whole job of a study of 2,000
 * trials of 100 measurements is some 20 MB. `earlyStopped` is the local backend's own field
 * (tune runs there only).
 */
export const POLL_FIELDS =
  "name,displayName,state,error,maxTrialCount,studySpec(metrics,parameters),trials(id,state,parameters,finalMeasurement,endTime,infeasibleReason,earlyStopped)";

/** A progress view; `update` with each polled job (at least POLL_FIELDS of it), `finish` once it ends. */
export function createProgress(out: ProgressOutput): { update(job: VertexJob): void; finish(): void } {
  const printed = new Set<string>();
  let bar = "";
  const clearBar = () => {
    if (bar) out.write("\r\x1b[K");
    bar = "";
  };
  return {
    update(job) {
      const metricId = metricIdOf(job);
      const trials = job.trials ?? [];
      const finished = trials.filter(hasEnded);
      const fresh = finished.filter((t) => !printed.has(t.id ?? ""));
      if (fresh.length) clearBar();
      for (const t of fresh) {
        printed.add(t.id ?? "");
        out.write(`${trialLine(t, metricId)}\n`);
      }
      if (!out.tty) return;
      const total = job.maxTrialCount ?? trials.length;
      const counted = endedTrialCount(trials);
      const columns = out.columns ?? 80;
      const width = Math.max(10, Math.min(30, columns - 60));
      const filled = Math.round((width * Math.min(counted, total)) / Math.max(total, 1));
      const best = bestTrial(job);
      const running = trials.filter(isRunning).length;
      // Cut to the terminal's width: a bar that wraps is cleared only on its last row by "\r\x1b[K",
      // so each redraw (every poll) would leave a row behind (a narrow pane, a long metric id).
      const text = printable(`[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${counted}/${total} trials · ${running} running` +
        (best ? ` · best ${metricId} ${formatMetric(best.metricValue)} (trial ${best.id})` : "")).slice(0, Math.max(1, columns - 1));
      out.write(`\r\x1b[K${text}`);
      bar = text;
    },
    finish() {
      clearBar();
    },
  };
}
