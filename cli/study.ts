/**
 * A stack's study as `tune` runs it: `Pulumi.<stack>.yaml` read through the one config parser
 * (`readStudyConfig`) and mapped to the Vertex JSON by the one mapping (`buildJob`), for the
 * local backend.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { buildJob, engineConfigValue, formatIssues, MAX_STUDY_LABELS, readStudyConfig, toLabelValue, type StudyDefinition, type VertexJob } from "../components/spec";
import { localSourceIssue } from "../components/localTrainer";

/** Overrides the command line may apply to the stack's study. */
export interface StudyOverrides {
  maxTrials?: number;
  parallelTrials?: number;
}

/** A YAML file's content; a file that cannot be read or parsed is named in the error. */
function readYaml(file: string, missing: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Error(missing);
  }
  try {
    return parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid YAML: ${(error as Error).message}`);
  }
}

/**
 * Reads the project name (the config namespace) from `Pulumi.yaml`. Every `tune` command reads it
 * first: the folder it runs in is the repository whose trainer a state folder's trials run.
 */
export function projectName(repoRoot: string): string {
  const file = join(repoRoot, "Pulumi.yaml");
  const project = readYaml(file, `no ${file}: run tune from a Pulumi project's folder`) as { name?: string } | null;
  if (!project?.name) throw new Error(`${file} has no name`);
  return project.name;
}

/**
 * A study refused for the command line's values alone (`--parallel 9` beside a file's
 * `maxTrials: 4`): a mistake in the command line, which `tune` answers with exit status 2.
 */
export class CommandLineError extends Error {}

/** What a Pulumi secret in the stack file is told: tune reads the file itself, and has no key to decrypt it. */
const SECRET_ISSUE =
  "is a Pulumi secret (secure:), which only pulumi up can decrypt: tune reads the stack file itself; write the value in plain text in a stack file of tune's own kept out of version control, or run the study with pulumi up";

/**
 * The paths of the Pulumi secrets in a config value (`{secure: <ciphertext>}`, as `pulumi config set
 * --secret` writes one, at any depth with `--path`), written as readStudyConfig writes paths
 * (`vertex-tuning:study.trial.env.WANDB_API_KEY`).
 */
function securePaths(value: unknown, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => securePaths(item, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]![0] === "secure" && typeof entries[0]![1] === "string") return [path];
  return entries.flatMap(([key, item]) => securePaths(item, `${path}.${key}`));
}

/** The job request of a stack's study on the local backend; throws with every config issue. */
export function loadStackJob(repoRoot: string, stack: string, overrides: StudyOverrides = {}): VertexJob {
  const namespace = projectName(repoRoot);
  const file = join(repoRoot, `Pulumi.${stack}.yaml`);
  const stackFile = readYaml(file, `no stack file ${file}: pass --stack <name> for an existing Pulumi.<name>.yaml`) as { config?: Record<string, unknown> } | null;
  const config = stackFile?.config ?? {};
  // As `pulumi up` hands them to the program: a string value is decoded the engine's way.
  const value = (key: string): unknown => {
    const raw = config[`${namespace}:${key}`];
    return typeof raw === "string" ? engineConfigValue(raw) : raw;
  };
  const result = readStudyConfig(value, namespace, Object.keys(config));
  // A secret is named as one: read as it stands in the file, it was refused as an object where a
  // string goes ("must be a string (got an object)"), of a value its user had given as a string.
  const secrets = Object.entries(config).filter(([key]) => key.startsWith(`${namespace}:`)).flatMap(([key, v]) => securePaths(v, key));
  if (secrets.length || !result.ok) {
    const issues = secrets.map((path) => ({ path, message: SECRET_ISSUE }));
    if (!result.ok) issues.push(...result.issues.filter((i) => !secrets.includes(i.path)));
    throw new Error(`${file} has problems:\n${formatIssues(issues)}`);
  }
  const study: StudyDefinition = { ...result.config.study };
  if (overrides.maxTrials !== undefined) study.maxTrials = overrides.maxTrials;
  if (overrides.parallelTrials !== undefined) study.parallelTrials = overrides.parallelTrials;
  // A shorter run than the file's lowers the file's parallelism with it; a --parallel given
  // beside it is the person's own and is checked, not changed.
  if (overrides.maxTrials !== undefined && overrides.parallelTrials === undefined && (study.parallelTrials ?? 1) > overrides.maxTrials) {
    study.parallelTrials = overrides.maxTrials;
  }
  const stackLabels = result.config.labels ?? {};
  const { job, issues } = buildJob(study, result.config.trainer, {
    backend: "local",
    defaultDisplayName: `tune-${stack}`,
    // The stack's name for people (gcloud's `--filter=labels.tune-stack=...`); jobs are matched
    // by the identity label `run` adds, not by this one. A stack name may hold capitals and dots,
    // a label value may not: a name that is a valid value already is kept as it is. Left out when
    // the stack's own labels take every place: added, it refused the 62 labels `pulumi up` takes.
    labels: Object.keys(stackLabels).length < MAX_STUDY_LABELS ? { ...stackLabels, "tune-stack": toLabelValue(stack) } : { ...stackLabels },
  });
  // A source trainer runs as a module of the repository: one it cannot run is refused before any trial.
  const source = localSourceIssue(result.config.trainer, repoRoot);
  if (source) issues.push(source);
  // buildJob names paths as the component's arguments (`study.parameters[0].min`); here they are
  // the stack file's keys, written as readStudyConfig writes them (`vertex-tuning:study...`),
  // except a value a flag replaced, which is the flag's.
  const flags: Record<string, string | undefined> = {
    "study.maxTrials": overrides.maxTrials !== undefined ? "--max-trials" : undefined,
    "study.parallelTrials": overrides.parallelTrials !== undefined ? "--parallel" : undefined,
  };
  const where = (path: string) => flags[path] ?? `${namespace}:${path}`;
  if (issues.length) {
    const text = `the study of ${file} is not valid:\n${formatIssues(issues, where)}`;
    throw issues.every((i) => flags[i.path]) ? new CommandLineError(text) : new Error(text);
  }
  return job;
}
