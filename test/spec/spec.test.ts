import { describe, expect, it } from "vitest";
import { seedVertexJob, stackStudy } from "../fixtures/seedStudy";
import {
  CONFIG_KEYS,
  UNKNOWN,
  bestTrial,
  buildJob,
  canonicalJson,
  readStudyConfig,
  specHash,
  toArgMessage,
  toArgPath,
  toVertexJob,
  validateJob,
  type StudyDefinition,
  type VertexJob,
  type VertexTrial,
} from "../../components/spec";

const minimal: StudyDefinition = {
  metric: { id: "accuracy", goal: "MAXIMIZE" },
  parameters: [{ id: "lr", type: "DOUBLE", min: 0.001, max: 0.1, scale: "LOG" }],
  maxTrials: 10,
};

describe("toVertexJob", () => {
  it("maps the seed study of Pulumi.dev.yaml to the Vertex JSON exactly", () => {
    const config = stackStudy("dev");
    const job = toVertexJob(config.study, config.trainer, {
      builtImageUri: "us-central1-docker.pkg.dev/p/r/trainer:abc",
      serviceAccount: "sa@p.iam.gserviceaccount.com",
      baseOutputDirectory: "gs://bucket/bayesian-hp-tuning/",
      labels: { team: "ml-platform" },
    });
    expect(job).toEqual(
      seedVertexJob({
        imageUri: "us-central1-docker.pkg.dev/p/r/trainer:abc",
        serviceAccount: "sa@p.iam.gserviceaccount.com",
        outputUriPrefix: "gs://bucket/bayesian-hp-tuning/",
      }),
    );
    expect(validateJob(job, "us-central1")).toEqual([]);
  });

  it("encodes int64 fields as strings, durations with 's', and conditional children by the parent's type", () => {
    const job = toVertexJob(
      {
        ...minimal,
        algorithm: "RANDOM",
        parameters: [
          {
            id: "layers", type: "INTEGER", min: 1, max: 4,
            children: [{ parentValues: [3, 4], parameter: { id: "width", type: "DISCRETE", values: [8, 16] } }],
          },
          {
            id: "optimizer", type: "CATEGORICAL", values: ["adam", "sgd"],
            children: [{ parentValues: ["sgd"], parameter: { id: "momentum", type: "DOUBLE", min: 0, max: 0.9 } }],
          },
        ],
        earlyStopping: { convex: { minMeasurementCount: 5 } },
        trial: { timeoutSeconds: 3600, scheduling: "SPOT", replicaCount: 1 },
      },
      { imageUri: "gcr.io/p/img" },
      { defaultDisplayName: "s" },
    );
    const [layers, optimizer] = job.studySpec!.parameters!;
    expect(layers.integerValueSpec).toEqual({ minValue: "1", maxValue: "4" });
    expect(layers.conditionalParameterSpecs![0].parentIntValues).toEqual({ values: ["3", "4"] });
    expect(optimizer.conditionalParameterSpecs![0].parentCategoricalValues).toEqual({ values: ["sgd"] });
    expect(optimizer.scaleType).toBeUndefined();
    expect(job.studySpec!.algorithm).toBe("RANDOM_SEARCH");
    expect(job.studySpec!.convexAutomatedStoppingSpec).toEqual({ minMeasurementCount: "5" });
    expect(job.trialJobSpec!.scheduling).toEqual({ timeout: "3600s", strategy: "SPOT" });
    expect(job.trialJobSpec!.workerPoolSpecs![0].replicaCount).toBe("1");
    expect(validateJob(job)).toEqual([]);
  });

  it("sends the convex rule given without settings (`convex: {}`) as the rule with Vertex's defaults, not as no rule", () => {
    const job = toVertexJob({ ...minimal, earlyStopping: { convex: {} } }, { imageUri: "gcr.io/p/img" }, { defaultDisplayName: "s" });
    expect(job.studySpec!.convexAutomatedStoppingSpec).toEqual({});
    // So it counts as a rule: beside another, it is refused rather than the other kept alone.
    const both = buildJob({ ...minimal, earlyStopping: { convex: {}, median: {} } }, { imageUri: "gcr.io/p/img" }, { defaultDisplayName: "s" });
    expect(both.issues.map((i) => i.path)).toEqual(["study.earlyStopping"]);
  });

  it("runs a source trainer from the repository on the local backend and the built image on Vertex", () => {
    const local = toVertexJob(minimal, { source: "trainer" }, { backend: "local", defaultDisplayName: "s" });
    expect(local.trialJobSpec!.workerPoolSpecs![0].containerSpec).toEqual({
      imageUri: "local/trainer", command: [".venv/bin/python", "-m", "trainer.task"], args: [], env: [],
    });
    const vertex = toVertexJob(minimal, { source: "trainer" }, { builtImageUri: "img:1", defaultDisplayName: "s" });
    expect(vertex.trialJobSpec!.workerPoolSpecs![0].containerSpec).toEqual({ imageUri: "img:1", args: [], env: [] });
  });

  it("maps the seed's python-package trainer form", () => {
    const job = toVertexJob(minimal, {
      pythonPackage: { executorImageUri: "us-docker.pkg.dev/vertex-ai/training/tf-gpu.2-17.py310:latest", packageUris: ["gs://bkt/t.tar.gz"], module: "trainer.task" },
    }, { defaultDisplayName: "s" });
    expect(job.trialJobSpec!.workerPoolSpecs![0].pythonPackageSpec).toEqual({
      executorImageUri: "us-docker.pkg.dev/vertex-ai/training/tf-gpu.2-17.py310:latest",
      packageUris: ["gs://bkt/t.tar.gz"], pythonModule: "trainer.task", args: [], env: [],
    });
    expect(validateJob(job)).toEqual([]);
  });
});

describe("validation", () => {
  it("lists every problem of a bad study at once, each with the argument path the user wrote", () => {
    const { issues } = buildJob(
      {
        metric: { id: "accuracy", goal: "MAXIMIZE" },
        algorithm: "GRID",
        parameters: [
          { id: "lr", type: "DOUBLE", min: 0.1, max: 0.01 },
          { id: "wd", type: "DOUBLE", min: 0, max: 1, scale: "LOG" },
          { id: "lr", type: "CATEGORICAL", values: [] },
        ],
        maxTrials: 2,
        parallelTrials: 5,
        earlyStopping: { median: {}, decayCurve: {} },
        trial: { acceleratorType: "NVIDIA_TESLA_T4" },
      },
      { imageUri: "img" },
      { defaultDisplayName: "s" },
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(Object.keys(byPath).sort()).toEqual([
      "study.earlyStopping",
      "study.parallelTrials",
      "study.parameters[0].min",
      "study.parameters[0].type",
      "study.parameters[1].min",
      "study.parameters[1].type",
      "study.parameters[2].id",
      "study.parameters[2].values",
      "study.trial.acceleratorCount",
    ]);
    expect(byPath["study.parameters[0].min"]).toMatch(/less than max \(/);
    expect(byPath["study.parameters[0].type"]).toMatch(/^GRID cannot search a DOUBLE/);
    expect(byPath["study.parameters[1].min"]).toMatch(/> 0 for LOG \(/);
    expect(byPath["study.parameters[2].id"]).toMatch(/duplicate id "lr"/);
    expect(byPath["study.parameters[2].values"]).toMatch(/at least one value/);
    expect(byPath["study.parallelTrials"]).toMatch(/must not exceed maxTrials \(5 > 2\)/);
    expect(byPath["study.earlyStopping"]).toMatch(/at most one early-stopping spec/);
    expect(byPath["study.trial.acceleratorCount"]).toMatch(/set together/);
  });

  it("says a negative trial timeout must be positive and a primary pool of two replicas must have one, in those words", () => {
    const study = { metric: { id: "accuracy", goal: "MAXIMIZE" as const }, parameters: [{ id: "lr", type: "DOUBLE" as const, min: 0.01, max: 0.1 }], maxTrials: 2 };
    const { issues } = buildJob({ ...study, trial: { timeoutSeconds: -5, replicaCount: 2 } }, { imageUri: "img" }, { defaultDisplayName: "s" });
    expect(Object.fromEntries(issues.map((i) => [i.path, i.message]))).toEqual({
      // It said how to write a duration ("3600s"), the user's -5 shown as Vertex's "-5s".
      "study.trial.timeoutSeconds": "must be positive",
      // It said "must be between 1 and 1".
      "study.trial.replicaCount": "must be 1 (got 2)",
    });
  });

  it("rejects defaultValue and observationNoise, which tuning jobs do not accept", () => {
    const job = toVertexJob(minimal, { imageUri: "img" }, { defaultDisplayName: "s" });
    job.studySpec!.parameters![0].doubleValueSpec!.defaultValue = 0.01;
    job.studySpec!.observationNoise = "HIGH";
    expect(validateJob(job).map((i) => i.path)).toEqual([
      "studySpec.observationNoise",
      "studySpec.parameters[0].doubleValueSpec.defaultValue",
    ]);
  });

  it("refuses DISCRETE values a log scale maps to one point, of which the optimizer could suggest only the first", () => {
    const job = toVertexJob(minimal, { imageUri: "img" }, { defaultDisplayName: "s" });
    job.studySpec!.parameters![0] = { parameterId: "d", discreteValueSpec: { values: [1000000, 1000000.0000000001, 10000000] }, scaleType: "UNIT_LOG_SCALE" };
    expect(validateJob(job)).toEqual([{ path: "studySpec.parameters[0].discreteValueSpec.values[1]", message: "1000000 and 1000000.0000000001 are one point on UNIT_LOG_SCALE: space them further apart" }]);
    job.studySpec!.parameters![0].scaleType = "UNIT_LINEAR_SCALE";
    expect(validateJob(job)).toEqual([]);
  });

  it("refuses Cloud Storage URIs without a bucket's name, which fail only when a trial writes", () => {
    const job = toVertexJob(minimal, { pythonPackage: { executorImageUri: "img", packageUris: ["gs://bkt/"], module: "m" } }, { defaultDisplayName: "s" });
    const prefixes = ["gs:///x/", "gs://My Bucket/", "gs://b/", "s3://bkt/"];
    const paths = (prefix: string) => {
      job.trialJobSpec!.baseOutputDirectory = { outputUriPrefix: prefix };
      return validateJob(job).map((i) => i.path);
    };
    for (const prefix of prefixes) {
      expect(paths(prefix)).toEqual(["trialJobSpec.workerPoolSpecs[0].pythonPackageSpec.packageUris[0]", "trialJobSpec.baseOutputDirectory.outputUriPrefix"]);
    }
    job.trialJobSpec!.workerPoolSpecs![0].pythonPackageSpec!.packageUris = ["gs://my_bucket.example.com/dist/trainer 0.1.tar.gz"];
    for (const prefix of ["gs://bkt", "gs://bkt/", "gs://my-bucket/runs/v 2/"]) expect(paths(prefix)).toEqual([]);
  });

  it("refuses a DOUBLE range wider than a double holds, which the optimizer could not search", () => {
    const job = toVertexJob(minimal, { imageUri: "img" }, { defaultDisplayName: "s" });
    job.studySpec!.parameters![0].doubleValueSpec = { minValue: -1e308, maxValue: 1e308 };
    job.studySpec!.parameters![0].scaleType = "UNIT_LINEAR_SCALE";
    expect(validateJob(job)).toEqual([{ path: "studySpec.parameters[0].doubleValueSpec", message: "the range from minValue to maxValue is wider than a double can hold (-1e+308 to 1e+308)" }]);
    job.studySpec!.parameters![0].doubleValueSpec = { minValue: -1e307, maxValue: 1e307 };
    expect(validateJob(job)).toEqual([]);
  });

  it("checks conditional parents, tuned flags fixed in args, labels and the CMEK key's region", () => {
    const job = toVertexJob(
      {
        ...minimal,
        parameters: [
          { id: "units", type: "DISCRETE", values: [64, 128], children: [{ parentValues: [256], parameter: { id: "x", type: "DOUBLE", min: 0, max: 1 } }] },
        ],
        trial: { args: ["--units=64"] },
      },
      { imageUri: "img" },
      { defaultDisplayName: "s", labels: { Team: "x" }, kmsKeyName: "projects/p/locations/europe-west4/keyRings/r/cryptoKeys/k" },
    );
    const paths = validateJob(job, "us-central1").map((i) => `${i.path}: ${i.message}`);
    expect(paths).toEqual([
      "studySpec.parameters[0].conditionalParameterSpecs[0].parentDiscreteValues.values[0]: 256 is not a value of the parent parameter",
      "trialJobSpec.workerPoolSpecs[0].containerSpec.args[0]: --units is a tuned parameter: Vertex appends it to every trial, so it must not be fixed in args",
      "labels.Team: label keys: 1-63 lowercase letters, digits, '_' or '-', starting with a letter",
      "encryptionSpec.kmsKeyName: the key is in europe-west4 but the job runs in us-central1: Vertex needs a key in the job's region",
    ]);
  });

  it("names the definition's own scales, algorithms and measurement selections, not Vertex's, and refuses Vertex's", () => {
    const study = {
      ...minimal,
      parameters: [
        { id: "lr", type: "DOUBLE", min: 0.001, max: 0.1, scale: "log" },
        { id: "units", type: "INTEGER", min: 1, max: 4, scale: "UNIT_LOG_SCALE", children: [{ parentValues: [2], parameter: { id: "d", type: "DOUBLE", min: 0, max: 1, scale: "linear" } }] },
      ],
      algorithm: "bayesian",
      measurementSelection: "BEST_MEASUREMENT",
    } as unknown as StudyDefinition;
    const { issues } = buildJob(study, { imageUri: "img" }, { defaultDisplayName: "s" });
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'study.parameters[0].scale: must be one of LINEAR, LOG, REVERSE_LOG (got "log")',
      'study.parameters[1].scale: must be one of LINEAR, LOG, REVERSE_LOG (got "UNIT_LOG_SCALE")',
      'study.parameters[1].children[0].parameter.scale: must be one of LINEAR, LOG, REVERSE_LOG (got "linear")',
      'study.algorithm: must be one of BAYESIAN, GRID, RANDOM (got "bayesian")',
      'study.measurementSelection: must be one of LAST, BEST (got "BEST_MEASUREMENT")',
    ]);
  });

  it("keeps the resource's two label keys and room for them under Vertex's 64, but not in a request as sent", () => {
    const many = Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}`, "v"]));
    const job = toVertexJob(minimal, { imageUri: "img" }, { defaultDisplayName: "s", labels: { ...many, "pulumi-spec": "x" } });
    expect(validateJob(job).map((i) => `${i.path}: ${i.message}`)).toEqual([
      "labels: at most 62 labels (Vertex allows 64, and the job gets pulumi-resource and pulumi-spec)",
      "labels.pulumi-spec: pulumi-spec is the tuning-job resource's own label: choose another key",
    ]);
    // The local backend checks requests as sent: the resource's labels are on them, 64 in all.
    expect(validateJob({ ...job, labels: { ...many, "pulumi-resource": "r" } }, undefined, false)).toEqual([]);
    expect(validateJob({ ...job, labels: { ...many, "pulumi-resource": "r", "pulumi-spec": "s" } }, undefined, false).map((i) => i.message)).toEqual(["at most 64 labels"]);
  });

  it("skips values Pulumi does not know yet at preview", () => {
    const job = toVertexJob(minimal, { imageUri: UNKNOWN }, { defaultDisplayName: UNKNOWN, kmsKeyName: UNKNOWN });
    job.maxTrialCount = UNKNOWN as unknown as number;
    job.studySpec!.parameters![0].doubleValueSpec!.minValue = UNKNOWN as unknown as number;
    expect(validateJob(job, "us-central1")).toEqual([]);
  });

  it("translates Vertex paths of nested conditional parameters to argument paths", () => {
    expect(toArgPath("studySpec.parameters[0].conditionalParameterSpecs[1].parameterSpec.integerValueSpec.maxValue"))
      .toBe("study.parameters[0].children[1].parameter.max");
    expect(toArgPath("studySpec.parameters[2].conditionalParameterSpecs[0].parentCategoricalValues.values[1]"))
      .toBe("study.parameters[2].children[0].parentValues[1]");
    expect(toArgPath("trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri")).toBe("trainer.imageUri");
    expect(toArgPath("trialJobSpec.scheduling.timeout")).toBe("study.trial.timeoutSeconds");
    // Where a wrong type is named: at the argument, not in Vertex's terms.
    expect(toArgPath("trialJobSpec.workerPoolSpecs[0].containerSpec.command")).toBe("trainer.command");
    expect(toArgPath("trialJobSpec.enableWebAccess")).toBe("study.trial.enableWebAccess");
    expect(toArgPath("trialJobSpec.scheduling.restartJobOnWorkerRestart")).toBe("study.trial.restartOnWorkerRestart");
    // Messages speak the study's words, whole words only.
    expect(toArgMessage("must be > 0 for UNIT_REVERSE_LOG_SCALE (found medianAutomatedStoppingSpec, maxValueX)")).toBe("must be > 0 for REVERSE_LOG (found median, maxValueX)");
    // The algorithm as `algorithm:` takes it: GRID, not Vertex's GRID_SEARCH.
    expect(toArgMessage("GRID_SEARCH cannot search a DOUBLE parameter")).toBe("GRID cannot search a DOUBLE parameter");
    // env is a map in the study: its Vertex index means nothing there.
    expect(toArgPath("trialJobSpec.workerPoolSpecs[0].containerSpec.env[3].name")).toBe("study.trial.env");
    expect(toArgPath("trialJobSpec.workerPoolSpecs[0].pythonPackageSpec.env")).toBe("study.trial.env");
  });
});

describe("config", () => {
  /** Each issue of a config that must not read, as `path: message`. */
  function configIssues(values: Record<string, unknown>, present: string[] = []): string[] {
    const result = readStudyConfig((k) => values[k], "proj", present);
    expect(result.ok).toBe(false);
    return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
  }

  it("reads both stacks through the one parser", () => {
    expect(stackStudy("dev")).toMatchObject({ backend: "vertex", trainer: { source: "trainer" }, labels: { team: "ml-platform" } });
    const local = stackStudy("local");
    expect(local.backend).toBe("local");
    expect(buildJob(local.study, local.trainer, { backend: "local", defaultDisplayName: "s" }).issues).toEqual([]);
  });

  it("reports typos, wrong types and missing fields with their config paths", () => {
    const values: Record<string, unknown> = {
      backend: "cloud",
      study: { metric: { id: "accuracy", goal: "MAXIMIZE" }, parameters: [{ id: "lr", type: "DOUBLE", min: "0.1" }], maxTrial: 3 },
    };
    expect(configIssues(values).map((i) => i.split(": ")[0])).toEqual([
      "proj:backend",
      "proj:study.parameters[0].min",
      "proj:study.parameters[0].max",
      "proj:study.maxTrial",
      "proj:study.maxTrials",
    ]);
  });

  it("reports a key with no value (YAML's `median:`) and a child without its parameter, where both were taken before", () => {
    const values: Record<string, unknown> = {
      study: {
        metric: { id: "a", goal: "MAXIMIZE" },
        parameters: [{ id: "units", type: "DISCRETE", values: [64, 128], children: [{ parentValues: [64] }] }],
        maxTrials: 3,
        earlyStopping: { median: null },
      },
    };
    expect(configIssues(values)).toEqual([
      "proj:study.parameters[0].children[0].parameter: parameter is required",
      "proj:study.earlyStopping.median: has no value: give one (`{}` for a rule without settings), or remove the key",
    ]);
  });

  it("names one type for every wrong value of a parameter's values: strings for CATEGORICAL, numbers for DISCRETE", () => {
    const values: Record<string, unknown> = {
      study: {
        metric: { id: "a", goal: "MAXIMIZE" },
        parameters: [{ id: "opt", type: "CATEGORICAL", values: [1, "b", true] }, { id: "n", type: "DISCRETE", values: ["x", 2, null] }],
        maxTrials: 3,
      },
    };
    expect(configIssues(values).sort()).toEqual([
      "proj:study.parameters[0].values[0]: must be a string (got 1)",
      "proj:study.parameters[0].values[2]: must be a string (got true)",
      'proj:study.parameters[1].values[0]: must be a number (got "x")',
      "proj:study.parameters[1].values[2]: must be a number (got null)",
    ]);
  });

  it("refuses a parameter field its type does not take, where it was dropped without a word, with the study's other problems", () => {
    const values: Record<string, unknown> = {
      study: {
        metric: { id: "a", goal: "MAXIMIZE" },
        parameters: [
          { id: "opt", type: "CATEGORICAL", values: ["adam", "sgd"], scale: "LOG", children: [{ parentValues: ["sgd"], parameter: { id: "m", type: "DOUBLE", min: 0, max: 0.9, values: [0.5] } }] },
          { id: "units", type: "DISCRETE", values: [64, 128], min: 64, max: 128 },
          { id: "lr", type: "DOUBLE", min: 0.1, max: 0.01 },
          { id: "depth", type: "INTEGER", min: 1, max: 3, values: [1, 2, 3] },
          { id: "act", type: "CATEGORICAL", values: ["relu"], scale: null },
          { id: "layers", type: "INTEGER", min: 1 },
        ],
        maxTrials: 3,
      },
    };
    expect(configIssues(values)).toEqual([
      "proj:study.parameters[0].scale: scale does not apply to a CATEGORICAL parameter (only DOUBLE, INTEGER and DISCRETE take it): remove it, or change the type",
      "proj:study.parameters[0].children[0].parameter.values: values does not apply to a DOUBLE parameter (only DISCRETE and CATEGORICAL take it): remove it, or change the type",
      "proj:study.parameters[1].min: min does not apply to a DISCRETE parameter (only DOUBLE and INTEGER take it): remove it, or change the type",
      "proj:study.parameters[1].max: max does not apply to a DISCRETE parameter (only DOUBLE and INTEGER take it): remove it, or change the type",
      "proj:study.parameters[3].values: values does not apply to an INTEGER parameter (only DISCRETE and CATEGORICAL take it): remove it, or change the type",
      "proj:study.parameters[4].scale: scale does not apply to a CATEGORICAL parameter (only DOUBLE, INTEGER and DISCRETE take it): remove it, or change the type",
      "proj:study.parameters[5].max: max is required for an INTEGER parameter",
      "proj:study.parameters[2].min: must be less than max (0.1 >= 0.01)",
    ]);
    // What each type takes still reads: a DISCRETE scale, children of INTEGER, DISCRETE and CATEGORICAL parents.
    const child = (parentValues: unknown[]) => [{ parentValues, parameter: { id: `c${parentValues[0]}`, type: "DOUBLE", min: 0.1, max: 1, scale: "LOG" } }];
    const fine = {
      metric: { id: "a", goal: "MAXIMIZE" },
      parameters: [
        { id: "units", type: "DISCRETE", values: [64, 128], scale: "LOG", children: child([64]) },
        { id: "depth", type: "INTEGER", min: 1, max: 3, scale: "LINEAR", children: child([2]) },
        { id: "opt", type: "CATEGORICAL", values: ["adam", "sgd"], children: child(["sgd"]) },
      ],
      maxTrials: 3,
    };
    expect(readStudyConfig((k) => ({ study: fine })[k], "proj").ok).toBe(true);
  });

  it("reports a key of the namespace it does not know, with the closest known key, together with the other problems", () => {
    const values: Record<string, unknown> = {
      study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "lr", type: "DOUBLE", min: 0, max: 1, scale: "LOG" }], maxTrials: 3 },
    };
    const present = ["proj:study", "proj:lables", "proj:waitTimeoutMinute", "proj:zzz", "gcp:project", "other:lables"];
    expect(configIssues(values, present)).toEqual([
      "proj:lables: unknown key: did you mean proj:labels?",
      "proj:waitTimeoutMinute: unknown key: did you mean proj:waitTimeoutMinutes?",
      `proj:zzz: unknown key (known: ${CONFIG_KEYS.join(", ")})`,
      "proj:study.parameters[0].min: must be > 0 for LOG (got 0)",
    ]);
    // Only the given namespace's keys count, and a config of known keys alone reads as before.
    const fine = readStudyConfig((k) => ({ ...values, study: { ...(values.study as object), parameters: [{ id: "lr", type: "DOUBLE", min: 0.1, max: 1 }] } })[k], "proj", ["proj:study", "gcp:project"]);
    expect(fine.ok).toBe(true);
  });

  it("applies the staging bucket's and the build account's rules on Vertex AI only, as the component does", () => {
    // The local backend has no bucket and builds nothing: the component takes any value there,
    // so a local stack (and `tune run` on its file) must not be refused for one.
    const study = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "lr", type: "DOUBLE", min: 0.1, max: 1 }], maxTrials: 3 };
    const settings = { study, bucket: { stagingObjectAgeDays: 0 }, buildServiceAccountEmail: "builder" };
    expect(readStudyConfig((k) => ({ ...settings, backend: "local" } as Record<string, unknown>)[k], "proj").ok).toBe(true);
    expect(configIssues({ ...settings, backend: "local", waitTimeoutMinutes: 0 })).toEqual([expect.stringMatching(/^proj:waitTimeoutMinutes: must be a positive number/)]);
    expect(configIssues(settings).map((i) => i.split(": ")[0])).toEqual(["proj:bucket.stagingObjectAgeDays", "proj:buildServiceAccountEmail"]);
  });

  it("reports the meaning problems together with the shape problems, each path once", () => {
    const values: Record<string, unknown> = {
      study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "lr", type: "DOUBLE", min: 0, max: 1, scale: "LOG" }], maxTrials: 3, parallelTrials: "2" },
      labels: { Team: "x" },
    };
    expect(configIssues(values)).toEqual([
      'proj:study.parallelTrials: must be a number (got "2")',
      "proj:study.parameters[0].min: must be > 0 for LOG (got 0)",
      "proj:labels.Team: label keys: 1-63 lowercase letters, digits, '_' or '-', starting with a letter",
    ]);
  });
});

describe("best trial", () => {
  const trial = (id: string, state: string, value: number | undefined, endTime: string): VertexTrial => ({
    id, state, endTime,
    parameters: [{ parameterId: "lr", value: Number(id) / 100 }],
    finalMeasurement: value === undefined ? undefined : { stepCount: "5", metrics: [{ metricId: "loss", value }] },
  });
  const job = (goal: string, trials: VertexTrial[]): VertexJob => ({ studySpec: { metrics: [{ metricId: "loss", goal }] }, trials });

  it("picks the max or min among SUCCEEDED trials with a final measurement, ties to the earliest end", () => {
    const trials = [
      trial("1", "SUCCEEDED", 0.5, "2026-01-01T00:00:05Z"),
      trial("2", "INFEASIBLE", 0.99, "2026-01-01T00:00:01Z"),
      trial("3", "SUCCEEDED", 0.7, "2026-01-01T00:00:09Z"),
      trial("4", "SUCCEEDED", 0.7, "2026-01-01T00:00:03Z"),
      trial("5", "SUCCEEDED", undefined, "2026-01-01T00:00:02Z"),
      trial("6", "ACTIVE", 0.95, "2026-01-01T00:00:02Z"),
    ];
    expect(bestTrial(job("MAXIMIZE", trials))).toMatchObject({ id: "4", metricValue: 0.7, parameters: { lr: 0.04 } });
    expect(bestTrial(job("MINIMIZE", trials))).toMatchObject({ id: "1", metricValue: 0.5 });
    expect(bestTrial(job("MAXIMIZE", [trials[1], trials[4]]))).toBeUndefined();
  });
});

describe("hashes", () => {
  it("gives the same spec hash whatever the key order or labels, and another for another spec", () => {
    const a = toVertexJob(minimal, { imageUri: "img" }, { defaultDisplayName: "s", labels: { a: "1" } });
    const b = JSON.parse(canonicalJson({ ...a, labels: { b: "2" } })) as VertexJob;
    expect(specHash(b)).toBe(specHash(a));
    expect(specHash({ ...a, maxTrialCount: 11 })).not.toBe(specHash(a));
    expect(specHash(a)).toMatch(/^[0-9a-f]{20}$/);
  });

  // The hash is the job's spec label: a job recorded under the old hash is not adopted after an
  // interrupted up but cancelled as another spec's. A canonical job's hash must never change.
  const rich = toVertexJob(
    {
      displayName: "rich",
      metric: { id: "loss", goal: "MINIMIZE" },
      parameters: [
        { id: "layers", type: "INTEGER", min: 1, max: 4, children: [{ parentValues: [2, 3], parameter: { id: "width", type: "DISCRETE", values: [32, 64] } }] },
        { id: "opt", type: "CATEGORICAL", values: ["adam", "sgd"], children: [{ parentValues: ["sgd"], parameter: { id: "momentum", type: "DOUBLE", min: 0, max: 0.9 } }] },
      ],
      algorithm: "RANDOM",
      maxTrials: 8,
      parallelTrials: 2,
      earlyStopping: { convex: { maxStepCount: 100, minStepCount: 10, useElapsedDuration: false } },
      trial: { machineType: "n1-standard-8", acceleratorType: "NVIDIA_TESLA_T4", acceleratorCount: 1, timeoutSeconds: 3600, bootDisk: { type: "pd-ssd", sizeGb: 200 } },
    },
    { imageUri: "img:1" },
    { kmsKeyName: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k", baseOutputDirectory: "gs://b/x/", labels: { team: "ml" } },
  );

  it("keeps the spec hash of a canonical job (as toVertexJob writes it) exactly as it was", () => {
    const seed = seedVertexJob({ imageUri: "us-docker.pkg.dev/p/r/trainer:abc", serviceAccount: "t@p.iam.gserviceaccount.com", outputUriPrefix: "gs://b/s/" });
    expect(specHash(seed)).toBe("6d61f13cbc831c7f6fe7");
    expect(specHash(rich)).toBe("2f77c83aeeb5446f9aca");
  });

  it("gives a job spelled another way Vertex reads alike (proto names, numbers in strings, int64 as numbers, enums by number, nulls) the canonical job's hash", () => {
    const spelled = structuredClone(rich) as Record<string, unknown> & VertexJob;
    delete spelled.maxTrialCount;
    spelled.max_trial_count = "8";
    spelled.parallelTrialCount = "2" as never;
    spelled.studySpec!.algorithm = 3 as never;
    spelled.studySpec!.parameters![0].integerValueSpec = { minValue: 1, maxValue: "04" } as never;
    spelled.studySpec!.parameters![1].conditionalParameterSpecs![0].parameterSpec!.doubleValueSpec!.maxValue = "0.9" as never;
    spelled.trialJobSpec!.workerPoolSpecs![0].replicaCount = 1 as never;
    spelled.trialJobSpec!.network = null;
    expect(specHash(spelled)).toBe(specHash(rich));
    expect(specHash({ ...rich, maxTrialCount: 9 })).not.toBe(specHash(rich));
  });
});
