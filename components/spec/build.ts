/**
 * A study definition to its Vertex JSON, validated: the definition's own rules and Vertex's, every
 * issue at the path the user wrote. The component, the stack config reader and `tune` share it.
 */
import type { StudyDefinition, TrainerDefinition } from "./model";
import { toArgMessage, toArgPath } from "./argPaths";
import { localBackendIssues } from "./localRules";
import { definitionNameIssues, toVertexJob, type JobContext, type VertexJob } from "./vertexJson";
import { UNKNOWN, validateJob, type Issue } from "./validate";

/**
 * What the component's children contribute to a job on Vertex AI (the trials' account, the
 * output folder, the built image), unknown until they exist: validation before then skips them.
 */
export const VERTEX_INFRA_PLACEHOLDERS: JobContext = { serviceAccount: UNKNOWN, baseOutputDirectory: UNKNOWN, builtImageUri: UNKNOWN };

/** Issues of the trainer choice, which has no single Vertex field of its own. */
export function validateTrainer(trainer: TrainerDefinition): Issue[] {
  const given = (["source", "imageUri", "pythonPackage"] as const).filter((k) => trainer[k] !== undefined);
  const issues: Issue[] = [];
  if (given.length > 1) issues.push({ path: "trainer", message: `give exactly one of source, imageUri, pythonPackage (got ${given.join(", ")})` });
  // An empty one counts as given, but reads as absent where the trainer's kind is decided (an
  // empty imageUri built trainer/ instead).
  for (const key of ["source", "imageUri"] as const) {
    if (trainer[key] === "") issues.push({ path: `trainer.${key}`, message: `must not be empty: give the ${key === "source" ? "folder" : "image"}, or leave ${key} out` });
  }
  if (trainer.command !== undefined && trainer.imageUri === undefined) {
    issues.push({ path: "trainer.command", message: "command overrides an image's entrypoint: it needs imageUri" });
  }
  return issues;
}

/**
 * Maps a study to its Vertex JSON and validates it, with every issue's path translated back to
 * the argument the user wrote (`study.parameters[1].min`). On the local backend what it would
 * refuse at create (a convex rule, a container without a command) is among them: named only by
 * the provider's check or the server, it showed after the rest was fixed, at a Vertex path.
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
    ...[...validateJob(job, location), ...(ctx.backend === "local" ? localBackendIssues(job) : [])].map((i) => ({ path: toArgPath(i.path), message: toArgMessage(i.message) })),
  ];
  return { job, issues };
}
