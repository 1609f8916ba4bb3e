/**
 * A job's trials as a person counts them against its maxTrialCount, one way for the provider's
 * progress lines, `tune run`'s bar and `tune status`.
 */
import type { VertexTrial } from "./vertexJson";

/**
 * The reason the local backend gives a trial its restart interrupted (INFEASIBLE): its
 * parameters run again as a new trial, which is the one that counts.
 */
export const INTERRUPTED_REASON = "interrupted by a restart of the local backend";

/** Whether a trial has ended with its outcome: SUCCEEDED or INFEASIBLE. */
export function hasEnded(trial: VertexTrial): boolean {
  return trial.state === "SUCCEEDED" || trial.state === "INFEASIBLE";
}

/** Whether a restart of the local backend interrupted the trial: its rerun is the one that counts. */
export function wasInterrupted(trial: VertexTrial): boolean {
  return trial.infeasibleReason === INTERRUPTED_REASON;
}

/**
 * How many trials have ended toward the study's maxTrialCount: not one a restart of the local
 * backend interrupted, counted in its rerun (counted twice, a study of 4 read "5 of 4").
 */
export function endedTrialCount(trials: VertexTrial[]): number {
  return trials.filter((t) => hasEnded(t) && !wasInterrupted(t)).length;
}
