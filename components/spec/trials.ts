/**
 * A job's trials as a person counts them against its maxTrialCount, and a job's text as a line
 * shows it, one way for the provider's progress lines, `tune run`'s bar and `tune status`.
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

/**
 * Text of a job (its display name, metric id, a CATEGORICAL value: any string the study gave) as
 * a line shows it: each control character as `\u` and its four hex digits (ESC as \u001b, a
 * carriage return as \u000d), every other character as it is, any script's. Printed raw, an
 * escape sequence in a display name rewrote the terminal, and a `\r` or `\n` forged a line of its
 * own (a trial line that no trial wrote). Unlike `tune`'s plainText, which shows a trainer's
 * output as its terminal did, a name is shown as it is spelled.
 */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
