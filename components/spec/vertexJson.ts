/**
 * The one mapping from a study definition to the Vertex AI `HyperparameterTuningJob` JSON.
 *
 * The output follows the proto3 JSON mapping exactly: int64 fields as strings, durations as
 * `"<n>s"`, enums by name. Types come from googleapis so the compiler checks field names.
 */
import type { aiplatform_v1 } from "googleapis/build/src/apis/aiplatform";
import {
  DEFAULTS,
  type Algorithm,
  type ConditionalParameter,
  type MeasurementSelection,
  type ParameterDefinition,
  type Scale,
  type StudyDefinition,
  type TrainerDefinition,
} from "./model";
import { isUnknown, type Issue } from "./validate";

export type VertexJob = aiplatform_v1.Schema$GoogleCloudAiplatformV1HyperparameterTuningJob;
export type VertexStudySpec = aiplatform_v1.Schema$GoogleCloudAiplatformV1StudySpec;
export type VertexParameterSpec = aiplatform_v1.Schema$GoogleCloudAiplatformV1StudySpecParameterSpec;
export type VertexTrial = aiplatform_v1.Schema$GoogleCloudAiplatformV1Trial;
export type VertexWorkerPoolSpec = aiplatform_v1.Schema$GoogleCloudAiplatformV1WorkerPoolSpec;

/** Which backend runs the job: Vertex AI, or the local backend on this machine. */
export type Backend = "vertex" | "local";

/** What the surrounding infrastructure contributes to the job (all optional: the local backend needs none). */
export interface JobContext {
  /** Where the job runs. A `source` trainer runs from the repository on `local`. Default `vertex`. */
  backend?: Backend;
  /** Display name to use when the study gives none. */
  defaultDisplayName?: string;
  /**
   * The image built from a `source` trainer (vertex backend); on the local backend, which builds
   * none, the image its job records (`localImageUri`), tagged with the folder's content.
   */
  builtImageUri?: string;
  /** Service account the trials run as. */
  serviceAccount?: string;
  /** `gs://<bucket>/<job>/`: Vertex gives each trial `AIP_MODEL_DIR=<base>/<trialId>/model/`. */
  baseOutputDirectory?: string;
  /** Labels on the job. */
  labels?: Record<string, string>;
  /** CMEK key for the job. */
  kmsKeyName?: string;
}

const SCALE: Record<Scale, string> = {
  LINEAR: "UNIT_LINEAR_SCALE",
  LOG: "UNIT_LOG_SCALE",
  REVERSE_LOG: "UNIT_REVERSE_LOG_SCALE",
};

const ALGORITHM: Record<Algorithm, string> = {
  BAYESIAN: "ALGORITHM_UNSPECIFIED",
  GRID: "GRID_SEARCH",
  RANDOM: "RANDOM_SEARCH",
};

const MEASUREMENT_SELECTION: Record<MeasurementSelection, string> = {
  LAST: "LAST_MEASUREMENT",
  BEST: "BEST_MEASUREMENT",
};

/** int64 fields travel as decimal strings in proto3 JSON. */
function int64(value: number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

/**
 * The Vertex name of one of the definition's names. A value Pulumi does not know yet passes
 * through (validation skips it); a name the definition does not have is left out, and
 * `definitionNameIssues` reports it at the user's path with the user's names.
 */
function vertexName<K extends string>(names: Record<K, string>, value: string | undefined): string | undefined {
  if (value === undefined || isUnknown(value)) return value;
  return Object.hasOwn(names, value) ? names[value as K] : undefined;
}

/**
 * Every name of the definition that has no Vertex name (a scale, the algorithm, the measurement
 * selection), at the path the user wrote, listing the names the definition takes: `scale: log`
 * or Vertex's own `UNIT_LOG_SCALE` is refused naming LINEAR, LOG, REVERSE_LOG.
 */
export function definitionNameIssues(study: StudyDefinition): Issue[] {
  const issues: Issue[] = [];
  const check = <K extends string>(names: Record<K, string>, value: string | undefined, path: string) => {
    if (value !== undefined && !isUnknown(value) && !Object.hasOwn(names, value)) {
      issues.push({ path, message: `must be one of ${Object.keys(names).join(", ")} (got ${JSON.stringify(value)})` });
    }
  };
  const visit = (p: ParameterDefinition | undefined, path: string) => {
    if (!p || typeof p !== "object") return;
    if ("scale" in p) check(SCALE, p.scale, `${path}.scale`);
    const children = "children" in p ? p.children : undefined;
    if (Array.isArray(children)) children.forEach((c, j) => visit(c?.parameter, `${path}.children[${j}].parameter`));
  };
  if (Array.isArray(study.parameters)) study.parameters.forEach((p, i) => visit(p, `study.parameters[${i}]`));
  check(ALGORITHM, study.algorithm, "study.algorithm");
  check(MEASUREMENT_SELECTION, study.measurementSelection, "study.measurementSelection");
  return issues;
}

/**
 * No scale stays unset (SCALE_TYPE_UNSPECIFIED, as the seed's `scale='unspecified'`): Vertex
 * applies no scaling then, which is what LINEAR means too.
 */
function scaleType(scale: Scale | undefined): string | undefined {
  return vertexName(SCALE, scale);
}

function parameterSpec(p: ParameterDefinition): VertexParameterSpec {
  const spec: VertexParameterSpec = { parameterId: p.id };
  switch (p.type) {
    case "DOUBLE":
      spec.doubleValueSpec = { minValue: p.min, maxValue: p.max };
      spec.scaleType = scaleType(p.scale);
      break;
    case "INTEGER":
      spec.integerValueSpec = { minValue: int64(p.min), maxValue: int64(p.max) };
      spec.scaleType = scaleType(p.scale);
      break;
    case "DISCRETE":
      spec.discreteValueSpec = { values: p.values };
      spec.scaleType = scaleType(p.scale);
      break;
    case "CATEGORICAL":
      spec.categoricalValueSpec = { values: p.values };
      break;
    default:
      // An unknown type: leave the value spec out so validation says "exactly one value spec".
      break;
  }
  const children = "children" in p ? p.children : undefined;
  if (children?.length) {
    spec.conditionalParameterSpecs = children.map((child) => conditionalSpec(p, child));
  }
  return spec;
}

/** The condition's kind follows the parent's type, as in the Vertex API and the Python SDK. */
function conditionalSpec(
  parent: ParameterDefinition,
  child: ConditionalParameter,
): aiplatform_v1.Schema$GoogleCloudAiplatformV1StudySpecParameterSpecConditionalParameterSpec {
  const result: aiplatform_v1.Schema$GoogleCloudAiplatformV1StudySpecParameterSpecConditionalParameterSpec = {
    parameterSpec: parameterSpec(child.parameter),
  };
  const values = child.parentValues ?? [];
  if (parent.type === "INTEGER") result.parentIntValues = { values: values.map((v) => String(v)) };
  else if (parent.type === "DISCRETE") result.parentDiscreteValues = { values: values as number[] };
  else result.parentCategoricalValues = { values: values.map((v) => String(v)) };
  return result;
}

/** Maps the study's parameters, metric, algorithm and early stopping to a Vertex StudySpec. */
export function toStudySpec(study: StudyDefinition): VertexStudySpec {
  const spec: VertexStudySpec = {
    metrics: [{ metricId: study.metric?.id, goal: study.metric?.goal }],
    parameters: (study.parameters ?? []).map(parameterSpec),
    algorithm: vertexName(ALGORITHM, study.algorithm ?? DEFAULTS.algorithm),
    measurementSelectionType: vertexName(MEASUREMENT_SELECTION, study.measurementSelection ?? DEFAULTS.measurementSelection),
  };
  const stopping = study.earlyStopping;
  if (stopping?.median) spec.medianAutomatedStoppingSpec = { useElapsedDuration: stopping.median.useElapsedDuration ?? false };
  if (stopping?.decayCurve) spec.decayCurveStoppingSpec = { useElapsedDuration: stopping.decayCurve.useElapsedDuration ?? false };
  if (stopping?.convex) {
    const c = stopping.convex;
    spec.convexAutomatedStoppingSpec = {
      maxStepCount: int64(c.maxStepCount),
      minStepCount: int64(c.minStepCount),
      minMeasurementCount: int64(c.minMeasurementCount),
      learningRateParameterName: c.learningRateParameterName,
      useElapsedDuration: c.useElapsedDuration,
      updateAllStoppedTrials: c.updateAllStoppedTrials,
    };
  }
  return spec;
}

/**
 * The image a `source` trainer's job records on the local backend, which runs its command, never
 * an image: `local/<source>`, with the folder's content tag where the caller read it. Without the
 * tag the job was the same whatever the folder held, so a changed trainer ran no new study.
 */
export function localImageUri(source: string, tag?: string): string {
  return tag === undefined ? `local/${source}` : `local/${source}:${tag}`;
}

/**
 * The command that runs a `source` trainer on the local backend: the package's `task` module in
 * the project's Python environment, from the repository root (DESIGN.md, local backend rules).
 */
export function localTrainerCommand(source: string): string[] {
  const pkg = source.replace(/\/+$/, "").split("/").pop() || DEFAULTS.trainerSource;
  return [".venv/bin/python", "-m", `${pkg}.task`];
}

function workerPoolSpec(study: StudyDefinition, trainer: TrainerDefinition, ctx: JobContext): VertexWorkerPoolSpec {
  const trial = study.trial ?? {};
  const args = trial.args ?? [];
  const env = Object.entries(trial.env ?? {}).map(([name, value]) => ({ name, value }));
  const pool: VertexWorkerPoolSpec = {
    machineSpec: {
      machineType: trial.machineType ?? DEFAULTS.machineType,
      acceleratorType: trial.acceleratorType,
      acceleratorCount: trial.acceleratorCount,
    },
    replicaCount: int64(trial.replicaCount ?? DEFAULTS.replicaCount),
  };
  if (trial.bootDisk) pool.diskSpec = { bootDiskType: trial.bootDisk.type, bootDiskSizeGb: trial.bootDisk.sizeGb };
  if (trainer.pythonPackage) {
    pool.pythonPackageSpec = {
      executorImageUri: trainer.pythonPackage.executorImageUri,
      packageUris: trainer.pythonPackage.packageUris,
      pythonModule: trainer.pythonPackage.module,
      args,
      env,
    };
  } else if (trainer.imageUri) {
    pool.containerSpec = { imageUri: trainer.imageUri, command: trainer.command, args, env };
  } else {
    const source = trainer.source ?? DEFAULTS.trainerSource;
    pool.containerSpec =
      ctx.backend === "local"
        ? // The image is recorded and not used locally; the command runs the same task.py.
          { imageUri: ctx.builtImageUri ?? localImageUri(source), command: localTrainerCommand(source), args, env }
        : { imageUri: ctx.builtImageUri, args, env };
  }
  return pool;
}

/** Maps a study, its trainer and its infrastructure to the Vertex AI job JSON. */
export function toVertexJob(study: StudyDefinition, trainer: TrainerDefinition, ctx: JobContext = {}): VertexJob {
  const trial = study.trial ?? {};
  const job: VertexJob = {
    displayName: study.displayName ?? ctx.defaultDisplayName,
    studySpec: toStudySpec(study),
    maxTrialCount: study.maxTrials,
    parallelTrialCount: study.parallelTrials ?? DEFAULTS.parallelTrials,
    maxFailedTrialCount: study.maxFailedTrials ?? DEFAULTS.maxFailedTrials,
    trialJobSpec: {
      workerPoolSpecs: [workerPoolSpec(study, trainer, ctx)],
      serviceAccount: ctx.serviceAccount,
      network: trial.network,
      enableWebAccess: trial.enableWebAccess,
      baseOutputDirectory: ctx.baseOutputDirectory ? { outputUriPrefix: ctx.baseOutputDirectory } : undefined,
      scheduling: {
        timeout: trial.timeoutSeconds === undefined ? undefined : `${trial.timeoutSeconds}s`,
        restartJobOnWorkerRestart: trial.restartOnWorkerRestart,
        strategy: trial.scheduling,
      },
    },
    labels: ctx.labels,
    encryptionSpec: ctx.kmsKeyName ? { kmsKeyName: ctx.kmsKeyName } : undefined,
  };
  const stripped = stripUndefined(job);
  // A convex rule without settings is the rule with Vertex's defaults, an empty message whose
  // presence is the choice: stripping it sent no early stopping at all. (median and decayCurve
  // always carry useElapsedDuration.) Kept only here, so every other job keeps its spec hash.
  if (study.earlyStopping?.convex && stripped.studySpec && !stripped.studySpec.convexAutomatedStoppingSpec) stripped.studySpec.convexAutomatedStoppingSpec = {};
  return stripped;
}

/** Removes undefined fields and empty objects so the JSON (and its hash) has one canonical form. */
export function stripUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => stripUndefined(v)) as T;
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const cleaned = stripUndefined(v);
    if (cleaned !== null && typeof cleaned === "object" && !Array.isArray(cleaned) && Object.keys(cleaned).length === 0) continue;
    out[k] = cleaned;
  }
  return out as T;
}
