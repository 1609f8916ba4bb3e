/**
 * The pure study model: definitions, their Vertex JSON, validation, hashes and the best trial.
 * Nothing here does I/O; every backend and every entry point (component, provider, local
 * server, `tune`) shares it.
 */
export * from "./model";
export * from "./vertexJson";
export * from "./validate";
export * from "./argPaths";
export * from "./bestTrial";
export * from "./hash";
export * from "./config";

import type { StudyDefinition, TrainerDefinition } from "./model";
import { toArgPath } from "./argPaths";
import { definitionNameIssues, toVertexJob, type JobContext, type VertexJob } from "./vertexJson";
import { validateJob, type Issue } from "./validate";

/** Issues of the trainer choice, which has no single Vertex field of its own. */
export function validateTrainer(trainer: TrainerDefinition): Issue[] {
  const given = (["source", "imageUri", "pythonPackage"] as const).filter((k) => trainer[k] !== undefined);
  const issues: Issue[] = [];
  if (given.length > 1) issues.push({ path: "trainer", message: `give exactly one of source, imageUri, pythonPackage (got ${given.join(", ")})` });
  if (trainer.command !== undefined && trainer.imageUri === undefined) {
    issues.push({ path: "trainer.command", message: "command overrides an image's entrypoint: it needs imageUri" });
  }
  return issues;
}

/**
 * Maps a study to its Vertex JSON and validates it, with every issue's path translated back to
 * the argument the user wrote (`study.parameters[1].min`).
 */
export function buildJob(
  study: StudyDefinition,
  trainer: TrainerDefinition,
  ctx: JobContext,
  location?: string,
): { job: VertexJob; issues: Issue[] } {
  const job = toVertexJob(study, trainer, ctx);
  const issues = [
    ...definitionNameIssues(study),
    ...validateTrainer(trainer),
    ...validateJob(job, location).map((i) => ({ path: toArgPath(i.path), message: i.message })),
  ];
  return { job, issues };
}
