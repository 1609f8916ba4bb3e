/**
 * Validation of a Vertex AI `HyperparameterTuningJob` request, the same everywhere: the
 * component at construction, the provider's `check` at preview, and the local server (400).
 *
 * It reports every problem at once, each with the Vertex JSON path of the field and the rule it
 * breaks: unknown field names and values of the wrong JSON type first (`readJob`), then, once
 * there are none, the rules. Values still unknown at preview (Pulumi's placeholder) are skipped,
 * never reported.
 */
import { IDENTITY_LABEL, SPEC_LABEL } from "./hash";
import { ENUM_VALUES, readJobShape } from "./jobShape";
import { isUnknown } from "./placeholder";
import type { VertexJob, VertexParameterSpec } from "./vertexJson";

export { isUnknown, UNKNOWN } from "./placeholder";

/** One validation failure: where, and which rule. */
export interface Issue {
  /** Path in the Vertex JSON, e.g. `studySpec.parameters[1].doubleValueSpec.minValue`. */
  path: string;
  /** The rule that is broken, said so a person can fix it. */
  message: string;
}

/** Every name of an enum field of the job's field table (jobShape.ts), which lists them by number. */
function enumNames(field: keyof typeof ENUM_VALUES): string[] {
  return ENUM_VALUES[field].filter((name): name is string => name !== undefined);
}
const ALGORITHMS = enumNames("StudySpec.algorithm");
const SCALES = enumNames("StudySpecParameterSpec.scaleType");
const MEASUREMENT_SELECTIONS = enumNames("StudySpec.measurementSelectionType");
// Fewer than the enum has: a metric needs a goal, and ON_DEMAND and LOW_COST are deprecated.
const GOALS = ["MAXIMIZE", "MINIMIZE"];
const STRATEGIES = ["STRATEGY_UNSPECIFIED", "STANDARD", "SPOT", "FLEX_START"];
const DISK_TYPES = ["pd-ssd", "pd-standard", "hyperdisk-balanced"];
const VALUE_SPECS = ["doubleValueSpec", "integerValueSpec", "discreteValueSpec", "categoricalValueSpec"] as const;
const STOPPING_SPECS = ["medianAutomatedStoppingSpec", "decayCurveStoppingSpec", "convexAutomatedStoppingSpec"] as const;
/** Parameter ids become `--<id>=<value>` flags: letters, digits, `_`, `-` and `.`, starting with a letter or digit. */
const PARAMETER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;

/**
 * A valid label value made from any text: the text itself when it is one already, else lowercased,
 * every other character turned into `-`, and cut to 63 characters (e.g. a Pulumi stack name,
 * which may hold capitals and dots).
 */
export function toLabelValue(text: string): string {
  if (LABEL_VALUE.test(text)) return text;
  return [...text.toLowerCase().replace(/[^\p{Ll}\p{Lo}\p{N}_-]/gu, "-")].slice(0, 63).join("");
}
const DURATION = /^\d+(\.\d{1,9})?s$/;
/** Vertex's AcceleratorType enum names (NVIDIA_TESLA_T4, TPU_V5_LITEPOD, ...); the list itself grows, so only the form is checked. */
const ACCELERATOR_NAME = /^[A-Z][A-Z0-9_]*$/;
/**
 * Cloud Storage URIs: a bucket name (3 to 222 lowercase letters, digits, '-', '_' and '.', from
 * and to a letter or digit), then an object or a folder. `gs:///x/` or `gs://My Bucket/` fail
 * only when a trial writes (or, locally, were mapped to a folder of no bucket).
 */
const GCS_BUCKET = "gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]";
const GCS_OBJECT = new RegExp(`^${GCS_BUCKET}/[^\\r\\n]+$`);
const GCS_PREFIX = new RegExp(`^${GCS_BUCKET}(/[^\\r\\n]*)?$`);
const BUCKET_RULE = "the bucket's name of lowercase letters, digits, '-', '_' and '.'";
/** A VPC network as Vertex takes it, by project number. */
const NETWORK = /^projects\/[^/]+\/global\/networks\/[^/]+$/;
const INT64 = /^-?\d+$/;
const KMS_KEY = /^projects\/[^/]+\/locations\/([^/]+)\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_DISCRETE_VALUES = 1000;
const MAX_TRIALS_UPPER_BOUND = 100_000;

/** Collects issues; every check skips unknown values. */
class Checker {
  readonly issues: Issue[];

  // Assigned here, not as a field initializer: Pulumi's closure serializer (which carries this
  // module into the dynamic-provider process) drops field initializers.
  constructor() {
    this.issues = [];
  }

  fail(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** A required value: present (or unknown). Returns whether checks on it should go on. */
  required(value: unknown, path: string, what: string): boolean {
    if (isUnknown(value)) return false;
    if (value === undefined || value === null || value === "") {
      this.fail(path, `${what} is required`);
      return false;
    }
    return true;
  }

  /** An integer within [min, max], or absent when optional. */
  integer(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER, optional = false): void {
    if (isUnknown(value) || (optional && value === undefined)) return;
    if (value === undefined) {
      this.fail(path, `${path.split(".").pop()} is required`);
      return;
    }
    const n = typeof value === "string" && INT64.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n)) this.fail(path, `must be an integer (got ${JSON.stringify(value)})`);
    else if (n < min || n > max) this.fail(path, `must be ${min === max ? min : `between ${min} and ${max}`} (got ${n})`);
  }

  oneOf(value: unknown, allowed: string[], path: string): void {
    if (value === undefined || isUnknown(value)) return;
    if (typeof value !== "string" || !allowed.includes(value)) {
      this.fail(path, `must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`);
    }
  }
}

function finite(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/**
 * A list's items; none while it is absent or unknown. At preview any value may be Pulumi's
 * placeholder, a list or a message too; so is a value `readJobShape` refused, so that the rules
 * below say nothing about it (its type issue says it) and treat it as there.
 */
function listOf<T>(value: T[] | null | undefined): T[] {
  return Array.isArray(value) ? value : [];
}

/** A message to check, or undefined while it is absent or unknown (see `listOf`). */
function messageOf<T extends object>(value: T | null | undefined): T | undefined {
  return typeof value === "object" && value !== null ? value : undefined;
}

/**
 * The parent's type and, when its values are known, the test of a child's condition value
 * against them (none while a bound or the list is unknown).
 */
function parentDomain(spec: VertexParameterSpec): { kind: "int" | "discrete" | "categorical" | "double"; has?: (v: unknown) => boolean } | undefined {
  if (spec.integerValueSpec) {
    const bounds = messageOf(spec.integerValueSpec);
    const lo = Number(bounds?.minValue);
    const hi = Number(bounds?.maxValue);
    const known = Number.isInteger(lo) && Number.isInteger(hi);
    return { kind: "int", has: known ? (v) => INT64.test(String(v)) && Number(v) >= lo && Number(v) <= hi : undefined };
  }
  if (spec.discreteValueSpec) {
    const values = messageOf(spec.discreteValueSpec)?.values;
    return { kind: "discrete", has: Array.isArray(values) && !values.some(isUnknown) ? (v) => values.includes(v as number) : undefined };
  }
  if (spec.categoricalValueSpec) {
    const values = messageOf(spec.categoricalValueSpec)?.values;
    return { kind: "categorical", has: Array.isArray(values) && !values.some(isUnknown) ? (v) => values.includes(v as string) : undefined };
  }
  if (spec.doubleValueSpec) return { kind: "double" };
  return undefined;
}

function checkValueSpec(c: Checker, p: VertexParameterSpec, path: string, algorithm: unknown): void {
  const present = VALUE_SPECS.filter((k) => p[k] !== undefined && p[k] !== null);
  if (present.length !== 1) {
    c.fail(path, `exactly one of ${VALUE_SPECS.join(", ")} must be set (found ${present.length ? present.join(", ") : "none"})`);
    return;
  }
  const kind = present[0];
  c.oneOf(p.scaleType, SCALES, `${path}.scaleType`);
  const spec = messageOf(p[kind] as { defaultValue?: unknown });
  if (!spec) return;
  if (spec.defaultValue !== undefined) c.fail(`${path}.${kind}.defaultValue`, "defaultValue is not supported by hyperparameter tuning jobs (Vizier only)");
  const logScale = p.scaleType === "UNIT_LOG_SCALE" || p.scaleType === "UNIT_REVERSE_LOG_SCALE";

  if (kind === "doubleValueSpec") {
    const { minValue, maxValue } = p.doubleValueSpec!;
    const known = !isUnknown(minValue) && !isUnknown(maxValue);
    if (!isUnknown(minValue) && !finite(minValue)) c.fail(`${path}.doubleValueSpec.minValue`, "must be a finite number");
    if (!isUnknown(maxValue) && !finite(maxValue)) c.fail(`${path}.doubleValueSpec.maxValue`, "must be a finite number");
    if (known && finite(minValue) && finite(maxValue) && minValue >= maxValue) {
      c.fail(`${path}.doubleValueSpec.minValue`, `must be less than maxValue (${minValue} >= ${maxValue})`);
    }
    if (logScale && finite(minValue) && minValue <= 0) c.fail(`${path}.doubleValueSpec.minValue`, `must be > 0 for ${p.scaleType} (got ${minValue})`);
    // The optimizer maps values through maxValue − minValue (and their sum on a reverse-log
    // scale): a range wider than a double holds would put every suggestion at one bound.
    else if (finite(minValue) && finite(maxValue) && !(Number.isFinite(maxValue - minValue) && Number.isFinite(maxValue + minValue))) {
      c.fail(`${path}.doubleValueSpec`, `the range from minValue to maxValue is wider than a double can hold (${minValue} to ${maxValue})`);
    }
    if (algorithm === "GRID_SEARCH") c.fail(`${path}.doubleValueSpec`, "GRID_SEARCH cannot search a DOUBLE parameter: use DISCRETE values or another algorithm");
  } else if (kind === "integerValueSpec") {
    const { minValue, maxValue } = p.integerValueSpec!;
    c.integer(minValue, `${path}.integerValueSpec.minValue`, Number.MIN_SAFE_INTEGER);
    c.integer(maxValue, `${path}.integerValueSpec.maxValue`, Number.MIN_SAFE_INTEGER);
    const lo = Number(minValue);
    const hi = Number(maxValue);
    if (!isUnknown(minValue) && !isUnknown(maxValue) && Number.isInteger(lo) && Number.isInteger(hi) && lo > hi) {
      c.fail(`${path}.integerValueSpec.minValue`, `must not be above maxValue (${lo} > ${hi})`);
    }
    if (logScale && Number.isInteger(lo) && lo <= 0) c.fail(`${path}.integerValueSpec.minValue`, `must be > 0 for ${p.scaleType} (got ${lo})`);
  } else if (kind === "discreteValueSpec") {
    const values = p.discreteValueSpec!.values;
    const vpath = `${path}.discreteValueSpec.values`;
    if (isUnknown(values)) return;
    if (!Array.isArray(values) || values.length === 0) c.fail(vpath, "must list at least one value");
    else if (values.length > MAX_DISCRETE_VALUES) c.fail(vpath, `must list at most ${MAX_DISCRETE_VALUES} values (got ${values.length})`);
    else {
      let previous: number | undefined;
      values.forEach((v, i) => {
        if (isUnknown(v)) return;
        if (!finite(v)) c.fail(`${vpath}[${i}]`, `must be a finite number (got ${JSON.stringify(v)})`);
        else {
          if (previous !== undefined && v - previous < 1e-10) c.fail(`${vpath}[${i}]`, `values must increase, at least 1e-10 apart (${previous} then ${v})`);
          previous = v;
        }
      });
      if (logScale && values.some((v) => finite(v) && v <= 0)) c.fail(vpath, `every value must be > 0 for ${p.scaleType}`);
      else if (logScale && values.every(finite)) {
        // The optimizer places values by their logarithm (of lo + hi − v on the reverse scale):
        // two that share one are one point to it, and the second is never suggested.
        const lo = values[0]!;
        const hi = values[values.length - 1]!;
        const place = (v: number) => Math.log(p.scaleType === "UNIT_LOG_SCALE" ? v : lo + hi - v);
        values.forEach((v, i) => {
          if (i > 0 && place(v) === place(values[i - 1]!)) c.fail(`${vpath}[${i}]`, `${values[i - 1]} and ${v} are one point on ${p.scaleType}: space them further apart`);
        });
      }
    }
  } else {
    const values = p.categoricalValueSpec!.values;
    const vpath = `${path}.categoricalValueSpec.values`;
    if (p.scaleType !== undefined && p.scaleType !== "SCALE_TYPE_UNSPECIFIED") c.fail(`${path}.scaleType`, "a CATEGORICAL parameter has no scale");
    if (isUnknown(values)) return;
    if (!Array.isArray(values) || values.length === 0) c.fail(vpath, "must list at least one value");
    else {
      const seen = new Set<string>();
      values.forEach((v, i) => {
        // A refused value stands as the placeholder: it is neither a value nor a duplicate.
        if (isUnknown(v)) return;
        if (typeof v !== "string" || v === "") c.fail(`${vpath}[${i}]`, "must be a non-empty string");
        else if (seen.has(v)) c.fail(`${vpath}[${i}]`, `duplicate value ${JSON.stringify(v)}`);
        else seen.add(v);
      });
    }
  }
}

function checkParameter(c: Checker, p: VertexParameterSpec, path: string, ids: Set<string>, algorithm: unknown): void {
  if (c.required(p.parameterId, `${path}.parameterId`, "parameterId")) {
    const id = p.parameterId!;
    if (!PARAMETER_ID.test(id)) {
      c.fail(`${path}.parameterId`, `must be usable as a flag name: letters, digits, '_', '-', '.', starting with a letter or digit (got ${JSON.stringify(id)})`);
    }
    if (ids.has(id)) c.fail(`${path}.parameterId`, `duplicate parameterId ${JSON.stringify(id)}: ids must be unique across all parameters, conditional children included`);
    else ids.add(id);
  }
  checkValueSpec(c, p, path, algorithm);
  const children = listOf(p.conditionalParameterSpecs);
  if (children.length === 0) return;
  const domain = parentDomain(p);
  children.forEach((item, j) => {
    const child = messageOf(item);
    if (!child) return;
    const cpath = `${path}.conditionalParameterSpecs[${j}]`;
    if (domain?.kind === "double") {
      c.fail(cpath, "a DOUBLE parameter cannot have conditional children: use INTEGER, DISCRETE or CATEGORICAL");
      return;
    }
    const conditions = (["parentDiscreteValues", "parentIntValues", "parentCategoricalValues"] as const).filter((k) => child[k]);
    const expected = domain?.kind === "int" ? "parentIntValues" : domain?.kind === "discrete" ? "parentDiscreteValues" : "parentCategoricalValues";
    if (conditions.length !== 1 || conditions[0] !== expected) {
      c.fail(cpath, `must set exactly ${expected}, matching the parent's type`);
    } else {
      const condition = messageOf(child[expected]);
      const values = condition?.values;
      if (condition && !isUnknown(values)) {
        if (!Array.isArray(values) || values.length === 0) c.fail(`${cpath}.${expected}.values`, "must list at least one parent value");
        else values.forEach((v, k) => {
          if (!isUnknown(v) && domain?.has && !domain.has(v)) c.fail(`${cpath}.${expected}.values[${k}]`, `${JSON.stringify(v)} is not a value of the parent parameter`);
        });
      }
    }
    const spec = messageOf(child.parameterSpec);
    if (c.required(child.parameterSpec, `${cpath}.parameterSpec`, "parameterSpec") && spec) {
      checkParameter(c, spec, `${cpath}.parameterSpec`, ids, algorithm);
    }
  });
}

function checkStudySpec(c: Checker, job: VertexJob): void {
  const s = messageOf(job.studySpec);
  if (!c.required(job.studySpec, "studySpec", "studySpec") || !s) return;
  c.oneOf(s.algorithm, ALGORITHMS, "studySpec.algorithm");
  c.oneOf(s.measurementSelectionType, MEASUREMENT_SELECTIONS, "studySpec.measurementSelectionType");
  if (s.observationNoise !== undefined) c.fail("studySpec.observationNoise", "observationNoise is not supported by hyperparameter tuning jobs (Vizier only)");

  const metrics = listOf(s.metrics);
  if (!isUnknown(s.metrics) && metrics.length !== 1) c.fail("studySpec.metrics", `exactly one metric is required (got ${metrics.length})`);
  metrics.forEach((item, i) => {
    const m = messageOf(item);
    if (!m) return;
    if (c.required(m.metricId, `studySpec.metrics[${i}].metricId`, "metricId") && /\s/.test(m.metricId!)) {
      c.fail(`studySpec.metrics[${i}].metricId`, "must not contain whitespace");
    }
    if (c.required(m.goal, `studySpec.metrics[${i}].goal`, "goal")) c.oneOf(m.goal, GOALS, `studySpec.metrics[${i}].goal`);
  });

  const parameters = s.parameters;
  if (!isUnknown(parameters)) {
    if (!Array.isArray(parameters) || parameters.length === 0) c.fail("studySpec.parameters", "at least one parameter is required");
    else {
      const ids = new Set<string>();
      parameters.forEach((p, i) => {
        if (messageOf(p)) checkParameter(c, p, `studySpec.parameters[${i}]`, ids, s.algorithm);
      });
    }
  }

  const stopping = STOPPING_SPECS.filter((k) => s[k] !== undefined && s[k] !== null);
  if (stopping.length > 1) c.fail("studySpec", `at most one early-stopping spec may be set (found ${stopping.join(", ")})`);
  const convex = messageOf(s.convexAutomatedStoppingSpec);
  if (convex) {
    for (const k of ["maxStepCount", "minStepCount", "minMeasurementCount"] as const) {
      c.integer(convex[k], `studySpec.convexAutomatedStoppingSpec.${k}`, 0, Number.MAX_SAFE_INTEGER, true);
    }
  }
}

function checkTrialJobSpec(c: Checker, job: VertexJob, tunedIds: string[]): void {
  const spec = messageOf(job.trialJobSpec);
  if (!c.required(job.trialJobSpec, "trialJobSpec", "trialJobSpec") || !spec) return;
  const pools = listOf(spec.workerPoolSpecs);
  if (!isUnknown(spec.workerPoolSpecs) && pools.length === 0) c.fail("trialJobSpec.workerPoolSpecs", "at least one worker pool is required");
  pools.forEach((item, i) => {
    const pool = messageOf(item);
    if (!pool) return;
    const path = `trialJobSpec.workerPoolSpecs[${i}]`;
    const m = isUnknown(pool.machineSpec) ? {} : (pool.machineSpec ?? {});
    if (!isUnknown(pool.machineSpec)) c.required(m.machineType, `${path}.machineSpec.machineType`, "machineType");
    const hasType = m.acceleratorType !== undefined && m.acceleratorType !== "" && m.acceleratorType !== "ACCELERATOR_TYPE_UNSPECIFIED";
    const hasCount = m.acceleratorCount !== undefined && m.acceleratorCount !== 0;
    if (hasType && !hasCount) c.fail(`${path}.machineSpec.acceleratorCount`, "acceleratorType and acceleratorCount must be set together: give acceleratorCount");
    if (hasCount && !hasType) c.fail(`${path}.machineSpec.acceleratorType`, "acceleratorType and acceleratorCount must be set together: give acceleratorType");
    if (hasCount) c.integer(m.acceleratorCount, `${path}.machineSpec.acceleratorCount`, 1, 16);
    if (hasType && !isUnknown(m.acceleratorType) && !ACCELERATOR_NAME.test(String(m.acceleratorType))) {
      const enumName = String(m.acceleratorType).toUpperCase().replace(/[^A-Z0-9]+/g, "_");
      c.fail(`${path}.machineSpec.acceleratorType`, `must be Vertex's accelerator name, such as NVIDIA_TESLA_T4 (got ${JSON.stringify(m.acceleratorType)}; ${enumName}?)`);
    }
    c.integer(pool.replicaCount, `${path}.replicaCount`, i === 0 ? 1 : 0, i === 0 ? 1 : 1000, i !== 0);
    const disk = messageOf(pool.diskSpec);
    if (disk) {
      c.oneOf(disk.bootDiskType, DISK_TYPES, `${path}.diskSpec.bootDiskType`);
      c.integer(disk.bootDiskSizeGb, `${path}.diskSpec.bootDiskSizeGb`, 10, 65_536, true);
    }
    const tasks = [pool.containerSpec && "containerSpec", pool.pythonPackageSpec && "pythonPackageSpec"].filter(Boolean);
    if (tasks.length !== 1) {
      c.fail(path, `exactly one of containerSpec, pythonPackageSpec must be set (found ${tasks.length ? tasks.join(", ") : "none"})`);
      return;
    }
    const container = messageOf(pool.containerSpec);
    const pythonPackage = messageOf(pool.pythonPackageSpec);
    const task = container ?? pythonPackage;
    if (!task) return;
    const tpath = `${path}.${tasks[0]}`;
    if (container) c.required(container.imageUri, `${tpath}.imageUri`, "imageUri");
    if (pythonPackage) {
      c.required(pythonPackage.executorImageUri, `${tpath}.executorImageUri`, "executorImageUri");
      c.required(pythonPackage.pythonModule, `${tpath}.pythonModule`, "pythonModule");
      const uris = pythonPackage.packageUris;
      if (!isUnknown(uris)) {
        if (!Array.isArray(uris) || uris.length === 0) c.fail(`${tpath}.packageUris`, "at least one package URI is required");
        else uris.forEach((u, k) => {
          if (!isUnknown(u) && !GCS_OBJECT.test(String(u))) c.fail(`${tpath}.packageUris[${k}]`, `must be gs://<bucket>/<object>, ${BUCKET_RULE} (got ${JSON.stringify(u)})`);
        });
      }
    }
    listOf(task.args).forEach((arg, k) => {
      const flag = typeof arg === "string" ? arg.replace(/^--/, "").split("=")[0] : "";
      if (typeof arg === "string" && arg.startsWith("--") && tunedIds.includes(flag)) {
        c.fail(`${tpath}.args[${k}]`, `--${flag} is a tuned parameter: Vertex appends it to every trial, so it must not be fixed in args`);
      }
    });
    const env = listOf(task.env);
    if (env.length > 100) c.fail(`${tpath}.env`, `at most 100 variables (got ${env.length})`);
    env.forEach((item, k) => {
      const e = messageOf(item);
      if (!e || isUnknown(e.name)) return;
      if (c.required(e.name, `${tpath}.env[${k}].name`, "name") && !ENV_NAME.test(e.name!)) c.fail(`${tpath}.env[${k}].name`, `must be a valid variable name (got ${JSON.stringify(e.name)})`);
    });
  });

  const scheduling = messageOf(spec.scheduling);
  if (scheduling) {
    c.oneOf(scheduling.strategy, STRATEGIES, "trialJobSpec.scheduling.strategy");
    const timeout = scheduling.timeout ?? undefined;
    // A negative duration is well formed: it is told it must be positive, not how to write one.
    if (timeout !== undefined && !isUnknown(timeout) && !DURATION.test(String(timeout).replace(/^-/, ""))) {
      c.fail("trialJobSpec.scheduling.timeout", `must be a duration in seconds such as "3600s" (got ${JSON.stringify(scheduling.timeout)})`);
    } else if (timeout !== undefined && parseFloat(timeout) <= 0) {
      c.fail("trialJobSpec.scheduling.timeout", "must be positive");
    }
  }
  const network = spec.network ?? undefined;
  if (network !== undefined && !isUnknown(network) && !NETWORK.test(network)) {
    c.fail("trialJobSpec.network", `must be projects/<project number>/global/networks/<name> (got ${JSON.stringify(network)})`);
  }
  const prefix = messageOf(spec.baseOutputDirectory)?.outputUriPrefix ?? undefined;
  if (prefix !== undefined && !isUnknown(prefix) && !GCS_PREFIX.test(prefix)) {
    c.fail("trialJobSpec.baseOutputDirectory.outputUriPrefix", `must be gs://<bucket>/ or gs://<bucket>/<folder>/, ${BUCKET_RULE} (got ${JSON.stringify(prefix)})`);
  }
}

/** The ids of every parameter, conditional children included. */
export function allParameterIds(parameters: VertexParameterSpec[] | undefined): string[] {
  return allParameterSpecs(parameters).flatMap((p) => (typeof p.parameterId === "string" ? [p.parameterId] : []));
}

/** Every parameter spec, conditional children (at any depth) included, parents first. */
export function allParameterSpecs(parameters: VertexParameterSpec[] | undefined): VertexParameterSpec[] {
  const specs: VertexParameterSpec[] = [];
  const walk = (ps: VertexParameterSpec[] | undefined) =>
    listOf(ps).forEach((item) => {
      const p = messageOf(item);
      if (!p) return;
      specs.push(p);
      walk(listOf(p.conditionalParameterSpecs).map((c) => messageOf(c)?.parameterSpec ?? {}));
    });
  walk(parameters);
  return specs;
}

/** Vertex AI's limit on a job's labels. */
const MAX_LABELS = 64;
/** The labels the tuning-job resource adds to every job it creates (its idempotency labels). */
const RESOURCE_LABELS = [IDENTITY_LABEL, SPEC_LABEL];
/** The labels a study may give its job: Vertex AI's limit less the resource's own. */
export const MAX_STUDY_LABELS = MAX_LABELS - RESOURCE_LABELS.length;

/**
 * Every problem of a tuning-job request, with its path. `location`, when known, is checked
 * against the CMEK key's region (Vertex requires the key in the job's region).
 * @param resourceLabels the job is the user's, to which the tuning-job resource will add its two
 *   labels: their keys are reserved and count toward the limit. False for a request as sent.
 */
export function validateJob(request: unknown, location?: string, resourceLabels = true): Issue[] {
  return checkJob(request, location, resourceLabels).issues;
}

/**
 * `validateJob`'s issues, and the job read in one form per field (`readJobShape`), which the
 * local backend keeps when there are none.
 * @param sent the request as a client sent it (the local server's create), read as Vertex reads
 *   it: a value spec's bound left out is proto3's 0. proto3 has no presence for these scalars, so
 *   a client that builds its request as a proto (Google's Python client, `DoubleParameterSpec(min=0)`)
 *   leaves a bound of 0 out. False for what a user wrote (the component, the provider), where a
 *   missing bound is a mistake to name.
 */
export function checkJob(request: unknown, location?: string, resourceLabels = true, sent = false): { job: VertexJob; issues: Issue[] } {
  // Field names and JSON types first, as Google's front end reads them. The rules then run on the
  // job with each refused value held by Pulumi's placeholder, which they skip as a value not known
  // yet: its type issue is all there is to say about it, and the rest of the job is still checked.
  const { job, issues, unreadable } = readJobShape(request);
  if (unreadable) return { job, issues };
  if (sent) {
    for (const p of allParameterSpecs(job.studySpec?.parameters)) {
      const double = messageOf(p.doubleValueSpec);
      const integer = messageOf(p.integerValueSpec);
      if (double) Object.assign(double, { minValue: double.minValue ?? 0, maxValue: double.maxValue ?? 0 });
      if (integer) Object.assign(integer, { minValue: integer.minValue ?? "0", maxValue: integer.maxValue ?? "0" });
    }
  }
  return { job, issues: [...issues, ...ruleIssues(job, location, resourceLabels)] };
}

/** The rules of a job whose names and types are right. */
function ruleIssues(job: VertexJob, location: string | undefined, resourceLabels: boolean): Issue[] {
  const c = new Checker();
  if (c.required(job.displayName, "displayName", "displayName") && [...job.displayName!].length > 128) {
    c.fail("displayName", `must be at most 128 characters (got ${[...job.displayName!].length})`);
  }
  c.integer(job.maxTrialCount, "maxTrialCount", 1, MAX_TRIALS_UPPER_BOUND);
  c.integer(job.parallelTrialCount, "parallelTrialCount", 1, MAX_TRIALS_UPPER_BOUND);
  c.integer(job.maxFailedTrialCount, "maxFailedTrialCount", 0, MAX_TRIALS_UPPER_BOUND, true);
  const max = job.maxTrialCount;
  const parallel = job.parallelTrialCount;
  if (finite(max) && finite(parallel) && parallel > max) {
    c.fail("parallelTrialCount", `must not exceed maxTrialCount (${parallel} > ${max})`);
  }
  checkStudySpec(c, job);
  checkTrialJobSpec(c, job, allParameterIds(job.studySpec?.parameters));

  const labels = job.labels ?? {};
  if (!isUnknown(labels)) {
    const limit = resourceLabels ? MAX_STUDY_LABELS : MAX_LABELS;
    if (Object.keys(labels).length > limit) {
      c.fail("labels", resourceLabels ? `at most ${limit} labels (Vertex allows ${MAX_LABELS}, and the job gets ${RESOURCE_LABELS.join(" and ")})` : `at most ${limit} labels`);
    }
    for (const [k, v] of Object.entries(labels)) {
      if (isUnknown(k) || isUnknown(v)) continue;
      if (resourceLabels && RESOURCE_LABELS.includes(k)) c.fail(`labels.${k}`, `${k} is the tuning-job resource's own label: choose another key`);
      else if (!LABEL_KEY.test(k)) c.fail(`labels.${k}`, "label keys: 1-63 lowercase letters, digits, '_' or '-', starting with a letter");
      else if (!LABEL_VALUE.test(v)) c.fail(`labels.${k}`, `label values: at most 63 lowercase letters, digits, '_' or '-' (got ${JSON.stringify(v)})`);
    }
  }
  const key = messageOf(job.encryptionSpec)?.kmsKeyName ?? undefined;
  if (key !== undefined && !isUnknown(key)) {
    const m = KMS_KEY.exec(key);
    if (!m) c.fail("encryptionSpec.kmsKeyName", "must be projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>");
    else if (location && !isUnknown(location) && m[1] !== location) {
      c.fail("encryptionSpec.kmsKeyName", `the key is in ${m[1]} but the job runs in ${location}: Vertex needs a key in the job's region`);
    }
  }
  return c.issues;
}

/**
 * The rules of the settings beside a job, shared by the component (its arguments) and the
 * provider (its inputs): each says why a given, known value breaks it, or undefined. A flag of
 * another type would be read by its truthiness (`wait: "false"` waited).
 */
export const SETTING_RULES = {
  backend: (value: unknown): string | undefined => (value === "vertex" || value === "local" ? undefined : `must be "vertex" or "local" (got ${JSON.stringify(value)})`),
  flag: (value: unknown): string | undefined => (typeof value === "boolean" ? undefined : `must be true or false (got ${JSON.stringify(value)})`),
  minutes: (value: unknown): string | undefined => (typeof value === "number" && value > 0 ? undefined : `must be a positive number of minutes (got ${JSON.stringify(value)})`),
  /** The age in days after which the staging bucket deletes build sources and logs: a lifecycle rule takes whole days, at least 1. */
  ageDays: (value: unknown): string | undefined => (Number.isInteger(value) && (value as number) >= 1 ? undefined : `must be a whole number of days, at least 1 (got ${JSON.stringify(value)})`),
  /** The service account a build runs as, by its email (`--service-account`, IAM members). */
  serviceAccountEmail: (value: unknown): string | undefined =>
    typeof value === "string" && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value) ? undefined : `must be a service account's email, such as builder@<project>.iam.gserviceaccount.com (got ${JSON.stringify(value)})`,
  /**
   * A Google Cloud project on Vertex AI: its id (6–30 lowercase letters, digits and hyphens, from a
   * letter, not ending in a hyphen; legacy ids are scoped by a domain, `example.com:id`) or its
   * number. A typo otherwise fails only at `up`, after the bucket and accounts were asked for.
   */
  project: (value: unknown): string | undefined =>
    typeof value === "string" && (PROJECT_ID.test(value) || /^[0-9]+$/.test(value))
      ? undefined
      : `must be a Google Cloud project id (6 to 30 lowercase letters, digits and hyphens, starting with a letter, such as my-project-123) or number (got ${JSON.stringify(value)})`,
  /** A Google Cloud region on Vertex AI (`us-central1`, `europe-west4`): "us-central-1" or "US-CENTRAL1" fail only at `up`. */
  region: (value: unknown): string | undefined =>
    typeof value === "string" && /^[a-z]+(-[a-z]+)+[0-9]+$/.test(value) ? undefined : `must be a Google Cloud region such as us-central1 or europe-west4 (got ${JSON.stringify(value)})`,
};

/** A project id, optionally scoped by a domain (`example.com:my-project`). */
const PROJECT_ID = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** One message listing every issue, one per line. */
export function formatIssues(issues: Issue[], translate: (path: string) => string = (p) => p): string {
  return issues.map((i) => `  ${translate(i.path)}: ${i.message}`).join("\n");
}
