/**
 * The JSON shape of a create request: the table against googleapis' aiplatform v1 declarations,
 * and what `readJob` finds and keeps: unknown names, values of the wrong JSON type, proto3's
 * other forms of a value, nesting too deep.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UNKNOWN, validateJob, type VertexJob } from "../../components/spec";
import { ENUM_VALUES, MESSAGE_FIELDS, OUTPUT_ONLY_FIELDS, readJobShape } from "../../components/spec/jobShape";
import { REPO_ROOT, testJob } from "../local/helpers";

const PREFIX = "Schema$GoogleCloudAiplatformV1";

/** Each `Schema$GoogleCloudAiplatformV1*` interface of v1.d.ts: its fields, their types, whether output-only. */
function declarations(): Map<string, Map<string, { type: string; outputOnly: boolean }>> {
  const text = readFileSync(join(REPO_ROOT, "node_modules/googleapis/build/src/apis/aiplatform/v1.d.ts"), "utf8");
  const result = new Map<string, Map<string, { type: string; outputOnly: boolean }>>();
  for (const m of text.matchAll(/export interface Schema\$GoogleCloudAiplatformV1(\w+) \{\n([\s\S]*?)^ {4}\}/gm)) {
    const fields = new Map<string, { type: string; outputOnly: boolean }>();
    let comment = "";
    let open: { name: string; type: string; outputOnly: boolean } | undefined;
    for (const line of m[2].split("\n")) {
      if (open) {
        // A map's type spans lines, up to `} | null;`.
        open.type += `\n${line}`;
        if (/^ {8}\S.*;$/.test(line)) {
          fields.set(open.name, open);
          open = undefined;
        }
        continue;
      }
      const field = /^ {8}(\w+)\?: (.*)$/.exec(line);
      if (!field) {
        comment = line.trim().startsWith("/**") ? line : `${comment}\n${line}`;
        continue;
      }
      const entry = { name: field[1], type: field[2], outputOnly: /Output only\./.test(comment) };
      comment = "";
      if (entry.type.endsWith(";")) fields.set(entry.name, entry);
      else open = entry;
    }
    result.set(m[1], fields);
  }
  return result;
}


/** A declared field as the table would write it: a message's name, `map`, `output`, or its JSON type; `[]` for a list. */
function declared(type: string, outputOnly: boolean): string {
  if (outputOnly) return "output";
  if (type.trimStart().startsWith("{")) return "map";
  const list = type.includes("[]") ? "[]" : "";
  const ref = new RegExp(`\\${PREFIX.replace("$", "\\$")}(\\w+)`).exec(type);
  return (ref ? ref[1] : /^\s*(\w+)/.exec(type)![1]) + list;
}

/** The JSON type of each scalar type of the table. */
const JSON_TYPES: Record<string, string> = {
  string: "string", int64: "string", enum: "string", duration: "string", timestamp: "string", int32: "number", double: "number", bool: "boolean",
};

describe("the table of a job's fields", () => {
  it("has every message reachable from HyperparameterTuningJob in googleapis' v1.d.ts, with all their fields, lists and JSON types", () => {
    const decl = declarations();
    const expected = new Map<string, Map<string, string>>();
    const todo = ["HyperparameterTuningJob"];
    while (todo.length) {
      const message = todo.shift()!;
      if (expected.has(message)) continue;
      const fields = decl.get(message);
      expect(fields, message).toBeDefined();
      const kinds = new Map<string, string>();
      for (const [name, { type, outputOnly }] of fields!) {
        // Output-only fields are ignored by create, contents and all: the table stops there.
        const kind = declared(type, outputOnly);
        kinds.set(name, kind);
        const ref = kind.replace("[]", "");
        if (decl.has(ref) && kind !== "output") todo.push(ref);
      }
      expected.set(message, kinds);
    }
    const table = new Map(
      Object.entries(MESSAGE_FIELDS).map(([message, fields]) => [
        message,
        new Map(Object.entries(fields).map(([name, f]) => [name, (JSON_TYPES[f.type] ?? f.type) + (f.repeated ? "[]" : "")] as const).sort()),
      ]),
    );
    const fromDeclarations = new Map([...expected].map(([message, fields]) => [message, new Map([...fields].sort())]));
    expect(table).toEqual(fromDeclarations);
    expect(expected.size).toBeGreaterThan(25);
    // The declarations say number or string only: the numeric types from the protos, listed again.
    const ofType = (type: string) => Object.entries(MESSAGE_FIELDS).flatMap(([m, fields]) => Object.entries(fields).filter(([, f]) => f.type === type).map(([name]) => `${m}.${name}`)).sort();
    expect(ofType("int32")).toEqual([
      "DiskSpec.bootDiskSizeGb", "HyperparameterTuningJob.maxFailedTrialCount", "HyperparameterTuningJob.maxTrialCount", "HyperparameterTuningJob.parallelTrialCount", "MachineSpec.acceleratorCount",
      "StudySpecStudyStoppingConfig.maxNumTrials", "StudySpecStudyStoppingConfig.maxNumTrialsNoProgress", "StudySpecStudyStoppingConfig.minNumTrials",
    ]);
    expect(ofType("int64")).toEqual([
      "StudySpecConvexAutomatedStoppingSpec.maxStepCount", "StudySpecConvexAutomatedStoppingSpec.minMeasurementCount", "StudySpecConvexAutomatedStoppingSpec.minStepCount",
      "StudySpecParameterSpecConditionalParameterSpecIntValueCondition.values", "StudySpecParameterSpecIntegerValueSpec.defaultValue", "StudySpecParameterSpecIntegerValueSpec.maxValue",
      "StudySpecParameterSpecIntegerValueSpec.minValue", "WorkerPoolSpec.replicaCount",
    ]);
    expect(ofType("double")).toEqual([
      "StudySpecMetricSpecSafetyMetricConfig.desiredMinSafeTrialsFraction", "StudySpecMetricSpecSafetyMetricConfig.safetyThreshold",
      "StudySpecParameterSpecConditionalParameterSpecDiscreteValueCondition.values", "StudySpecParameterSpecDiscreteValueSpec.defaultValue", "StudySpecParameterSpecDiscreteValueSpec.values",
      "StudySpecParameterSpecDoubleValueSpec.defaultValue", "StudySpecParameterSpecDoubleValueSpec.maxValue", "StudySpecParameterSpecDoubleValueSpec.minValue",
    ]);
  });

  it("has the values by number of every enum field, and of no other", () => {
    const enums = Object.entries(MESSAGE_FIELDS).flatMap(([m, fields]) => Object.entries(fields).filter(([, f]) => f.type === "enum").map(([name]) => `${m}.${name}`));
    expect(Object.keys(ENUM_VALUES).sort()).toEqual(enums.sort());
    // Value 0 of every enum is its unspecified one.
    for (const [field, names] of Object.entries(ENUM_VALUES)) expect(names[0], field).toMatch(/UNSPECIFIED$/);
  });

  it("derives the output-only fields of a job from the table", () => {
    expect([...OUTPUT_ONLY_FIELDS].sort()).toEqual(
      ["createTime", "endTime", "error", "name", "satisfiesPzi", "satisfiesPzs", "startTime", "state", "trials", "updateTime"],
    );
  });
});

describe("readJobShape: names", () => {
  it("finds nothing in a valid request, its labels' own keys, or output-only fields", () => {
    expect(readJobShape(testJob(["--steps=1"])).issues).toEqual([]);
    expect(
      readJobShape({
        ...testJob([]),
        labels: { anything: "goes", "tune-id": "x" },
        // A job read back from the local server: its trials carry an extension field.
        trials: [{ id: "1", earlyStopped: true, whatever: 1 }],
        error: { code: 1, message: "m", details: [{ "@type": "t", anything: 1 }] },
      }).issues,
    ).toEqual([]);
  });

  it("names every unknown field by its JSON path, at every depth, all at once", () => {
    const job = testJob([], {}, {
      medianAutomatedStopingSpec: {},
      parameters: [
        { parameterId: "x", doubleValueSpec: { minValue: 0.1, maxVal: 0.9 } },
        {
          parameterId: "opt",
          categoricalValueSpec: { values: ["a", "b"] },
          conditionalParameterSpecs: [{ parentCategoricalValues: { values: ["a"] }, parameterSpec: { parameterId: "lr", doubleValueSpec: { minValue: 1, maxValue: 2 }, scale: "x" } }],
        },
      ],
    } as never);
    const pool = job.trialJobSpec!.workerPoolSpecs![0];
    Object.assign(pool.containerSpec!, { env: [{ name: "A", value: "1" }, { nmae: "B" }] });
    Object.assign(pool.machineSpec!, { reservationAffinity: { reservationAffinityType: "ANY_RESERVATION", keys: "k" } });
    const request = { ...job, maxFailedTrialCnt: 3, trialJobSpec: { ...job.trialJobSpec, scheduling: { timeout: "1s", restartOnFailure: true } } };
    const { issues } = readJobShape(request);
    expect(issues.map((i) => i.path)).toEqual([
      "studySpec.parameters[0].doubleValueSpec.maxVal",
      "studySpec.parameters[1].conditionalParameterSpecs[0].parameterSpec.scale",
      "studySpec.medianAutomatedStopingSpec",
      "trialJobSpec.workerPoolSpecs[0].machineSpec.reservationAffinity.keys",
      "trialJobSpec.workerPoolSpecs[0].containerSpec.env[1].nmae",
      "trialJobSpec.scheduling.restartOnFailure",
      "maxFailedTrialCnt",
    ]);
    expect(issues.at(-1)!.message).toContain('unknown field "maxFailedTrialCnt"');
    expect(issues.at(-1)!.message).toContain("maxFailedTrialCount");
  });

  it("takes no inherited property for a field: constructor and __proto__ are unknown names", () => {
    const { job, issues } = readJobShape(JSON.parse('{"constructor": 1, "__proto__": {"displayName": "x"}, "toString": "y"}'));
    expect(issues.map((i) => i.path)).toEqual(["constructor", "__proto__", "toString"]);
    expect(job).toEqual({});
  });

  it("takes a field by its proto name, as Vertex does, keeps it under its JSON name, and refuses both spellings together", () => {
    const { job, issues } = readJobShape({ ...testJob([]), max_failed_trial_count: 3, studySpec: { ...testJob([]).studySpec, measurement_selection_type: "BEST_MEASUREMENT" } });
    expect(issues).toEqual([]);
    expect(job).toMatchObject({ maxFailedTrialCount: 3, studySpec: { measurementSelectionType: "BEST_MEASUREMENT" } });
    expect(job).not.toHaveProperty("max_failed_trial_count");
    expect(readJobShape({ ...testJob([]), max_trial_count: 3 }).issues).toEqual([{ path: "max_trial_count", message: 'given twice, as "maxTrialCount" and "max_trial_count": keep one' }]);
    // Only the proto name itself: Google's parser takes no other spelling.
    expect(readJobShape({ ...testJob([]), maxFailedTrial_count: 3 }).issues.map((i) => i.path)).toEqual(["maxFailedTrial_count"]);
    // An absent spelling is no second one.
    expect(readJobShape({ ...testJob([]), max_trial_count: undefined, parallel_trial_count: null }).issues).toEqual([]);
  });
});

describe("readJobShape: values", () => {
  it("names every value of the wrong JSON type by its path, all at once, where the rules would have crashed", () => {
    const job = testJob([], { displayName: 5 as never, labels: { team: 5 } as never }, { metrics: 5 as never });
    const pool = job.trialJobSpec!.workerPoolSpecs![0]!;
    Object.assign(pool.containerSpec!, { command: "python3", env: [null] });
    job.trialJobSpec!.baseOutputDirectory = { outputUriPrefix: 5 } as never;
    job.studySpec!.parameters!.push({ parameterId: "n", integerValueSpec: { minValue: 1.5, maxValue: "ten" } } as never, null as never);
    job.studySpec!.medianAutomatedStoppingSpec = "yes" as never;
    expect(readJobShape(job).issues).toEqual([
      { path: "displayName", message: "must be a string (got 5)" },
      { path: "studySpec.metrics", message: "must be a list (got 5)" },
      { path: "studySpec.parameters[1].integerValueSpec.minValue", message: "must be an integer (got 1.5)" },
      { path: "studySpec.parameters[1].integerValueSpec.maxValue", message: 'must be an integer (got "ten")' },
      { path: "studySpec.parameters[2]", message: "must be a StudySpecParameterSpec object (got null)" },
      { path: "studySpec.medianAutomatedStoppingSpec", message: 'must be a StudySpecMedianAutomatedStoppingSpec object (got "yes")' },
      { path: "trialJobSpec.workerPoolSpecs[0].containerSpec.command", message: 'must be a list (got "python3")' },
      { path: "trialJobSpec.workerPoolSpecs[0].containerSpec.env[0]", message: "must be a EnvVar object (got null)" },
      { path: "trialJobSpec.baseOutputDirectory.outputUriPrefix", message: "must be a string (got 5)" },
      { path: "labels.team", message: "must be a string (got 5)" },
    ]);
    // validateJob reports them, and what its rules find elsewhere, all at once; nothing about a
    // refused value (that displayName is missing, say) or at its parent (a value spec missing).
    expect(validateJob(job).map((i) => i.path)).toEqual(readJobShape(job).issues.map((i) => i.path));
    expect(validateJob({ ...job, maxFailedTrialCount: -1 }).map((i) => i.path)).toEqual([...readJobShape(job).issues.map((i) => i.path), "maxFailedTrialCount"]);
    const refusedSpec = testJob([], {}, { parameters: [{ parameterId: "x", doubleValueSpec: "wide" as never }] });
    expect(validateJob(refusedSpec)).toEqual([{ path: "studySpec.parameters[0].doubleValueSpec", message: 'must be a StudySpecParameterSpecDoubleValueSpec object (got "wide")' }]);
    expect(readJobShape([]).issues).toEqual([{ path: "(request)", message: "must be a HyperparameterTuningJob object (got a list)" }]);
  });

  it("takes proto3 JSON's other forms of a value and keeps each field in one form: null as absent, numbers from strings, 64-bit integers as strings", () => {
    const job = testJob([], { maxTrialCount: "4" as never, parallelTrialCount: 2, maxFailedTrialCount: null as never, labels: null as never }, {
      algorithm: null as never,
      parameters: [
        { parameterId: "x", doubleValueSpec: { minValue: "0.1" as never, maxValue: 0.9 }, scaleType: null as never },
        { parameterId: "n", integerValueSpec: { minValue: 1 as never, maxValue: "8" } },
      ],
    });
    const { job: read, issues } = readJobShape(job);
    expect(issues).toEqual([]);
    expect(read).toMatchObject({ maxTrialCount: 4, parallelTrialCount: 2 });
    expect(read).not.toHaveProperty("maxFailedTrialCount");
    expect(read).not.toHaveProperty("labels");
    expect(read.studySpec).not.toHaveProperty("algorithm");
    expect(read.studySpec!.parameters).toEqual([
      { parameterId: "x", doubleValueSpec: { minValue: 0.1, maxValue: 0.9 } },
      { parameterId: "n", integerValueSpec: { minValue: "1", maxValue: "8" } },
    ]);
    expect(readJobShape({ ...job, trialJobSpec: { workerPoolSpecs: [{ ...job.trialJobSpec!.workerPoolSpecs![0], replicaCount: 1 as never }] } }).job.trialJobSpec!.workerPoolSpecs![0]!.replicaCount).toBe("1");
    expect(validateJob(job)).toEqual([]);
    // The rules see the numbers: a count given as a string is compared like any other.
    expect(validateJob(testJob([], { maxTrialCount: "2" as never, parallelTrialCount: "5" as never }))).toEqual([
      { path: "parallelTrialCount", message: "must not exceed maxTrialCount (5 > 2)" },
    ]);
  });

  it("reads numbers from decimal strings only, integers in exponent form too, and undefined as absent", () => {
    const read = (maxTrialCount: unknown) => readJobShape({ ...testJob([]), maxTrialCount });
    expect(read("1e2")).toMatchObject({ job: { maxTrialCount: 100 }, issues: [] });
    for (const bad of ["0x10", " 1 ", "1_0", "", "1.5", 1.5, "1e-400", "1.0000000000000001"]) {
      expect(read(bad).issues, JSON.stringify(bad)).toEqual([{ path: "maxTrialCount", message: `must be an integer (got ${JSON.stringify(bad)})` }]);
    }
    expect(read(2 ** 31).issues).toEqual([{ path: "maxTrialCount", message: "must be a 32-bit integer (got 2147483648)" }]);
    // A failing string of 100,000 digits is refused at once (a backtracking pattern took minutes).
    expect(read(`${"1".repeat(100_000)}x`).issues).toHaveLength(1);
    expect(read(undefined)).toMatchObject({ issues: [] });
    const replicas = (replicaCount: unknown) => readJobShape(testJob([], { trialJobSpec: { workerPoolSpecs: [{ ...testJob([]).trialJobSpec!.workerPoolSpecs![0], replicaCount: replicaCount as string }] } })).job.trialJobSpec!.workerPoolSpecs![0]!.replicaCount;
    expect([replicas("007"), replicas("-0"), replicas("9007199254740993")]).toEqual(["7", "0", "9007199254740993"]);
    expect(read(undefined).job).not.toHaveProperty("maxTrialCount");
    const bounds = (minValue: unknown) => readJobShape(testJob([], {}, { parameters: [{ parameterId: "x", doubleValueSpec: { minValue: minValue as number, maxValue: 1 } }] })).issues;
    expect(bounds("-.5e-1")).toEqual([]);
    expect(bounds("NaN")).toEqual([{ path: "studySpec.parameters[0].doubleValueSpec.minValue", message: 'must be a finite number (got "NaN")' }]);
  });

  it("refuses nesting deeper than protobuf's recursion limit with an issue, not a stack overflow", () => {
    let spec: Record<string, unknown> = { parameterId: "leaf", doubleValueSpec: { minValue: 0, maxValue: 1 } };
    for (let i = 0; i < 5000; i++) {
      spec = { parameterId: `p${i}`, categoricalValueSpec: { values: ["a"] }, conditionalParameterSpecs: [{ parentCategoricalValues: { values: ["a"] }, parameterSpec: spec }] };
    }
    const issues = validateJob(testJob([], {}, { parameters: [spec as never] }));
    expect(issues.length).toBeGreaterThan(0);
    expect(new Set(issues.map((i) => i.message))).toEqual(new Set(["messages nest more than 100 deep here"]));
  });

  it("keeps preview's unknown values wherever they stand, and neither it nor the rules report them", () => {
    const job = testJob([], { maxTrialCount: UNKNOWN as never, labels: UNKNOWN as never }, { metrics: UNKNOWN as never });
    job.trialJobSpec!.workerPoolSpecs![0]!.containerSpec = UNKNOWN as never;
    const { job: read, issues } = readJobShape(job);
    expect(issues).toEqual([]);
    expect(read).toMatchObject({ maxTrialCount: UNKNOWN, labels: UNKNOWN, studySpec: { metrics: UNKNOWN } });
    // A list or a message of any depth may be an Output at preview: every rule skips it.
    const parent = { parameterId: "opt", categoricalValueSpec: { values: ["sgd"] }, conditionalParameterSpecs: [{ parentCategoricalValues: { values: ["sgd"] }, parameterSpec: { parameterId: "lr", doubleValueSpec: { minValue: 0.1, maxValue: 1 } } }] };
    const variants: [string, (j: VertexJob) => void][] = [
      ["studySpec.metrics", (j) => (j.studySpec!.metrics = UNKNOWN as never)],
      ["studySpec.metrics[0]", (j) => (j.studySpec!.metrics = [UNKNOWN as never])],
      ["studySpec.parameters", (j) => (j.studySpec!.parameters = UNKNOWN as never)],
      ["studySpec.parameters[0]", (j) => (j.studySpec!.parameters = [UNKNOWN as never])],
      ["a value spec", (j) => (j.studySpec!.parameters = [{ parameterId: "x", doubleValueSpec: UNKNOWN as never }])],
      ["conditionalParameterSpecs", (j) => (j.studySpec!.parameters = [{ ...parent, conditionalParameterSpecs: UNKNOWN as never }])],
      ["a parent's values", (j) => (j.studySpec!.parameters = [{ ...parent, categoricalValueSpec: { values: UNKNOWN as never } }])],
      ["a parent's value", (j) => (j.studySpec!.parameters = [{ ...parent, categoricalValueSpec: { values: [UNKNOWN] } }])],
      ["trialJobSpec.workerPoolSpecs", (j) => (j.trialJobSpec!.workerPoolSpecs = UNKNOWN as never)],
      ["workerPoolSpecs[0]", (j) => (j.trialJobSpec!.workerPoolSpecs = [UNKNOWN as never])],
      ["machineSpec", (j) => (j.trialJobSpec!.workerPoolSpecs![0]!.machineSpec = UNKNOWN as never)],
      ["args", (j) => (j.trialJobSpec!.workerPoolSpecs![0]!.containerSpec!.args = UNKNOWN as never)],
      ["env", (j) => (j.trialJobSpec!.workerPoolSpecs![0]!.containerSpec!.env = UNKNOWN as never)],
      ["env[0]", (j) => (j.trialJobSpec!.workerPoolSpecs![0]!.containerSpec!.env = [UNKNOWN as never])],
    ];
    for (const [where, set] of variants) {
      const variant = testJob(["--steps=1"]);
      set(variant);
      expect(validateJob(variant), where).toEqual([]);
    }
  });
});
