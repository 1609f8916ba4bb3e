/**
 * What a trial runs locally: the command line and environment Vertex AI would give the trial's
 * container, mapped onto this machine (DESIGN.md, "The local backend's own rules").
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { allParameterSpecs, type VertexJob } from "../components/spec";
import { noLocalCommand, unmappableGcsUri } from "../components/spec/localRules";
import type { TrialParameter } from "./store";

/** Where a trial runs and what share of the machine it gets. */
export interface CommandContext {
  /** Repository root: the trial's working directory. */
  repoRoot: string;
  /** The backend's state folder (`gs://` output maps under `<state>/gcs/`). */
  stateDir: string;
  /** The trial's own folder (metrics file, logs, default model folder). */
  trialDir: string;
  trialId: string;
  /** CPU cores of the machine. */
  cores: number;
}

/** A runnable trial: argv (argv[0] is the program) and the full environment. */
export interface TrialCommand {
  argv: string[];
  env: Record<string, string>;
  /** Names of the server's variables not passed to the trial: credentials (`isCredentialVariable`). */
  withheld: string[];
  /** Path of the metrics file the trial reports to. */
  metricsFile: string;
}

/** `gs://bucket/path/` → `<state>/gcs/bucket/path/`: the local stand-in for Cloud Storage (a URI `unmappableGcsUri` passes). */
export function localGcsPath(stateDir: string, uri: string): string {
  return join(stateDir, "gcs", uri.replace(/^gs:\/\//, ""));
}

type ParameterSpec = NonNullable<NonNullable<VertexJob["studySpec"]>["parameters"]>[number];

/**
 * A tuned value as Vertex AI writes it on the command line: DOUBLE and DISCRETE values are
 * floats, so an integral one is written `256.0`, not `256` (a trainer parsing `type=int` must fail
 * here as it would on Vertex); others keep JavaScript's form (`1e-7`, where Python writes
 * `1e-07`: any float parser reads both). INTEGER values are plain integers, CATEGORICAL values
 * the string itself.
 */
export function flagValue(value: number | string, spec: ParameterSpec | undefined): string {
  const text = String(value);
  const float = spec?.doubleValueSpec != null || spec?.discreteValueSpec != null;
  // Exponent forms (1e+21) have no ".0" to add.
  if (float && typeof value === "number" && Number.isInteger(value) && /^-?\d+$/.test(text)) return `${text}.0`;
  return text;
}

/**
 * Whether a variable of the server's environment carries credentials, by its name: the
 * deployer's Google credentials (`GOOGLE_OAUTH_ACCESS_TOKEN`, `GOOGLE_CREDENTIALS`,
 * `GOOGLE_APPLICATION_CREDENTIALS`, a `..._KEYFILE_JSON`, `CLOUDSDK_AUTH_...`, and `CLOUDSDK_CONFIG`:
 * gcloud's folder, which holds gcloud's login and the Application Default Credentials file that
 * google-auth and TensorFlow's `gs://` file system read from there), Pulumi's
 * (`PULUMI_ACCESS_TOKEN`, `PULUMI_CONFIG_PASSPHRASE`, and `PULUMI_CONFIG`, the program's
 * config with its secrets decrypted), and any name with a `TOKEN`, `SECRET`, `PASSWORD`,
 * `PASSPHRASE`, `CREDENTIAL(S)`, `KEYFILE`, `API_KEY` or `PRIVATE_KEY` segment, and the
 * well-known ones no segment names: PostgreSQL's `PGPASSWORD`, MySQL's `MYSQL_PWD`, Kaggle's
 * `KAGGLE_KEY`, GitLab's `DOCKER_AUTH_CONFIG`, npm's `..._authToken`, and the credentials file of
 * Google's GitHub action (`GOOGLE_GHA_CREDS_PATH`). A trial does not
 * inherit them: a trial's container on Vertex AI has only its image's variables and the job's
 * own, never the deployer's credentials, so a trainer that prints its environment leaks nothing
 * here either, and one that needs a credential fails here as it would there, until the study's
 * `trial.env` gives it. Segments, not substrings: `TOKENIZERS_PARALLELISM` is passed.
 */
export function isCredentialVariable(name: string): boolean {
  // A switch that turns something off carries no secret: HF_HUB_DISABLE_IMPLICIT_TOKEN, withheld
  // for its TOKEN segment, let huggingface_hub send the user's stored token again.
  if (/(^|_)DISABLE(_|$)/i.test(name)) return false;
  return /^PULUMI_CONFIG(_|$)|^CLOUDSDK_AUTH_|^CLOUDSDK_CONFIG$|^(PGPASSWORD|MYSQL_PWD|KAGGLE_KEY|DOCKER_AUTH_CONFIG|GOOGLE_GHA_CREDS_PATH)$|_authToken$|(^|_)(TOKEN|SECRET|PASSWORD|PASSPHRASE|CREDENTIALS?|KEYFILE|API_KEY|PRIVATE_KEY)(_|$)/i.test(name);
}

/**
 * True when `program` (a trial command's argv[0]) is the repository's own Python,
 * `<repo>/.venv/bin/python`, whether written relative to the repository root (a source trainer's
 * command) or in full (a pythonPackageSpec): the environment `npm run setup` creates.
 */
export function isRepositoryPython(program: string, repoRoot: string): boolean {
  return program.includes("/") && resolve(repoRoot, program) === join(resolve(repoRoot), ".venv", "bin", "python");
}

/**
 * What to do about a trial command that could not start, as a text to append to the spawn error
 * (empty when there is nothing to add). The bare errors misled: `spawn my_trainer.py ENOENT` for
 * a file that is right there in the repository root (a name without a `/` is looked up on PATH,
 * as a container's command is), `spawn ./my_trainer.py EACCES` for a script not marked executable.
 */
export function startFailureHint(program: string, spawnError: string, repoRoot: string): string {
  if (/\bENOENT\b/.test(spawnError) && isRepositoryPython(program, repoRoot)) {
    // The repository's .venv missing: a clone whose setup never ran (or was interrupted).
    return `; the repository's Python environment ${join(repoRoot, ".venv")} is missing: run \`npm run setup\` in ${repoRoot}`;
  }
  if (/\bENOENT\b/.test(spawnError) && !program.includes("/") && existsSync(join(repoRoot, program))) {
    return `; a program named without a "/" is looked up on PATH: write ./${program} for the file in ${repoRoot}`;
  }
  // unstartable skips a folder as a program, so it reads as missing although the path exists.
  if (/\bENOENT\b/.test(spawnError) && program.includes("/") && isFolder(resolve(repoRoot, program))) {
    return `; ${program} is a folder, not a program: name the program in it`;
  }
  if (/\bEACCES\b/.test(spawnError)) {
    return `; ${program} is not executable: mark it so (chmod +x), or run it through its interpreter (command: [python3, ${program}])`;
  }
  return "";
}

/**
 * The trial's command and environment, or an error text when the job cannot run locally (a
 * container with no command: the local backend does not run images).
 */
export function trialCommand(job: VertexJob, parameters: TrialParameter[], ctx: CommandContext): TrialCommand | { error: string } {
  const pool = job.trialJobSpec?.workerPoolSpecs?.[0] ?? {};
  let argv: string[];
  let userEnv: { name?: string | null; value?: string | null }[];
  if (pool.pythonPackageSpec) {
    const spec = pool.pythonPackageSpec;
    argv = [join(ctx.repoRoot, ".venv", "bin", "python"), "-m", spec.pythonModule ?? "", ...(spec.args ?? [])];
    userEnv = spec.env ?? [];
  } else {
    const spec = pool.containerSpec ?? {};
    // Create refuses such a job; one a state folder kept from before that rule meets it here.
    const noCommand = noLocalCommand(job);
    if (noCommand) return { error: `trialJobSpec.workerPoolSpecs[0].containerSpec.command: ${noCommand}` };
    argv = [...(spec.command ?? []), ...(spec.args ?? [])];
    userEnv = spec.env ?? [];
  }
  const specs = new Map(allParameterSpecs(job.studySpec?.parameters).map((spec) => [spec.parameterId, spec]));
  argv.push(...parameters.map((p) => `--${p.parameterId}=${flagValue(p.value, specs.get(p.parameterId))}`));

  const base = job.trialJobSpec?.baseOutputDirectory?.outputUriPrefix;
  // Create refuses an unmappable prefix; a job a state folder kept from before that rule meets it here.
  const unmappable = base ? unmappableGcsUri(base) : undefined;
  if (unmappable) return { error: `trialJobSpec.baseOutputDirectory.outputUriPrefix ${unmappable}` };
  const outputDir = base ? join(localGcsPath(ctx.stateDir, base), ctx.trialId) : ctx.trialDir;
  const parallel = Math.max(1, job.parallelTrialCount ?? 1);
  const threads = String(Math.max(1, Math.floor(ctx.cores / parallel)));
  const metricsFile = join(ctx.trialDir, "output.metrics");
  const env: Record<string, string> = {};
  const withheld: string[] = [];
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (isCredentialVariable(name)) withheld.push(name);
    else env[name] = value;
  }
  // The machine's share first, so that a study's own env can still override it.
  Object.assign(env, { OMP_NUM_THREADS: threads, TF_NUM_INTRAOP_THREADS: threads, TF_NUM_INTEROP_THREADS: threads });
  for (const e of userEnv) if (e.name) env[e.name] = e.value ?? "";
  Object.assign(env, {
    CLOUD_ML_HP_METRIC_FILE: metricsFile,
    CLOUD_ML_TRIAL_ID: ctx.trialId,
    // Vertex AI sets CLOUD_ML_JOB_ID in a trial's container (to the trial's own custom job, as far
    // as its documentation goes); here the job's id, which serves the same purpose: a trial tells
    // its own checkpoint from one a trial of the same id in an earlier job left in the same output
    // folder (trainer/checkpoints.py).
    ...(job.name ? { CLOUD_ML_JOB_ID: job.name.split("/").pop()! } : {}),
    AIP_MODEL_DIR: `${join(outputDir, "model")}/`,
    AIP_CHECKPOINT_DIR: `${join(outputDir, "checkpoints")}/`,
    AIP_TENSORBOARD_LOG_DIR: `${join(outputDir, "logs")}/`,
    // Python trainers: print lines as they happen, so stdout.log follows the trial live.
    PYTHONUNBUFFERED: "1",
  });
  return { argv, env, withheld: withheld.sort(), metricsFile };
}

/** True when `path` is a folder (a missing path is none). */
function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
