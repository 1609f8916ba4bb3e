/**
 * The best trial of a job. The Vertex API has no such call, so it is chosen here, one way for
 * every backend: SUCCEEDED trials with a final measurement of the study's metric, the max or
 * min by the goal, ties to the earliest end time.
 */
import type { VertexJob, VertexTrial } from "./vertexJson";

/** The best trial in the shape stack outputs carry. */
export interface BestTrial {
  /** Trial id (also the trial's folder under the job's output directory). */
  id: string;
  /** Parameters by id: numbers for DOUBLE, INTEGER, DISCRETE; strings for CATEGORICAL. */
  parameters: Record<string, number | string>;
  /** The final value of the study's metric. */
  metricValue: number;
  /** The whole final measurement as Vertex reports it. */
  finalMeasurement: NonNullable<VertexTrial["finalMeasurement"]>;
  /** When the trial ended (RFC 3339). */
  endTime?: string;
}

/** The objective value of a trial's final measurement, or undefined when it has none. */
export function finalValue(trial: VertexTrial, metricId: string): number | undefined {
  const metric = trial.finalMeasurement?.metrics?.find((m) => m.metricId === metricId);
  return typeof metric?.value === "number" && Number.isFinite(metric.value) ? metric.value : undefined;
}

/** Picks the best trial of a job, or undefined when no trial succeeded with a value. */
export function bestTrial(job: VertexJob): BestTrial | undefined {
  const metric = job.studySpec?.metrics?.[0];
  if (!metric?.metricId) return undefined;
  const sign = metric.goal === "MINIMIZE" ? -1 : 1;
  let best: { trial: VertexTrial; value: number } | undefined;
  for (const trial of job.trials ?? []) {
    if (trial.state !== "SUCCEEDED") continue;
    const value = finalValue(trial, metric.metricId);
    if (value === undefined) continue;
    if (!best || sign * value > sign * best.value || (value === best.value && endsEarlier(trial, best.trial))) {
      best = { trial, value };
    }
  }
  if (!best) return undefined;
  const parameters: Record<string, number | string> = {};
  for (const p of best.trial.parameters ?? []) {
    if (p.parameterId) parameters[p.parameterId] = p.value as number | string;
  }
  return {
    id: best.trial.id ?? "",
    parameters,
    metricValue: best.value,
    finalMeasurement: best.trial.finalMeasurement!,
    endTime: best.trial.endTime ?? undefined,
  };
}

function endsEarlier(a: VertexTrial, b: VertexTrial): boolean {
  return Date.parse(a.endTime ?? "") < Date.parse(b.endTime ?? "");
}

/** The model directory Vertex gives a trial: `<base>/<trialId>/model/` (AIP_MODEL_DIR). */
export function trialModelDir(baseOutputDirectory: string, trialId: string): string {
  return `${baseOutputDirectory.replace(/\/+$/, "")}/${trialId}/model/`;
}
