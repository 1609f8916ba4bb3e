/**
 * What the resource reports about a job: its outputs (state, trials, best trial, console link)
 * and, when it ended badly, the reason said for a person.
 */
import { bestTrial, finalValue } from "../spec/bestTrial";
import { plainText } from "../spec/printable";
import { wasInterrupted } from "../spec/trials";
import type { VertexJob, VertexTrial } from "../spec/vertexJson";
import type { TrialCounts, TrialSummary, TuningJobInputs, TuningJobOutputs } from "../tuningJobTypes";

/** States in which a job will change no more. */
export const TERMINAL_STATES = ["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED", "JOB_STATE_PARTIALLY_SUCCEEDED"];
/**
 * States of a job that is (or will be) running trials: the ones worth adopting or cancelling.
 * PAUSED and UPDATING (Vertex's JobState) are live too: a job left out here was neither adopted
 * (a second one was created) nor cancelled as an orphan (it was left running). CANCELLING is not:
 * it is ending.
 */
export const ACTIVE_STATES = ["JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_PAUSED", "JOB_STATE_UPDATING"];

/** True when the job will not change any more. */
export function isTerminal(job: VertexJob): boolean {
  return TERMINAL_STATES.includes(job.state ?? "");
}

/** The job's id: the last segment of its resource name. */
export function jobId(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

/** The job's page in the Google Cloud console; empty on the local backend, which has none. */
export function consoleUrl(inputs: TuningJobInputs, name: string): string {
  if (inputs.backend === "local") return "";
  return `https://console.cloud.google.com/vertex-ai/locations/${inputs.location}/training/${jobId(name)}/cpu?project=${inputs.project}`;
}

/** The resource's outputs for a job as last read. Plain JSON: no undefined anywhere (outputs travel as a protobuf Struct). */
export function toOutputs(inputs: TuningJobInputs, job: VertexJob): TuningJobOutputs {
  const name = job.name ?? "";
  const outputs: TuningJobOutputs = {
    ...inputs,
    name,
    state: job.state ?? "JOB_STATE_UNSPECIFIED",
    createTime: job.createTime ?? undefined,
    endTime: job.endTime ?? undefined,
    error: failureReason(job),
    trialCounts: countTrials(job.trials ?? []),
    trials: (job.trials ?? []).map((t) => summarize(t, metricId(job))),
    bestTrial: bestTrial(job),
    consoleUrl: consoleUrl(inputs, name),
  };
  return JSON.parse(JSON.stringify(outputs)) as TuningJobOutputs;
}

function metricId(job: VertexJob): string {
  return job.studySpec?.metrics?.[0]?.metricId ?? "";
}

function countTrials(trials: VertexTrial[]): TrialCounts {
  const count = (state: string) => trials.filter((t) => t.state === state).length;
  return {
    total: trials.length,
    succeeded: count("SUCCEEDED"),
    infeasible: count("INFEASIBLE"),
    active: count("ACTIVE"),
    stopping: count("STOPPING"),
    requested: count("REQUESTED"),
  };
}

function summarize(trial: VertexTrial, metric: string): TrialSummary {
  const parameters: Record<string, number | string> = {};
  for (const p of trial.parameters ?? []) {
    if (p.parameterId) parameters[p.parameterId] = p.value as number | string;
  }
  return {
    id: trial.id ?? "",
    state: trial.state ?? "STATE_UNSPECIFIED",
    parameters,
    metricValue: finalValue(trial, metric),
    finalMeasurement: trial.finalMeasurement ?? undefined,
    infeasibleReason: trial.infeasibleReason ?? undefined,
    startTime: trial.startTime ?? undefined,
    endTime: trial.endTime ?? undefined,
  };
}

/**
 * Why a finished job is not a success, or undefined when it is one (or still running): the
 * job's error and the first trials' infeasible reasons for FAILED; the cause for CANCELLED and
 * EXPIRED; and a SUCCEEDED study without a single successful trial, which has no best trial.
 * As plain text: a trial's reason quotes its trainer's stderr, whose colour codes and carriage
 * returns reached `pulumi up`'s error (and the terminal) raw.
 */
export function failureReason(job: VertexJob): string | undefined {
  const reason = rawFailureReason(job);
  return reason === undefined ? undefined : plainText(reason);
}

function rawFailureReason(job: VertexJob): string | undefined {
  // Reasons the job's own error already quotes (the local backend's does) are not repeated. A
  // trial a restart of the local backend interrupted is no cause: its rerun is the one that
  // counts (endedTrialCount), and its reason, quoted, read as if the restart had failed the job.
  const reasons = (job.trials ?? [])
    .filter((t) => t.state === "INFEASIBLE" && t.infeasibleReason && !wasInterrupted(t))
    .slice(0, 3)
    .map((t) => `trial ${t.id}: ${t.infeasibleReason}`)
    .filter((reason) => !job.error?.message?.includes(reason));
  const withTrials = (text: string) => (reasons.length > 0 ? `${text}; ${reasons.join("; ")}` : text);
  switch (job.state) {
    case "JOB_STATE_FAILED":
      return withTrials(`the job failed: ${job.error?.message ?? "no error message"}`);
    case "JOB_STATE_CANCELLED":
      return withTrials(`the job was cancelled${job.error?.message ? `: ${job.error.message}` : " (by a user or another tool)"}`);
    case "JOB_STATE_EXPIRED":
      return withTrials("the job expired before it could run");
    case "JOB_STATE_SUCCEEDED":
    case "JOB_STATE_PARTIALLY_SUCCEEDED":
      if (bestTrial(job)) return undefined;
      return withTrials(`the study ended without a successful trial reporting the metric ${JSON.stringify(metricId(job))}, so there is no best trial`);
    default:
      return undefined;
  }
}
