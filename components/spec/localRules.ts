/**
 * What the local backend refuses of a job Vertex AI would run: rules it has not built, and
 * output folders it cannot map. The local server's create refuses them (400), and the provider's
 * `check` of a job on the local backend names them at preview, before `up` gets that far.
 */
import { isUnknown } from "./placeholder";
import type { Issue } from "./validate";
import type { VertexJob } from "./vertexJson";

/**
 * Why the local backend cannot map a gs:// URI under `<state>/gcs/`, or undefined when it can.
 * Cloud Storage reads `.` and `..` in an object name as plain text, but in a local path they
 * climb: `gs://../../x/` would put a trial's output outside `<state>/gcs/`. Such a URI is
 * refused rather than mapped elsewhere.
 */
export function unmappableGcsUri(uri: string): string | undefined {
  const dotted = uri.replace(/^gs:\/\//, "").split("/").some((segment) => segment === "." || segment === "..");
  return dotted ? `${JSON.stringify(uri)} has a "." or ".." segment: locally it would lead out of <state>/gcs/, so the local backend refuses it; name the folder without one` : undefined;
}

/**
 * Why the local backend cannot run the job's trials, or undefined when it can: a container with no
 * command. Vertex AI runs the image's entrypoint; the local backend runs commands, not images.
 */
export function noLocalCommand(job: VertexJob): string | undefined {
  // At preview any level may be Pulumi's unknown: its command is not known to be missing.
  const pools = job.trialJobSpec?.workerPoolSpecs;
  if ([job.trialJobSpec, pools, pools?.[0], pools?.[0]?.containerSpec].some(isUnknown)) return undefined;
  const pool = pools?.[0] ?? {};
  const program = pool.containerSpec?.command?.[0];
  // A blank program name (`command: [""]`) is no command either: every trial failed to start.
  if (pool.pythonPackageSpec || isUnknown(program) || (typeof program === "string" && program.trim() !== "")) return undefined;
  return `a local trial needs a command: the local backend runs commands, not images (imageUri ${JSON.stringify(pool.containerSpec?.imageUri ?? "")} is not used); set the trainer's command, or use a source trainer`;
}

/** Every part of a (well-formed) job the local backend refuses, with its path. */
export function localBackendIssues(job: VertexJob): Issue[] {
  const issues: Issue[] = [];
  if (job.studySpec?.convexAutomatedStoppingSpec != null) {
    issues.push({ path: "studySpec.convexAutomatedStoppingSpec", message: "the convex early-stopping rule is not built in the local backend: use medianAutomatedStoppingSpec or decayCurveStoppingSpec, or run on Vertex AI" });
  }
  // The study's stopping rules would change which trials run (and when the job ends): refused
  // like the convex rule rather than silently ignored.
  if (job.studySpec?.studyStoppingConfig != null) {
    issues.push({ path: "studySpec.studyStoppingConfig", message: "study stopping rules are not built in the local backend: remove the field (maxTrialCount bounds a local study), or run on Vertex AI" });
  }
  // Refused at create, not trial by trial: every trial of such a job failed until the failure
  // budget ended it, after a preview and an `up` that had passed.
  const noCommand = noLocalCommand(job);
  if (noCommand) issues.push({ path: "trialJobSpec.workerPoolSpecs[0].containerSpec.command", message: noCommand });
  const prefix = job.trialJobSpec?.baseOutputDirectory?.outputUriPrefix;
  const unmappable = typeof prefix === "string" ? unmappableGcsUri(prefix) : undefined;
  if (unmappable) issues.push({ path: "trialJobSpec.baseOutputDirectory.outputUriPrefix", message: unmappable });
  return issues;
}
