/**
 * The one reader of a stack's study configuration (`Pulumi.<stack>.yaml`), used by the stack
 * program, the `tune` command and the tests alike.
 *
 * It checks the shape (known keys, value types) and reports every problem with its config path;
 * the meaning (bounds, scales, algorithm rules) is checked by `buildJob`, the component's own
 * check, and joins the shape problems when there are any, so a config is fixed in one pass.
 */
import { buildJob, VERTEX_INFRA_PLACEHOLDERS } from "./build";
import { SETTING_RULES, type Issue } from "./validate";
import type { Backend, JobContext } from "./vertexJson";
import type { StudyDefinition, TrainerDefinition } from "./model";

/** Everything a stack's configuration says about its study. */
export interface StudyConfig {
  /** `vertex` (default) or `local`. */
  backend: Backend;
  /** The study. */
  study: StudyDefinition;
  /** The trainer; default `{ source: "trainer" }`. */
  trainer: TrainerDefinition;
  /** Labels for every labelable resource and the job. */
  labels?: Record<string, string>;
  /** CMEK key for the bucket, the repository and the job. */
  kmsKeyName?: string;
  /** Whether `pulumi up` waits for the job to end. Default true. */
  wait?: boolean;
  /** How long `pulumi up` waits before it stops (the job keeps running). */
  waitTimeoutMinutes?: number;
  /** Staging bucket settings: location, forceDestroy, stagingObjectAgeDays. */
  bucket?: { location?: string; forceDestroy?: boolean; stagingObjectAgeDays?: number };
  /** Enable the APIs the study uses. Default true. */
  enableApis?: boolean;
  /** Service account the image build runs as. */
  buildServiceAccountEmail?: string;
}

/** The config keys, under the project's namespace (`<project>:<key>`). */
export const CONFIG_KEYS = [
  "backend", "study", "trainer", "labels", "kmsKeyName", "wait", "waitTimeoutMinutes", "bucket", "enableApis", "buildServiceAccountEmail",
] as const;

type Shape =
  | "string" | "number" | "boolean" | "strings" | "numbers" | "stringMap" | "values"
  | { object: Record<string, Shape> }
  | { list: Shape }
  | { parameter: true };

const EARLY_STOPPING_FLAG: Shape = { object: { useElapsedDuration: "boolean" } };

const PARAMETER_FIELDS: Record<string, Shape> = {
  id: "string", type: "string", min: "number", max: "number", scale: "string", values: "values",
  children: { list: { object: { parentValues: "values", parameter: { parameter: true } } } },
};

/**
 * The fields each parameter type takes besides `id` and `type` (model.ts, and Vertex's value
 * specs: scaleType applies to all but CATEGORICAL). `toVertexJob` maps only these, so another
 * type's field (`scale` on a CATEGORICAL, `values` on a DOUBLE) was dropped without a word. A
 * DOUBLE's `children` are mapped, and refused by validation's own rule, which names each child.
 */
const PARAMETER_TYPE_FIELDS: Record<string, readonly string[]> = {
  DOUBLE: ["min", "max", "scale", "children"],
  INTEGER: ["min", "max", "scale", "children"],
  DISCRETE: ["values", "scale", "children"],
  CATEGORICAL: ["values", "children"],
};

/** The issue of a parameter field its type does not take, naming the types that do; none for a field it takes or a type it does not know. */
function foreignFieldIssue(path: string, key: string, type: unknown): Issue | undefined {
  const fields = typeof type === "string" && Object.hasOwn(PARAMETER_TYPE_FIELDS, type) ? PARAMETER_TYPE_FIELDS[type] : undefined;
  if (!fields || key === "id" || key === "type" || fields.includes(key)) return undefined;
  const takers = Object.keys(PARAMETER_TYPE_FIELDS).filter((t) => PARAMETER_TYPE_FIELDS[t].includes(key));
  const list = takers.length > 1 ? `${takers.slice(0, -1).join(", ")} and ${takers[takers.length - 1]}` : takers[0];
  return { path, message: `${key} does not apply to ${typeWithArticle(type)} parameter (only ${list} take it): remove it, or change the type` };
}

/** A parameter type with its article, as a sentence names it: "an INTEGER", "a DOUBLE". */
function typeWithArticle(type: unknown): string {
  return `${type === "INTEGER" ? "an" : "a"} ${String(type)}`;
}

const STUDY: Shape = {
  object: {
    displayName: "string",
    metric: { object: { id: "string", goal: "string" } },
    parameters: { list: { parameter: true } },
    algorithm: "string",
    maxTrials: "number",
    parallelTrials: "number",
    maxFailedTrials: "number",
    measurementSelection: "string",
    earlyStopping: {
      object: {
        median: EARLY_STOPPING_FLAG,
        decayCurve: EARLY_STOPPING_FLAG,
        convex: {
          object: {
            maxStepCount: "number", minStepCount: "number", minMeasurementCount: "number",
            learningRateParameterName: "string", useElapsedDuration: "boolean", updateAllStoppedTrials: "boolean",
          },
        },
      },
    },
    trial: {
      object: {
        machineType: "string", acceleratorType: "string", acceleratorCount: "number", replicaCount: "number",
        bootDisk: { object: { type: "string", sizeGb: "number" } }, scheduling: "string", timeoutSeconds: "number",
        restartOnWorkerRestart: "boolean", args: "strings", env: "stringMap", network: "string", enableWebAccess: "boolean",
      },
    },
  },
};

const TRAINER: Shape = {
  object: {
    source: "string", imageUri: "string", command: "strings",
    pythonPackage: { object: { executorImageUri: "string", packageUris: "strings", module: "string" } },
  },
};

const BUCKET: Shape = { object: { location: "string", forceDestroy: "boolean", stagingObjectAgeDays: "number" } };

const REQUIRED_STUDY_FIELDS = ["metric", "parameters", "maxTrials"];

function describe(value: unknown): string {
  return Array.isArray(value) ? "a list" : value === null ? "null" : typeof value === "object" ? "an object" : JSON.stringify(value);
}

/** The edit distance of `a` and `b` (insertions, deletions, substitutions, swaps of two neighbours), ignoring case. */
function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The issue for a key not in `known`, at `path`: it names the closest known key when one is near
 * (a third of the shorter name's characters at most differ), else lists them all. The one rule
 * for unknown keys, top-level (`<namespace>:<key>`) and nested alike.
 * @param prefix what precedes a known key in a path (`vertex-tuning:`, `vertex-tuning:study.`)
 */
function unknownKey(path: string, key: string, known: readonly string[], prefix: string): Issue {
  const near = known
    .map((k) => ({ k, distance: editDistance(key, k) }))
    .filter(({ k, distance }) => distance <= Math.max(1, Math.floor(Math.min(k.length, key.length) / 3)))
    .sort((a, b) => a.distance - b.distance)[0];
  return { path, message: near ? `unknown key: did you mean ${prefix}${near.k}?` : `unknown key (known: ${known.join(", ")})` };
}

/**
 * The shape of a parameter's `values` by its type: a CATEGORICAL `true` was told "must be a number
 * or string" beside its neighbour `1`'s "must be a string", so its fix could be another refusal.
 */
function valuesShape(type: unknown): Shape {
  return type === "CATEGORICAL" ? "strings" : type === "DISCRETE" ? "numbers" : "values";
}

/**
 * Checks `value` against `shape`, pushing an issue for each mismatch and each unknown key.
 * @param pending true for a value not known yet (an Output given to the component), never checked
 */
function checkShape(value: unknown, shape: Shape, path: string, issues: Issue[], pending: (v: unknown) => boolean = () => false): void {
  if (pending(value)) return;
  const fail = (expected: string) => issues.push({ path, message: `must be ${expected} (got ${describe(value)})` });
  if (shape === "string") { if (typeof value !== "string") fail("a string"); return; }
  if (shape === "number") { if (typeof value !== "number" || !Number.isFinite(value)) fail("a number"); return; }
  if (shape === "boolean") { if (typeof value !== "boolean") fail("true or false"); return; }
  if (shape === "strings" || shape === "numbers" || shape === "values") {
    const ok = (v: unknown) => (shape === "strings" ? typeof v === "string" : shape === "numbers" ? typeof v === "number" : typeof v === "string" || typeof v === "number");
    if (!Array.isArray(value)) fail(`a list of ${shape === "values" ? "numbers or strings" : shape}`);
    else value.forEach((v, i) => { if (!pending(v) && !ok(v)) issues.push({ path: `${path}[${i}]`, message: `must be a ${shape === "strings" ? "string" : shape === "numbers" ? "number" : "number or string"} (got ${describe(v)})` }); });
    return;
  }
  if (shape === "stringMap") {
    if (value === null || typeof value !== "object" || Array.isArray(value)) fail("a map of strings");
    else for (const [k, v] of Object.entries(value)) if (!pending(v) && typeof v !== "string") issues.push({ path: `${path}.${k}`, message: `must be a string (got ${describe(v)})` });
    return;
  }
  if ("list" in shape) {
    if (!Array.isArray(value)) fail("a list");
    else value.forEach((v, i) => checkShape(v, shape.list, `${path}[${i}]`, issues, pending));
    return;
  }
  const fields = "parameter" in shape ? PARAMETER_FIELDS : shape.object;
  if (value === null || typeof value !== "object" || Array.isArray(value)) { fail("an object"); return; }
  for (const [k, v] of Object.entries(value)) {
    const foreign = "parameter" in shape && v !== undefined ? foreignFieldIssue(`${path}.${k}`, k, (value as Record<string, unknown>).type) : undefined;
    if (!Object.hasOwn(fields, k)) issues.push(unknownKey(`${path}.${k}`, k, Object.keys(fields), `${path}.`));
    else if (foreign) issues.push(foreign);
    // A key with nothing after it in YAML: no value, not a default (`median:` is no rule at all).
    else if (v === null) issues.push({ path: `${path}.${k}`, message: "has no value: give one (`{}` for a rule without settings), or remove the key" });
    else if (v !== undefined) checkShape(v, "parameter" in shape && k === "values" ? valuesShape((value as Record<string, unknown>).type) : fields[k], `${path}.${k}`, issues, pending);
  }
  if ("parameter" in shape) {
    const p = value as Record<string, unknown>;
    for (const k of ["id", "type"]) if (p[k] === undefined) issues.push({ path: `${path}.${k}`, message: `${k} is required` });
    if (p.type !== undefined && !["DOUBLE", "INTEGER", "DISCRETE", "CATEGORICAL"].includes(p.type as string)) {
      issues.push({ path: `${path}.type`, message: `must be one of DOUBLE, INTEGER, DISCRETE, CATEGORICAL (got ${describe(p.type)})` });
    }
    const needs = p.type === "DOUBLE" || p.type === "INTEGER" ? ["min", "max"] : p.type === "DISCRETE" || p.type === "CATEGORICAL" ? ["values"] : [];
    for (const k of needs) if (p[k] === undefined) issues.push({ path: `${path}.${k}`, message: `${k} is required for ${typeWithArticle(p.type)} parameter` });
    if (Array.isArray(p.children)) {
      p.children.forEach((child, j) => {
        const given = child !== null && typeof child === "object" && !Array.isArray(child);
        if (given && (child as Record<string, unknown>).parameter === undefined) issues.push({ path: `${path}.children[${j}].parameter`, message: "parameter is required" });
      });
    }
  }
}

/**
 * The shape problems of a study and a trainer (known keys, value types, required fields), each at
 * `prefix` + its path: the config reader's check, which the component runs on the definitions it
 * is given in code too, so a JavaScript caller's mistake is named rather than met as a TypeError.
 * @param pending true for a value not known yet (an Output), never checked
 */
export function definitionShapeIssues(study: unknown, trainer: unknown, prefix: string, pending: (v: unknown) => boolean = () => false): Issue[] {
  const issues: Issue[] = [];
  if (study === undefined || study === null) issues.push({ path: `${prefix}study`, message: "the study is required: metric, parameters and maxTrials at least" });
  else {
    checkShape(study, STUDY, `${prefix}study`, issues, pending);
    if (typeof study === "object" && !pending(study)) {
      for (const k of REQUIRED_STUDY_FIELDS) {
        if ((study as Record<string, unknown>)[k] === undefined) issues.push({ path: `${prefix}study.${k}`, message: `${k} is required` });
      }
    }
  }
  checkShape(trainer, TRAINER, `${prefix}trainer`, issues, pending);
  return issues;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * With shape problems found, the meaning checks of `buildJob` still run on what can be read, so
 * every problem shows at once: the config reader's and the component's. An issue at a path the
 * shape check already names, inside it or around it (a parameter missing its bounds has no value
 * spec either) is left out: it would say the same thing again. A study too malformed to map gives
 * the shape problems alone.
 * @param ctx the job's context, as the caller's own `buildJob` would have it
 * @param prefix what precedes every path, the shape issues' included (`vertex-tuning:`, or none)
 */
export function meaningIssues(study: unknown, trainer: unknown, ctx: JobContext, shapeIssues: Issue[], prefix = ""): Issue[] {
  if (!isObject(study)) return [];
  let found: Issue[];
  try {
    found = buildJob(study as unknown as StudyDefinition, (isObject(trainer) ? trainer : {}) as TrainerDefinition, ctx).issues;
  } catch {
    return [];
  }
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  const covered = (path: string) => shapeIssues.some((s) => within(path, s.path) || within(s.path, path));
  return found.map((i) => ({ path: `${prefix}${i.path}`, message: i.message })).filter((i) => !covered(i.path));
}

/**
 * A config value as a Pulumi program receives it from the engine, decoded: the engine passes
 * YAML objects, lists, numbers and booleans as JSON text, and strings as they are, so a string
 * that reads as JSON (`"false"`, `"30"`) is taken as what it spells, exactly as the program
 * sees it; anything else stays a string.
 */
export function engineConfigValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The result of reading a stack's config: the study, or every problem found. */
export type StudyConfigResult = { ok: true; config: StudyConfig } | { ok: false; issues: Issue[] };

/**
 * Reads the study configuration through `get`, which returns the value of one key of the
 * project's namespace (for `pulumi.Config`, `key => config.getObject(key)`; for a YAML file,
 * `key => file.config[`${project}:${key}`]`). `namespace` prefixes the paths in issues.
 * @param present every config key that is set, as `<namespace>:<key>` (for a Pulumi program,
 *   `Object.keys(pulumi.runtime.allConfig())`; for a YAML file, the keys of its `config`): a key
 *   of `namespace` outside CONFIG_KEYS (a typo such as `lables`, which `get` would never read) is
 *   an issue; other namespaces' keys are not this reader's. Without it, no key is checked so.
 */
export function readStudyConfig(get: (key: string) => unknown, namespace: string, present: Iterable<string> = []): StudyConfigResult {
  const issues: Issue[] = [];
  const at = (key: string) => `${namespace}:${key}`;
  for (const full of present) {
    if (!full.startsWith(at(""))) continue;
    const key = full.slice(at("").length);
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) issues.push(unknownKey(full, key, CONFIG_KEYS, at("")));
  }
  const backend = get("backend") ?? "vertex";
  if (backend !== "vertex" && backend !== "local") issues.push({ path: at("backend"), message: `must be vertex or local (got ${describe(backend)})` });
  const study = get("study");
  const trainer = get("trainer") ?? { source: "trainer" };
  issues.push(...definitionShapeIssues(study, trainer, at("")));
  const optional: [string, Shape][] = [
    ["labels", "stringMap"], ["kmsKeyName", "string"], ["wait", "boolean"], ["waitTimeoutMinutes", "number"],
    ["bucket", BUCKET], ["enableApis", "boolean"], ["buildServiceAccountEmail", "string"],
  ];
  // The rules the component applies to these settings, named here at their keys: with a problem
  // above (a misspelt key), the program stops before the component, which named them a run later.
  // The bucket's and the build account's apply on Vertex AI only, as the component's do: the local
  // backend has neither, and a value it never reads must not fail a local stack or `tune run`.
  const rules: Record<string, [string, (value: unknown) => string | undefined]> = {
    waitTimeoutMinutes: ["", SETTING_RULES.minutes],
    ...(backend !== "local" && {
      bucket: [".stagingObjectAgeDays", SETTING_RULES.ageDays],
      buildServiceAccountEmail: ["", SETTING_RULES.serviceAccountEmail],
    }),
  };
  for (const [key, shape] of optional) {
    const value = get(key);
    if (value === undefined) continue;
    const before = issues.length;
    checkShape(value, shape, at(key), issues);
    const rule = rules[key];
    // Only a value of the right shape: a wrong type is said once, by the shape.
    if (!rule || issues.length > before) continue;
    const [field, check] = rule;
    const setting = field ? (value as Record<string, unknown>)[field.slice(1)] : value;
    const message = setting === undefined ? undefined : check(setting);
    if (message) issues.push({ path: at(key + field), message });
  }
  if (issues.length) {
    const labels = get("labels");
    const kmsKeyName = get("kmsKeyName");
    const ctx: JobContext = {
      ...(backend === "local" ? {} : VERTEX_INFRA_PLACEHOLDERS),
      backend: backend === "local" ? "local" : "vertex",
      // The stack program's component is named "study", the default display name.
      defaultDisplayName: "study",
      labels: isObject(labels) ? (labels as Record<string, string>) : undefined,
      kmsKeyName: typeof kmsKeyName === "string" ? kmsKeyName : undefined,
    };
    return { ok: false, issues: [...issues, ...meaningIssues(study, trainer, ctx, issues, at(""))] };
  }
  return {
    ok: true,
    config: {
      backend: backend as Backend,
      study: study as StudyDefinition,
      trainer: trainer as TrainerDefinition,
      labels: get("labels") as Record<string, string> | undefined,
      kmsKeyName: get("kmsKeyName") as string | undefined,
      wait: get("wait") as boolean | undefined,
      waitTimeoutMinutes: get("waitTimeoutMinutes") as number | undefined,
      bucket: get("bucket") as StudyConfig["bucket"],
      enableApis: get("enableApis") as boolean | undefined,
      buildServiceAccountEmail: get("buildServiceAccountEmail") as string | undefined,
    },
  };
}
