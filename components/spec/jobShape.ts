/**
 * The JSON shape of a `HyperparameterTuningJob` request as aiplatform v1 defines it: each
 * message's fields and their JSON types. Google's JSON front end refuses a field name it does not
 * know (400 INVALID_ARGUMENT, "Invalid JSON payload received. Unknown name ... Cannot find
 * field.") and a value of the wrong JSON type, before any rule of the service; `readJob` does
 * both, and every check of a job starts with it (the component, the provider's `check`, the local
 * server's create). A misspelt field must not quietly give another study than the one on Vertex,
 * and a value of the wrong type must be named, not crash a later rule.
 *
 * It reads a request as proto3's JSON mapping does: a field by its JSON or its proto name
 * (`maxTrialCount`, `max_trial_count`), `null` as the field's default (absent), numbers also from
 * decimal strings (`"5"`, `"0.1"`, `"1e2"`), 64-bit integers from numbers too. The job it returns
 * holds each in one form (JSON names; absent; numbers; 64-bit integers as strings, as Vertex
 * answers them), so what reads the job afterwards sees one name and one type per field. An enum
 * is taken by its number too (Google's Python client sends every enum so) and kept by its name.
 * The doubles "NaN" and "Infinity", which proto3 also takes, are refused.
 */
import { isUnknown, UNKNOWN } from "./placeholder";
import type { Issue } from "./validate";
import type { VertexJob } from "./vertexJson";

/**
 * Each message's fields, from googleapis' `build/src/apis/aiplatform/v1.d.ts` (the interfaces
 * `Schema$GoogleCloudAiplatformV1<name>`, their types from the protos' comments;
 * test/spec/jobShape.test.ts checks the table against that file). A bare name is a string;
 * `name:type` one of `int32`, `int64`, `double`, `bool`, `enum`, `duration`, `timestamp`, a
 * message's name, `map` (string to string), or `output`: an output-only field, which create
 * ignores (AIP-203), so its contents are not read either (a job read back, with the local
 * trials' extension fields, can be sent again). `[]` marks a repeated field.
 */
const MESSAGES: Record<string, string> = {
  HyperparameterTuningJob:
    "displayName maxTrialCount:int32 parallelTrialCount:int32 maxFailedTrialCount:int32 studySpec:StudySpec trialJobSpec:CustomJobSpec labels:map encryptionSpec:EncryptionSpec " +
    "name:output state:output trials:output createTime:output startTime:output endTime:output updateTime:output error:output satisfiesPzs:output satisfiesPzi:output",
  EncryptionSpec: "kmsKeyName",
  StudySpec:
    "metrics:StudySpecMetricSpec[] parameters:StudySpecParameterSpec[] algorithm:enum observationNoise:enum measurementSelectionType:enum " +
    "decayCurveStoppingSpec:StudySpecDecayCurveAutomatedStoppingSpec medianAutomatedStoppingSpec:StudySpecMedianAutomatedStoppingSpec " +
    "convexAutomatedStoppingSpec:StudySpecConvexAutomatedStoppingSpec studyStoppingConfig:StudySpecStudyStoppingConfig",
  StudySpecMetricSpec: "metricId goal:enum safetyConfig:StudySpecMetricSpecSafetyMetricConfig",
  StudySpecMetricSpecSafetyMetricConfig: "safetyThreshold:double desiredMinSafeTrialsFraction:double",
  StudySpecParameterSpec:
    "parameterId scaleType:enum doubleValueSpec:StudySpecParameterSpecDoubleValueSpec integerValueSpec:StudySpecParameterSpecIntegerValueSpec " +
    "discreteValueSpec:StudySpecParameterSpecDiscreteValueSpec categoricalValueSpec:StudySpecParameterSpecCategoricalValueSpec " +
    "conditionalParameterSpecs:StudySpecParameterSpecConditionalParameterSpec[]",
  StudySpecParameterSpecDoubleValueSpec: "minValue:double maxValue:double defaultValue:double",
  StudySpecParameterSpecIntegerValueSpec: "minValue:int64 maxValue:int64 defaultValue:int64",
  StudySpecParameterSpecDiscreteValueSpec: "values:double[] defaultValue:double",
  StudySpecParameterSpecCategoricalValueSpec: "values[] defaultValue",
  StudySpecParameterSpecConditionalParameterSpec:
    "parameterSpec:StudySpecParameterSpec parentDiscreteValues:StudySpecParameterSpecConditionalParameterSpecDiscreteValueCondition " +
    "parentIntValues:StudySpecParameterSpecConditionalParameterSpecIntValueCondition parentCategoricalValues:StudySpecParameterSpecConditionalParameterSpecCategoricalValueCondition",
  StudySpecParameterSpecConditionalParameterSpecDiscreteValueCondition: "values:double[]",
  StudySpecParameterSpecConditionalParameterSpecIntValueCondition: "values:int64[]",
  StudySpecParameterSpecConditionalParameterSpecCategoricalValueCondition: "values[]",
  StudySpecDecayCurveAutomatedStoppingSpec: "useElapsedDuration:bool",
  StudySpecMedianAutomatedStoppingSpec: "useElapsedDuration:bool",
  StudySpecConvexAutomatedStoppingSpec:
    "maxStepCount:int64 minStepCount:int64 minMeasurementCount:int64 learningRateParameterName useElapsedDuration:bool updateAllStoppedTrials:bool",
  StudySpecStudyStoppingConfig:
    "shouldStopAsap:bool minimumRuntimeConstraint:StudyTimeConstraint maximumRuntimeConstraint:StudyTimeConstraint minNumTrials:int32 maxNumTrials:int32 " +
    "maxNumTrialsNoProgress:int32 maxDurationNoProgress:duration",
  StudyTimeConstraint: "maxDuration:duration endTime:timestamp",
  CustomJobSpec:
    "workerPoolSpecs:WorkerPoolSpec[] scheduling:Scheduling serviceAccount network reservedIpRanges[] baseOutputDirectory:GcsDestination " +
    "protectedArtifactLocationId tensorboard enableWebAccess:bool enableDashboardAccess:bool experiment experimentRun models[] persistentResourceId pscInterfaceConfig:PscInterfaceConfig",
  WorkerPoolSpec:
    "containerSpec:ContainerSpec pythonPackageSpec:PythonPackageSpec machineSpec:MachineSpec replicaCount:int64 nfsMounts:NfsMount[] lustreMounts:LustreMount[] diskSpec:DiskSpec",
  ContainerSpec: "imageUri command[] args[] env:EnvVar[]",
  PythonPackageSpec: "executorImageUri packageUris[] pythonModule args[] env:EnvVar[]",
  EnvVar: "name value",
  MachineSpec: "machineType acceleratorType:enum acceleratorCount:int32 gpuPartitionSize tpuTopology reservationAffinity:ReservationAffinity",
  ReservationAffinity: "reservationAffinityType:enum key values[]",
  DiskSpec: "bootDiskType bootDiskSizeGb:int32",
  NfsMount: "server path mountPoint",
  LustreMount: "instanceIp volumeHandle filesystem mountPoint",
  Scheduling: "timeout:duration restartJobOnWorkerRestart:bool strategy:enum disableRetries:bool maxWaitDuration:duration",
  GcsDestination: "outputUriPrefix",
  PscInterfaceConfig: "networkAttachment dnsPeeringConfigs:DnsPeeringConfig[]",
  DnsPeeringConfig: "domain targetProject targetNetwork",
};

/**
 * The values of each enum field of the table by number, from aiplatform v1's protos (`study.proto`,
 * `accelerator_type.proto`, `reservation_affinity.proto`, `custom_job.proto`). proto3's JSON takes
 * an enum by its number as well as its name, and Google's Python client (the GAPIC REST transport,
 * which `aiplatform` uses with `api_transport="rest"`) sends every enum by number: refusing numbers
 * refused each of its creates.
 */
export const ENUM_VALUES: Record<string, readonly (string | undefined)[]> = {
  "StudySpec.algorithm": ["ALGORITHM_UNSPECIFIED", undefined, "GRID_SEARCH", "RANDOM_SEARCH"],
  "StudySpec.observationNoise": ["OBSERVATION_NOISE_UNSPECIFIED", "LOW", "HIGH"],
  "StudySpec.measurementSelectionType": ["MEASUREMENT_SELECTION_TYPE_UNSPECIFIED", "LAST_MEASUREMENT", "BEST_MEASUREMENT"],
  "StudySpecMetricSpec.goal": ["GOAL_TYPE_UNSPECIFIED", "MAXIMIZE", "MINIMIZE"],
  "StudySpecParameterSpec.scaleType": ["SCALE_TYPE_UNSPECIFIED", "UNIT_LINEAR_SCALE", "UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE"],
  "MachineSpec.acceleratorType": [
    "ACCELERATOR_TYPE_UNSPECIFIED", "NVIDIA_TESLA_K80", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100", "NVIDIA_TESLA_P4", "NVIDIA_TESLA_T4", "TPU_V2", "TPU_V3",
    "NVIDIA_TESLA_A100", "NVIDIA_A100_80GB", "TPU_V4_POD", "NVIDIA_L4", "TPU_V5_LITEPOD", "NVIDIA_H100_80GB", "NVIDIA_H100_MEGA_80GB", "NVIDIA_H200_141GB",
    "NVIDIA_B200", "NVIDIA_GB200", "NVIDIA_RTX_PRO_6000",
  ],
  "ReservationAffinity.reservationAffinityType": ["TYPE_UNSPECIFIED", "NO_RESERVATION", "ANY_RESERVATION", "SPECIFIC_RESERVATION"],
  "Scheduling.strategy": ["STRATEGY_UNSPECIFIED", "ON_DEMAND", "LOW_COST", "STANDARD", "SPOT", undefined, "FLEX_START"],
};

/** A field: its type (a scalar's, a message's name, `map` or `output`) and whether it is a list. */
export interface FieldShape {
  type: string;
  repeated: boolean;
}

/**
 * Each message's fields, parsed from the table. Plain objects, not Maps: the provider carries
 * this module into its process by Pulumi's closure serialization, which does not keep a Map.
 */
export const MESSAGE_FIELDS: Readonly<Record<string, Readonly<Record<string, FieldShape>>>> = Object.fromEntries(
  Object.entries(MESSAGES).map(([message, fields]) => [
    message,
    Object.fromEntries(
      fields.split(" ").map((token): [string, FieldShape] => {
        const [name, type = "string"] = token.replace("[]", "").split(":") as [string, string?];
        return [name, { type, repeated: token.endsWith("[]") }];
      }),
    ),
  ]),
);

/** The fields of a HyperparameterTuningJob that only the service sets: a create ignores them. */
export const OUTPUT_ONLY_FIELDS: ReadonlySet<string> = new Set(
  Object.entries(MESSAGE_FIELDS.HyperparameterTuningJob!).filter(([, field]) => field.type === "output").map(([name]) => name),
);

/** A message's field of that name (its own: a request's `constructor` is no field), if it has one. */
function fieldOf(message: string, name: string): FieldShape | undefined {
  const fields = MESSAGE_FIELDS[message]!;
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

/** Whether a type is a message's name (not a scalar's, `map` or `output`). */
function isMessage(type: string): boolean {
  return Object.hasOwn(MESSAGE_FIELDS, type);
}

/**
 * How deep messages may nest: protobuf's default recursion limit when it parses. Conditional
 * parameters nest two messages a level, so this allows about 50 levels of them; without a limit
 * a deep enough request would overflow the stack of every check after this one.
 */
const MAX_DEPTH = 100;
const TOO_DEEP = `messages nest more than ${MAX_DEPTH} deep here`;
/**
 * A decimal number as proto3's JSON takes it in a string (no hex, no spaces, no `_`), and an
 * integer: digits, or an integer mantissa with a non-negative exponent (`1e2`). Each digit run can
 * be matched one way only, so a long string that fails does so in linear time.
 */
const DECIMAL = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^-?\d+(?:[eE]\+?\d+)?$/;
const INT32_MAX = 2 ** 31 - 1;

/**
 * The job a request describes, in one form per field (see the module's comment), and every
 * unknown field name or value of the wrong JSON type, each with its JSON path, all at once.
 * A refused value is held by Pulumi's placeholder (`UNKNOWN`) in the job, which every rule
 * skips as a value not known yet, so the rest of the job is still checked. Values still unknown
 * at preview are kept as they are, never reported.
 */
export function readJobShape(body: unknown): { job: VertexJob; issues: Issue[]; unreadable: boolean } {
  const issues: Issue[] = [];
  const job = readMessage(body, "HyperparameterTuningJob", "", 0, issues);
  // No job object, or one nested past the limit: nothing a rule could say about it would help.
  const unreadable = job === undefined || issues.some((i) => i.message === TOO_DEEP);
  return { job: (job ?? {}) as VertexJob, issues, unreadable };
}

/**
 * The job in its one form per field (`readJobShape`), for comparing and hashing jobs: two requests
 * Vertex reads alike (`"5"` and `5`, `max_trial_count` and `maxTrialCount`, an enum's number and
 * its name, `null` and absent) give the same job, so a change of spelling is no new job. A job
 * already in that form (as `toVertexJob` writes it) comes back equal to itself, so its hash stays.
 * A request with an issue is returned as given: it creates no job, and the placeholders of its
 * refused values would make unlike requests equal.
 */
export function canonicalJob(job: unknown): unknown {
  const { job: read, issues, unreadable } = readJobShape(job);
  return issues.length > 0 || unreadable ? job : read;
}

function readMessage(value: unknown, message: string, path: string, depth: number, issues: Issue[]): unknown {
  if (isUnknown(value)) return value;
  if (!isObject(value)) {
    issues.push({ path: path || "(request)", message: `must be a ${message} object (got ${shown(value)})` });
    return path ? UNKNOWN : undefined;
  }
  if (depth >= MAX_DEPTH) {
    issues.push({ path, message: TOO_DEEP });
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const spelled = new Map<string, string>();
  for (const [given, raw] of Object.entries(value)) {
    const at = path ? `${path}.${given}` : given;
    // Vertex takes the proto name (max_trial_count) as well as the JSON one: kept under the latter.
    const name = fieldOf(message, given) || snake(camel(given)) !== given ? given : camel(given);
    const field = fieldOf(message, name);
    // proto3 JSON: null is the field's default; so is undefined here, as in TypeScript.
    if (field !== undefined && (raw === null || raw === undefined)) continue;
    if (field === undefined) {
      issues.push({ path: at, message: `unknown field "${given}" (Vertex AI refuses it: "Cannot find field."); ${message} has ${Object.keys(MESSAGE_FIELDS[message]!).join(", ")}` });
      continue;
    }
    if (spelled.has(name)) {
      issues.push({ path: at, message: `given twice, as "${spelled.get(name)}" and "${given}": keep one` });
      continue;
    }
    spelled.set(name, given);
    const read =
      field.type === "output" ? raw
      : field.type === "enum" ? readEnum(raw, ENUM_VALUES[`${message}.${name}`]!, at, issues)
      : field.repeated ? readList(raw, field.type, at, depth, issues)
      : readValue(raw, field.type, at, depth, issues);
    if (read !== undefined) out[name] = read;
  }
  return out;
}

function readList(value: unknown, type: string, path: string, depth: number, issues: Issue[]): unknown {
  if (isUnknown(value)) return value;
  if (!Array.isArray(value)) {
    issues.push({ path, message: `must be a list (got ${shown(value)})` });
    return UNKNOWN;
  }
  return value.map((item, i) => readValue(item, type, `${path}[${i}]`, depth, issues));
}

/** One value of a field (an item of a list), in its one form, or the placeholder after an issue. */
function readValue(value: unknown, type: string, path: string, depth: number, issues: Issue[]): unknown {
  if (isUnknown(value)) return value;
  if (isMessage(type)) return readMessage(value, type, path, depth + 1, issues);
  const refuse = (what: string): string => {
    issues.push({ path, message: `must be ${what} (got ${shown(value)})` });
    return UNKNOWN;
  };
  const decimal = typeof value === "number" ? value : typeof value === "string" && DECIMAL.test(value) ? Number(value) : NaN;
  const integer = typeof value === "number" ? value : typeof value === "string" && INTEGER.test(value) ? Number(value) : NaN;
  switch (type) {
    case "map":
      // Each value its own issue: one bad label must not hide the others' rules.
      if (!isObject(value)) return refuse("an object of string values");
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === "string" || isUnknown(v) ? v : readValue(v, "string", `${path}.${k}`, depth, issues)]));
    case "bool":
      return typeof value === "boolean" ? value : refuse("true or false");
    case "int32":
      if (!Number.isInteger(integer)) return refuse("an integer");
      return Math.abs(integer) <= INT32_MAX ? integer : refuse("a 32-bit integer");
    case "int64":
      if (!Number.isInteger(integer)) return refuse("an integer");
      // Digits stay exact beyond 2^53, in one spelling ("007" and "-0" are "7" and "0").
      if (typeof value === "string" && /^-?\d+$/.test(value)) return String(BigInt(value));
      // One beyond 2^53 is kept a number, for the rules to say it is out of range.
      return Number.isSafeInteger(integer) ? String(integer) : integer;
    case "double":
      // proto3 also takes "NaN" and "Infinity": no value of a study can be either.
      return Number.isFinite(decimal) ? decimal : refuse("a finite number");
    default:
      return typeof value === "string" ? value : refuse("a string");
  }
}

/** An enum field's value by its name, or by its number (kept as the name); no enum field is a list. */
function readEnum(value: unknown, names: readonly (string | undefined)[], path: string, issues: Issue[]): unknown {
  if (isUnknown(value) || typeof value === "string") return value;
  const name = typeof value === "number" && Number.isInteger(value) ? names[value] : undefined;
  if (name !== undefined) return name;
  const known = names.flatMap((n, i) => (n === undefined ? [] : [`${i} (${n})`]));
  issues.push({ path, message: `must be one of the field's values, by name or number: ${known.join(", ")} (got ${shown(value)})` });
  return UNKNOWN;
}

/** `max_trial_count` → `maxTrialCount`. */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `maxTrialCount` → `max_trial_count`: a field's proto name, the only other spelling taken. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A value as an issue shows it: JSON, cut short. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (isObject(value)) return "an object";
  const text = typeof value === "number" && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
